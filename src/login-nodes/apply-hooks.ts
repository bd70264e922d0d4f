/**
 * What an apply does for login nodes and Lambdas, as steps of the apply engine
 * (`ApplyHook`): stage each login node's session-limit files and the pool's host key,
 * make them final with the controller's files (then the balancers follow), or put them
 * back when the apply rolls back; and publish the cluster policy to SSM when it changed.
 */
import type { SSMClient } from '@aws-sdk/client-ssm'
import type { ApplyHook } from '../apply/engine.js'
import type { ClusterSpec } from '../spec/schema.js'
import { publishPolicy } from '../adapters/aws/ssm-policy.js'
import { buildPolicy } from '../sessions/policy.js'
import type { LoginNodeDeps } from './drain.js'
import { poolHostKeys } from './host-keys.js'
import { commitLoginNode, rollbackLoginNode, stageLoginNode, type StagedLoginNode } from './install.js'
import { desiredPools, type DesiredPool } from './model.js'
import { formatPoolPlan, planPool } from './plan.js'
import { DEBIAN_PATHS, sessionLimitFiles, type LoginNodePaths } from './session-limits.js'

export interface LoginNodesHookOptions {
  /** Reaches a spec's balancers and nodes (see access.ts). */
  access(spec: ClusterSpec): LoginNodeDeps & { close(): Promise<void> }
  /** Where the pools' host keys are kept (the service's state directory). */
  hostKeyDir: string
  /** A node's file layout (default Debian's). */
  pathsFor?(pool: DesiredPool, node: string): LoginNodePaths
  /** How sshd re-reads its configuration on a node (default `systemctl reload ssh`). */
  reloadSshd?(pool: DesiredPool, node: string): readonly string[]
}

/** What one apply staged on login nodes, until it commits or rolls back. */
interface LoginStage {
  access: LoginNodeDeps & { close(): Promise<void> }
  nodes: StagedLoginNode[]
  pools: DesiredPool[]
}

/**
 * The login-node part of every apply. `run` stages each node's files (the session limits
 * and the pool's host key, checked with `sshd -t`; sshd is not reloaded) on every node of
 * every pool before anything is final, checking the apply lock before each node; `commit`
 * then makes each node's files final, reloads its sshd and brings each pool's balancer in
 * line (new nodes have their files before they get traffic); `rollback` puts every staged
 * node back when the apply fails before its commit.
 */
export function loginNodesHook(options: LoginNodesHookOptions): ApplyHook {
  const stages = new Map<string, LoginStage>()
  async function finish(applyId: string): Promise<LoginStage | undefined> {
    const stage = stages.get(applyId)
    stages.delete(applyId)
    await stage?.access.close()
    return stage
  }
  return {
    name: 'login nodes',
    detail: 'stage session limits and host keys on each login node (sshd -t); at commit: reload sshd, then the pools\' balancers',
    async run({ cluster, spec, applyId, checkLock }) {
      const pools = desiredPools(spec)
      if (pools.length === 0) return 'no login pools'
      const stage: LoginStage = { access: options.access(spec), nodes: [], pools }
      stages.set(applyId, stage)
      const lines: string[] = []
      for (const pool of pools) {
        const key = await poolHostKeys(options.hostKeyDir, cluster, pool.name)
        for (const m of pool.members) {
          await checkLock()
          const paths = options.pathsFor?.(pool, m.node) ?? DEBIAN_PATHS
          const staged = await stageLoginNode({
            node: m.node, executor: stage.access.nodeExecutor(pool, m.node), paths,
            reloadSshd: options.reloadSshd?.(pool, m.node) ?? ['systemctl', 'reload', 'ssh'],
          }, sessionLimitFiles(spec, paths), key, applyId)
          stage.nodes.push(staged)
          lines.push(`${m.node}: ${staged.changed.length === 0 ? 'up to date' : `staged ${staged.changed.join(', ')}`}`)
        }
      }
      return lines.join('; ')
    },
    async commit({ applyId }) {
      const stage = stages.get(applyId)
      if (!stage) return 'no login pools'
      const lines: string[] = []
      try {
        for (const staged of stage.nodes) {
          await commitLoginNode(staged)
          lines.push(`${staged.node}: ${staged.changed.length === 0 ? 'up to date' : `installed ${staged.changed.join(', ')}`}`)
        }
        for (const pool of stage.pools) {
          const balancer = stage.access.balancerFor(pool)
          const plan = planPool(pool, await balancer.members(pool), await balancer.settings(pool))
          if (plan.operations.length > 0) await balancer.apply(pool, plan)
          lines.push(...formatPoolPlan(plan))
        }
      } finally {
        await finish(applyId)
      }
      return lines.join('; ')
    },
    async rollback({ applyId }) {
      const stage = stages.get(applyId)
      if (!stage) return 'nothing staged'
      // The connections are let go after the files are put back, not before.
      try {
        for (const staged of [...stage.nodes].reverse()) await rollbackLoginNode(staged)
      } finally {
        await finish(applyId)
      }
      return stage.nodes.length === 0 ? 'nothing staged' : `put back the previous files on ${stage.nodes.map((n) => n.node).join(', ')}`
    },
    async release({ applyId }) {
      await finish(applyId)
    },
  }
}

/**
 * Publishes `/hpc-steward/<cluster>/policy` when it changed, at the apply's commit: the
 * Lambdas must never act on the policy of an apply that was rolled back.
 */
export function policyHook(client?: SSMClient): ApplyHook {
  return {
    name: 'policy parameter',
    detail: 'build the cluster policy; at commit, publish /hpc-steward/<cluster>/policy to SSM Parameter Store when it changed',
    async run({ spec }) {
      const policy = buildPolicy(spec)
      return `policy of ${policy.cluster} built; published at the commit`
    },
    async commit({ spec }) {
      const result = await publishPolicy(buildPolicy(spec), client)
      return result.changed ? `${result.name} published (version ${result.version ?? '?'})` : `${result.name} unchanged`
    },
  }
}

/**
 * What an apply does for login nodes and Lambdas, as steps of the apply engine
 * (`ApplyHook`): install each login node's session-limit files and the pool's host key
 * (checked with `sshd -t`, rolled back on failure), then bring each pool's balancer in line
 * (new nodes get their files before they get traffic); and publish the cluster policy to
 * SSM when it changed. A failing step fails the apply, which then rolls Slurm back too.
 */
import type { SSMClient } from '@aws-sdk/client-ssm'
import type { ApplyHook } from '../apply/engine.js'
import type { ClusterSpec } from '../spec/schema.js'
import { publishPolicy } from '../adapters/aws/ssm-policy.js'
import { buildPolicy } from '../sessions/policy.js'
import type { LoginNodeDeps } from './drain.js'
import { poolHostKeys } from './host-keys.js'
import { installLoginNode } from './install.js'
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

export function loginNodesHook(options: LoginNodesHookOptions): ApplyHook {
  return {
    name: 'login nodes',
    detail: 'session limits and host keys on each login node (sshd -t), then the pools\' balancers',
    async run({ cluster, spec, applyId }) {
      const pools = desiredPools(spec)
      if (pools.length === 0) return 'no login pools'
      const access = options.access(spec)
      const lines: string[] = []
      try {
        for (const pool of pools) {
          const key = await poolHostKeys(options.hostKeyDir, cluster, pool.name)
          for (const m of pool.members) {
            const paths = options.pathsFor?.(pool, m.node) ?? DEBIAN_PATHS
            const result = await installLoginNode({
              node: m.node, executor: access.nodeExecutor(pool, m.node), paths,
              reloadSshd: options.reloadSshd?.(pool, m.node) ?? ['systemctl', 'reload', 'ssh'],
            }, sessionLimitFiles(spec, paths), key, applyId)
            lines.push(`${m.node}: ${result.changed.length === 0 ? 'up to date' : `installed ${result.changed.join(', ')}`}`)
          }
          const balancer = access.balancerFor(pool)
          const plan = planPool(pool, await balancer.members(pool), await balancer.settings(pool))
          if (plan.operations.length > 0) await balancer.apply(pool, plan)
          lines.push(...formatPoolPlan(plan))
        }
      } finally {
        await access.close()
      }
      return lines.join('; ')
    },
  }
}

/** Publishes `/hpc-steward/<cluster>/policy` when it changed. */
export function policyHook(client?: SSMClient): ApplyHook {
  return {
    name: 'policy parameter',
    detail: 'publish /hpc-steward/<cluster>/policy to SSM Parameter Store when it changed',
    async run({ spec }) {
      const result = await publishPolicy(buildPolicy(spec), client)
      return result.changed ? `${result.name} published (version ${result.version ?? '?'})` : `${result.name} unchanged`
    },
  }
}

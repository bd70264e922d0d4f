/**
 * How the service reaches the nodes users log in to and run jobs on, for the node-users
 * step: the controller through its profile's executor, and each login node and compute
 * node over SSH as the login-node admin user with its key (STEWARD_LOGIN_IDENTITY), each
 * pinned to its host key (STEWARD_LOGIN_HOST_KEYS, and a login pool's shared key). A node
 * without a pinned key is never connected to (no trust on first use): it is reported as
 * unreachable.
 */
import type { Executor, ExecResult } from '../adapters/executor.js'
import { ExecError } from '../adapters/executor.js'
import { createSshExecutor, type SshExecutor } from '../adapters/ssh-executor.js'
import type { ClusterSpec } from '../spec/schema.js'
import { desiredPools } from '../login-nodes/model.js'
import { expandHostlist } from '../slurm/hostlist.js'
import type { UserNode } from './node-users.js'

export interface NodeAccessOptions {
  controller?: { node: string; executor: Executor }
  user: string
  identity: string
  /** The fingerprints a node may present (per node; login nodes also their pool's key). */
  hostKeys(node: string, pool?: string): readonly string[]
  /** Reach compute nodes too (default true); off for a sandbox whose nodes are not hosts. */
  computeNodes?: boolean
}

/** An executor that fails every command with the reason the node cannot be reached. */
function unreachable(node: string, reason: string): Executor {
  const fail = (): Promise<never> => Promise.reject(new ExecError(`${node}: ${reason}`))
  return { target: node, run: fail as () => Promise<ExecResult>, readFile: fail, writeFileAtomic: fail }
}

/** Every node of `spec` users reach, once each, and `close` for the SSH sessions. */
export function nodeAccess(spec: ClusterSpec, options: NodeAccessOptions): { nodes: UserNode[]; close(): Promise<void> } {
  const sessions: SshExecutor[] = []
  const nodes: UserNode[] = []
  const seen = new Set<string>()
  const add = (node: string, host: string, port: number, pool?: string): void => {
    if (seen.has(node)) return
    seen.add(node)
    const keys = options.hostKeys(node, pool)
    if (keys.length === 0) {
      nodes.push({ node, executor: unreachable(node, 'no host key is pinned for it (STEWARD_LOGIN_HOST_KEYS)') })
      return
    }
    const executor = createSshExecutor({ host, port, username: options.user, privateKeyPath: options.identity, hostKey: keys, readyTimeoutSeconds: 10 })
    sessions.push(executor)
    nodes.push({ node, executor })
  }
  if (options.controller) {
    seen.add(options.controller.node)
    nodes.push(options.controller)
  }
  for (const pool of desiredPools(spec)) {
    for (const m of pool.members) add(m.node, /^[0-9.]+$/.test(m.target.id) ? m.target.id : m.node, pool.balancer.type === 'haproxy' ? m.target.port : pool.sshPort, pool.name)
  }
  if (options.computeNodes !== false) for (const g of spec.nodeGroups) for (const n of expandHostlist(g.nodes)) add(n, n, 22)
  return {
    nodes,
    async close() {
      for (const s of sessions) await s.close().catch(() => undefined)
    },
  }
}

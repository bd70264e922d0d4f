/**
 * Semantic rules of the `loginNodes` and `sessions` sections: pool names unique, a login
 * node in one pool only and never a compute node or the controller, balancer targets that
 * fit the balancer, and session overrides that name known users. Called by validateSpec.
 */
import type { ClusterSpec } from './schema.js'
import type { LoginPool } from './login-schema.js'
import type { Problems } from './problems.js'
import { countHostlist, expandHostlist, HostlistError } from '../slurm/hostlist.js'
import { MAX_NODES } from './validate.js'

/** More login nodes than this in one pool is a typo, not a pool. */
export const MAX_POOL_NODES = 1000

/** The rules; reads the raw value defensively (structure errors are reported elsewhere). */
export function loginNodeRules(spec: ClusterSpec, problems: Problems): void {
  const pools = Array.isArray(spec.loginNodes?.pools) ? spec.loginNodes.pools : []
  if (pools.length === 0) return sessionRules(spec, false, problems)
  const compute = computeNodes(spec)
  const controller = spec.cluster?.controller?.host
  const poolOf = new Map<string, string>()
  const poolNames = new Map<string, number>()
  const listens = new Map<string, string>()
  pools.forEach((pool, i) => {
    const path = `/loginNodes/pools/${i}`
    if (!pool || typeof pool !== 'object') return
    const seen = poolNames.get(pool.name)
    if (seen !== undefined) problems.error(`${path}/name`, `duplicate pool name "${pool.name}" (first defined at /loginNodes/pools/${seen}/name): pool names must be unique`)
    else poolNames.set(pool.name, i)
    const nodes = poolNodes(pool, `${path}/nodes`, problems)
    for (const node of nodes) {
      const group = compute.get(node)
      if (group) problems.error(`${path}/nodes`, `"${node}" is a compute node of node group "${group}", not a login node: a pool names login nodes only`)
      else if (node === controller) problems.error(`${path}/nodes`, `"${node}" is the Slurm controller, not a login node: a pool names login nodes only`)
      const other = poolOf.get(node)
      if (other !== undefined && other !== pool.name) problems.error(`${path}/nodes`, `login node "${node}" is already in pool "${other}": a node belongs to one pool`)
      poolOf.set(node, pool.name)
    }
    targetRules(pool, nodes, path, problems)
    const b = pool.balancer
    if (b?.type === 'haproxy') {
      const port = Number(String(b.listen).split(':').pop())
      if (!(port >= 1 && port <= 65_535)) problems.error(`${path}/balancer/listen`, `port ${port} is not 1-65535`)
      if (typeof b.listen === 'string' && !validIpv4Parts(b.listen.split(':')[0] ?? '')) problems.error(`${path}/balancer/listen`, `"${b.listen}" has an IPv4 part above 255`)
      if (typeof b.runtimeSocket === 'string' && b.runtimeSocket.split('/').some((p) => p === '.' || p === '..')) {
        problems.error(`${path}/balancer/runtimeSocket`, `"${b.runtimeSocket}" has a . or .. segment: give a plain absolute path`)
      }
      for (const [key, value] of [['listen', b.listen], ['runtimeSocket', b.runtimeSocket]] as const) {
        const owner = listens.get(`${key}=${value}`)
        if (owner) problems.error(`${path}/balancer/${key}`, `${key} "${value}" is already used by pool "${owner}": each HAProxy pool needs its own`)
        else listens.set(`${key}=${value}`, pool.name)
      }
    }
  })
  sessionRules(spec, pools.length > 0, problems)
}

function computeNodes(spec: ClusterSpec): Map<string, string> {
  const owner = new Map<string, string>()
  const groups = Array.isArray(spec.nodeGroups) ? spec.nodeGroups : []
  const count = (expr: unknown): number => {
    try {
      return typeof expr === 'string' ? countHostlist(expr) : 0
    } catch {
      return 0
    }
  }
  // Counted first: the node group rules refuse more than MAX_NODES without expanding them.
  if (groups.reduce((sum, g) => sum + count(g?.nodes), 0) > MAX_NODES) return owner
  for (const g of groups) {
    try {
      for (const n of expandHostlist(g.nodes)) owner.set(n, g.name)
    } catch {
      // reported by the node group rules
    }
  }
  return owner
}

function poolNodes(pool: LoginPool, path: string, problems: Problems): string[] {
  if (typeof pool.nodes !== 'string') return []
  try {
    const count = countHostlist(pool.nodes)
    if (count > MAX_POOL_NODES) {
      problems.error(path, `the pool names ${count} nodes; a pool has at most ${MAX_POOL_NODES}`)
      return []
    }
    const nodes = expandHostlist(pool.nodes)
    if (new Set(nodes).size !== nodes.length) problems.error(path, 'the hostlist names a node twice: list every node once')
    return nodes
  } catch (err) {
    if (err instanceof HostlistError) problems.error(path, err.message)
    else throw err
    return []
  }
}

function validIpv4Parts(address: string): boolean {
  if (!/^[0-9.]+$/.test(address)) return true
  return address.split('.').every((part) => Number(part) <= 255)
}

function targetRules(pool: LoginPool, nodes: string[], path: string, problems: Problems): void {
  const targets = pool.targets && typeof pool.targets === 'object' ? pool.targets : {}
  const members = new Set(nodes)
  const used = new Map<string, string>()
  for (const [node, target] of Object.entries(targets)) {
    const at = `${path}/targets/${node}`
    if (!members.has(node)) problems.error(at, `"${node}" is not a node of pool "${pool.name}": targets name the pool's own nodes`)
    if (typeof target !== 'string') continue
    if (!validIpv4Parts(target.split(':')[0] ?? '')) problems.error(at, `"${target}" has an IPv4 part above 255`)
    const port = target.includes(':') ? Number(target.split(':')[1]) : undefined
    if (port !== undefined && !(port >= 1 && port <= 65_535)) problems.error(at, `port ${port} is not 1-65535`)
    const other = used.get(target)
    if (other) problems.error(at, `target "${target}" is also the target of "${other}": each node needs its own`)
    used.set(target, node)
    const b = pool.balancer
    if (b?.type === 'nlb' && b.targetType === 'ip' && !/^[0-9.]+$/.test(target)) problems.error(at, `"${target}" is not an IPv4 address without a port, as a target group of type ip needs (the port is sshPort)`)
    if (b?.type === 'nlb' && b.targetType === 'instance' && !target.startsWith('i-')) problems.error(at, `"${target}" is not an instance id (i-...), as a target group of type instance needs`)
    if (b?.type === 'haproxy' && target.startsWith('i-')) problems.error(at, `"${target}" is an instance id; HAProxy needs an IPv4 address (with an optional :PORT)`)
  }
  if (pool.balancer?.type === 'nlb') {
    for (const node of nodes) {
      if (!Object.hasOwn(targets, node)) problems.error(`${path}/targets`, `node "${node}" has no target: an NLB pool needs the ${pool.balancer.targetType === 'instance' ? 'instance id' : 'IP address'} of every node`)
    }
  }
}

function sessionRules(spec: ClusterSpec, hasPools: boolean, problems: Problems): void {
  const sessions = spec.sessions
  if (!sessions || typeof sessions !== 'object') return
  if (sessions.ssh && !hasPools) problems.warning('/sessions/ssh', 'SSH session limits apply to login nodes, and loginNodes names none: nothing will be installed')
  const users = new Set((Array.isArray(spec.users) ? spec.users : []).map((u) => u?.name))
  const seen = new Map<string, number>()
  ;(Array.isArray(sessions.overrides) ? sessions.overrides : []).forEach((o, i) => {
    const path = `/sessions/overrides/${i}/user`
    if (typeof o?.user !== 'string') return
    if (!users.has(o.user)) problems.error(path, `unknown user "${o.user}": an override names a user listed under users`)
    const first = seen.get(o.user)
    if (first !== undefined) problems.error(path, `user "${o.user}" already has an override at /sessions/overrides/${first}: give one override per user`)
    else seen.set(o.user, i)
  })
}

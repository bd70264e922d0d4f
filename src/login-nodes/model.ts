/**
 * Login node pools as the balancers see them: the desired members of each pool (from the
 * spec's `loginNodes`), the live members read from a balancer, and the one interface both
 * balancers (NLB target group, HAProxy backend) implement. No I/O here.
 */
import type { ClusterSpec } from '../spec/schema.js'
import type { HaproxyBalancer, LoginPool, NlbBalancer } from '../spec/login-schema.js'
import { expandHostlist } from '../slurm/hostlist.js'

/** Defaults of spec-format.md. */
export const DEFAULT_SSH_PORT = 22
export const DEFAULT_DRAIN_GRACE_MINUTES = 10

/** Where the balancer sends a member's connections: an address (or instance id) and port. */
export interface MemberTarget {
  /** IPv4 address, host name, or EC2 instance id. */
  id: string
  port: number
}

export interface DesiredMember {
  node: string
  target: MemberTarget
}

export interface DesiredPool {
  name: string
  balancer: NlbBalancer | HaproxyBalancer
  sshPort: number
  drainGraceMinutes: number
  members: DesiredMember[]
}

/**
 * A member's administrative state on the balancer: `ready` takes new sessions; `drain`
 * keeps its sessions and takes no new ones; `maint` takes nothing (HAProxy only).
 */
export type BalancerState = 'ready' | 'drain' | 'maint'
/** The balancer's health check of the member. */
export type Health = 'healthy' | 'unhealthy' | 'initial' | 'unknown'

export interface LiveMember {
  /** The pool node, when the target is one of the desired members. */
  node: string | undefined
  target: MemberTarget
  state: BalancerState
  health: Health
  /** Connections the balancer holds to the member now, when it can tell (HAProxy `scur`). */
  connections: number | undefined
}

/** Thrown when a balancer cannot be read or changed; says which and why. */
export class BalancerError extends Error {
  override name = 'BalancerError'
}

/** Thrown for a node that is not a member of any pool. */
export class UnknownLoginNodeError extends Error {
  override name = 'UnknownLoginNodeError'
}

/** One balancer (an NLB target group or an HAProxy backend) of one pool. */
export interface PoolBalancer {
  readonly kind: 'nlb' | 'haproxy'
  /** The live members with state and health; `node` is filled from `desired`. */
  members(desired: DesiredPool): Promise<LiveMember[]>
  /** Settings of the balancer that differ from the pool's (one line each); empty when none do. */
  settings(desired: DesiredPool): Promise<string[]>
  /** Makes the balancer's settings and membership those of `desired` (idempotent); members keep their state. */
  apply(desired: DesiredPool, plan: PoolPlan): Promise<void>
  /** Stops new sessions to a member at once; its sessions continue. */
  drain(desired: DesiredPool, member: DesiredMember): Promise<void>
  /** Takes a drained member back. */
  ready(desired: DesiredPool, member: DesiredMember): Promise<void>
  /** Ends a drained member's remaining sessions (the grace period ran out). */
  expire(desired: DesiredPool, member: DesiredMember): Promise<void>
}

/** One step of a pool plan. */
export type PoolOperation =
  | { op: 'settings'; detail: string }
  | { op: 'register'; node: string; target: MemberTarget }
  | { op: 'drain'; node: string | undefined; target: MemberTarget }
  | { op: 'deregister'; node: string | undefined; target: MemberTarget }

export interface PoolPlan {
  pool: string
  operations: PoolOperation[]
}

/**
 * The header of a login-node or balancer file. Unlike the Slurm files' header it names no
 * spec hash: a spec change that does not touch these files must not rewrite them (that
 * would reload sshd and HAProxy for nothing).
 */
export function loginFileHeader(spec: ClusterSpec, comment = '#'): string {
  return `${comment} Managed by HPC Steward: do not edit, changes are overwritten on the next apply.\n${comment} Cluster ${spec.cluster.name}, login nodes.`
}

/** `host` or `host:port` of a member, for messages and HAProxy server lines. */
export function targetLabel(target: MemberTarget): string {
  return `${target.id}:${target.port}`
}

/** The desired pools of a valid spec, members in hostlist order. */
export function desiredPools(spec: ClusterSpec): DesiredPool[] {
  return (spec.loginNodes?.pools ?? []).map((pool) => desiredPool(pool))
}

function desiredPool(pool: LoginPool): DesiredPool {
  const sshPort = pool.sshPort ?? DEFAULT_SSH_PORT
  return {
    name: pool.name,
    balancer: pool.balancer,
    sshPort,
    drainGraceMinutes: pool.drainGraceMinutes ?? DEFAULT_DRAIN_GRACE_MINUTES,
    members: expandHostlist(pool.nodes).map((node) => {
      // Own keys only: a node may be named `constructor` or `toString`.
      const given = pool.targets && Object.hasOwn(pool.targets, node) ? pool.targets[node] : undefined
      const [id, port] = given ? given.split(':') : [node, undefined]
      return { node, target: { id: id ?? node, port: port ? Number(port) : sshPort } }
    }),
  }
}

/** The pool and member of a login node; throws {@link UnknownLoginNodeError}. */
export function findMember(pools: DesiredPool[], node: string): { pool: DesiredPool; member: DesiredMember } {
  for (const pool of pools) {
    const member = pool.members.find((m) => m.node === node)
    if (member) return { pool, member }
  }
  throw new UnknownLoginNodeError(`"${node}" is not a login node of any pool (pools: ${pools.map((p) => p.name).join(', ') || 'none'})`)
}

/**
 * Drain, ready and status of login nodes, the way an admin expects: a drained node takes
 * no new sessions at once, its logged-in users get a `wall` notice with the deadline, and
 * their sessions go on until they end or the grace period runs out (then they are cut).
 * `status` lists every member with its balancer state, health and session count.
 */
import type { Executor } from '../adapters/executor.js'
import { findMember, type BalancerState, type DesiredPool, type Health, type PoolBalancer } from './model.js'

export interface LoginNodeDeps {
  balancerFor(pool: DesiredPool): PoolBalancer
  /** Runs commands on a login node (SSH as an admin user), for `who` and `wall`. */
  nodeExecutor(pool: DesiredPool, node: string): Executor
  now?: () => Date
}

/** Thrown when a login node cannot be reached or refuses a command; says which and why. */
export class LoginNodeError extends Error {
  override name = 'LoginNodeError'
}

/** Interactive sessions on a node: the lines of `who` (one per logged-in terminal). */
export async function countSessions(executor: Executor, node: string): Promise<number> {
  let res
  try {
    res = await executor.run(['who'], { timeoutMs: 15_000 })
  } catch (err) {
    throw new LoginNodeError(`login node ${node} is unreachable (${executor.target}): ${(err as Error).message}`, { cause: err })
  }
  if (res.code !== 0) throw new LoginNodeError(`"who" failed on login node ${node}: ${res.stderr.trim() || `exit ${res.code}`}`)
  return res.stdout.split('\n').filter((l) => l.trim() !== '').length
}

/** The notice logged-in users see. Plain ASCII; it travels as one argv word to `wall`. */
export function drainNotice(node: string, deadline: Date): string {
  return `Login node ${node} is being taken out of service. New logins go to the other login nodes. `
    + `Your session here continues until ${deadline.toISOString().replace(/\.\d{3}Z$/, 'Z')} (UTC); please save your work and log in again before then.`
}

export interface DrainResult {
  pool: string
  node: string
  deadline: string
  /** Sessions on the node when it was drained (the users who got the notice). */
  sessions: number
}

/** Drains `node`; `graceMinutes` defaults to the pool's `drainGraceMinutes`. */
export async function drainNode(pools: DesiredPool[], node: string, graceMinutes: number | undefined, deps: LoginNodeDeps): Promise<DrainResult> {
  const { pool, member } = findMember(pools, node)
  const grace = graceMinutes ?? pool.drainGraceMinutes
  if (!Number.isInteger(grace) || grace < 0 || grace > 24 * 60) throw new LoginNodeError(`grace ${grace} is not a whole number of minutes from 0 to 1440`)
  const executor = deps.nodeExecutor(pool, node)
  // Reached first: an unreachable node is an error before the balancer changes.
  const sessions = await countSessions(executor, node)
  await deps.balancerFor(pool).drain(pool, member)
  const deadline = new Date((deps.now?.() ?? new Date()).getTime() + grace * 60_000)
  if (sessions > 0) {
    const res = await executor.run(['wall', drainNotice(node, deadline)], { timeoutMs: 15_000 })
    if (res.code !== 0) throw new LoginNodeError(`login node ${node} is drained, but "wall" failed: ${res.stderr.trim() || `exit ${res.code}`}`)
  }
  return { pool: pool.name, node, deadline: deadline.toISOString(), sessions }
}

/** Ends the sessions a drained node still holds (its grace period ran out). */
export async function expireNode(pools: DesiredPool[], node: string, deps: LoginNodeDeps): Promise<void> {
  const { pool, member } = findMember(pools, node)
  await deps.balancerFor(pool).expire(pool, member)
}

/** Takes a drained node back into its pool. */
export async function readyNode(pools: DesiredPool[], node: string, deps: LoginNodeDeps): Promise<{ pool: string; node: string }> {
  const { pool, member } = findMember(pools, node)
  await deps.balancerFor(pool).ready(pool, member)
  return { pool: pool.name, node }
}

export interface MemberStatus {
  pool: string
  node: string
  target: string
  state: BalancerState | 'absent'
  health: Health
  /** Logged-in sessions on the node; null when the node could not be asked. */
  sessions: number | null
  /** Connections the balancer holds to the node, when it can tell. */
  connections: number | null
  error?: string
}

/** Every member of every pool (desired or still live) with state, health and sessions. */
export async function loginNodeStatus(pools: DesiredPool[], deps: LoginNodeDeps): Promise<MemberStatus[]> {
  const out: MemberStatus[] = []
  for (const pool of pools) {
    const live = await deps.balancerFor(pool).members(pool)
    const nodes = [...new Set([...pool.members.map((m) => m.node), ...live.flatMap((m) => (m.node ? [m.node] : []))])]
    for (const node of nodes) {
      const member = pool.members.find((m) => m.node === node)
      const seen = live.find((m) => m.node === node)
      const target = seen?.target ?? member?.target
      const status: MemberStatus = {
        pool: pool.name, node, target: target ? `${target.id}:${target.port}` : '',
        state: seen?.state ?? 'absent', health: seen?.health ?? 'unknown', sessions: null, connections: seen?.connections ?? null,
      }
      try {
        status.sessions = await countSessions(deps.nodeExecutor(pool, node), node)
      } catch (err) {
        status.error = (err as Error).message
      }
      out.push(status)
    }
    for (const m of live) {
      if (!m.node) out.push({ pool: pool.name, node: '', target: `${m.target.id}:${m.target.port}`, state: m.state, health: m.health, sessions: null, connections: m.connections ?? null, error: 'a target the spec does not name' })
    }
  }
  return out
}

/**
 * Waits until a drained node has no session left or its deadline passes, then ends what is
 * left (`expire`). Stops as soon as the node is no longer draining (an admin said `ready`).
 * Polls every `pollMs`; `background` lets the process exit meanwhile. Returns how it ended.
 */
export async function finishDrain(pools: DesiredPool[], node: string, deadline: Date, deps: LoginNodeDeps, options: { pollMs?: number; background?: boolean; signal?: AbortSignal } = {}): Promise<'empty' | 'expired' | 'readied' | 'superseded'> {
  const pollMs = options.pollMs ?? 30_000
  const { pool } = findMember(pools, node)
  const executor = deps.nodeExecutor(pool, node)
  for (;;) {
    // A later drain (with its own deadline) or a ready took over: this wait must not end any session.
    if (options.signal?.aborted) return 'superseded'
    const now = deps.now?.() ?? new Date()
    const state = (await deps.balancerFor(pool).members(pool)).find((m) => m.node === node)?.state
    if (state !== 'drain') return 'readied'
    if (options.signal?.aborted) return 'superseded'
    if (now >= deadline) {
      await expireNode(pools, node, deps)
      return 'expired'
    }
    if ((await countSessions(executor, node)) === 0) return 'empty'
    await new Promise<void>((r) => {
      const wake = (): void => {
        clearTimeout(timer)
        r()
      }
      const timer = setTimeout(() => {
        options.signal?.removeEventListener('abort', wake)
        r()
      }, Math.min(pollMs, deadline.getTime() - now.getTime()))
      options.signal?.addEventListener('abort', wake, { once: true })
      // In the service the wait must not keep a stopping process alive.
      if (options.background) timer.unref()
    })
  }
}

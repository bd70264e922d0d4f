/**
 * POSIX users on every node users reach (the controller, login nodes, compute nodes), not
 * only the controller: on each node the spec's users are created with the same uid, gid
 * and home (the controller's plan, `planPosix`), disabled users are locked
 * (`usermod --lock --expiredate 1`: no password, no key login, no `su`, uid kept, nothing
 * deleted), and synced users enabled again are unlocked. Nodes are reached through the
 * Executor, in parallel with a bounded fan-out; each node answers for itself: a node that
 * is down is reported, the others go on, and the next apply catches it up (every step is
 * idempotent: what exists is left alone).
 */
import type { Executor } from '../adapters/executor.js'
import type { ClusterSpec } from '../spec/schema.js'
import { desiredPosixUsers } from '../accounting/desired.js'
import { getentLookup, planPosix, readPosixState } from '../accounting/posix.js'
import type { Operation } from '../accounting/operations.js'
import { fanOut } from './fan-out.js'

/** A node and how to reach it. */
export interface UserNode {
  node: string
  executor: Executor
}

/** One node's plan: operations to run, or why it cannot be planned. */
export interface NodePlan {
  node: string
  operations: Operation[]
  /** Clashes (a uid or name that is someone else's); nothing is run on such a node. */
  problems: string[]
  /** Set when the node could not be read (down, unreachable). */
  error?: string
}

export interface NodeResult {
  node: string
  ok: boolean
  /** What was done, e.g. `2 created, 1 locked`, or `up to date`. */
  summary: string
  error?: string
}

/** Nodes read or changed side by side. */
export const NODE_FAN_OUT = 8

/** The `!` of a locked password and an account expired on day 1: the marks of a disabled user. */
function isLocked(shadowLine: string): boolean {
  const f = shadowLine.split(':')
  return (f[1] ?? '').startsWith('!') && f[7] === '1'
}

async function shadowOf(executor: Executor, names: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  if (names.length === 0) return out
  const r = await executor.run(['getent', 'shadow', ...names])
  if (r.code !== 0 && r.code !== 2) throw new Error(`getent shadow on ${executor.target} exited ${r.code}: ${r.stderr.trim()}`)
  for (const line of r.stdout.split('\n')) {
    const name = line.split(':')[0]
    if (name) out.set(name, line)
  }
  return out
}

/** Plans one node: users to create, to lock and to unlock. */
export async function planNode(spec: ClusterSpec, node: UserNode): Promise<NodePlan> {
  try {
    const users = desiredPosixUsers(spec)
    const posix = planPosix(users, await readPosixState(node.executor, users))
    const disabled = spec.users.filter((u) => u.disabled === true).map((u) => u.name)
    const enabled = spec.users.filter((u) => u.source !== undefined && u.disabled !== true).map((u) => u.name)
    const created = new Set(posix.operations.filter((o) => o.kind === 'posix-user').flatMap((o) => o.targets))
    const shadow = await shadowOf(node.executor, [...disabled, ...enabled].filter((n) => !created.has(n)))
    const operations = [...posix.operations]
    for (const name of disabled) {
      const line = shadow.get(name)
      if (created.has(name) || (line !== undefined && !isLocked(line))) {
        operations.push({ phase: 'posix', action: 'modify', kind: 'posix-user', targets: [name], argv: ['usermod', '--lock', '--expiredate', '1', name], summary: `lock disabled user ${name} (uid kept)` })
      }
    }
    for (const name of enabled) {
      const line = shadow.get(name)
      if (line !== undefined && isLocked(line)) {
        operations.push({ phase: 'posix', action: 'modify', kind: 'posix-user', targets: [name], argv: ['usermod', '--unlock', '--expiredate', '', name], summary: `unlock user ${name}, enabled again` })
      }
    }
    return { node: node.node, operations, problems: posix.problems.map((p) => `${p.subject}: ${p.message}`) }
  } catch (err) {
    return { node: node.node, operations: [], problems: [], error: (err as Error).message }
  }
}

/** Plans every node side by side (at most `NODE_FAN_OUT` at a time). */
export async function planNodes(spec: ClusterSpec, nodes: readonly UserNode[], limit = NODE_FAN_OUT): Promise<NodePlan[]> {
  const plans = new Map<string, NodePlan>()
  await fanOut(nodes, limit, async (n) => { plans.set(n.node, await planNode(spec, n)) })
  return nodes.map((n) => plans.get(n.node)!)
}

function summarize(ops: readonly Operation[]): string {
  if (ops.length === 0) return 'up to date'
  const created = ops.filter((o) => o.action === 'add' && o.kind === 'posix-user').length
  const groups = ops.filter((o) => o.kind === 'group').length
  const locked = ops.filter((o) => o.argv.includes('--lock')).length
  const unlocked = ops.filter((o) => o.argv.includes('--unlock')).length
  return [created && `${created} created`, groups && `${groups} group(s) created`, locked && `${locked} locked`, unlocked && `${unlocked} unlocked`].filter(Boolean).join(', ')
}

/** Runs each node's plan (nodes side by side, a node's operations in order); never throws for a node. */
export async function applyNodePlans(plans: readonly NodePlan[], nodes: readonly UserNode[], limit = NODE_FAN_OUT): Promise<NodeResult[]> {
  const byNode = new Map(nodes.map((n) => [n.node, n]))
  const results = new Map<string, NodeResult>()
  await fanOut(plans, limit, async (plan) => {
    if (plan.error !== undefined) {
      results.set(plan.node, { node: plan.node, ok: false, summary: 'unreachable: caught up on the next apply', error: plan.error })
      return
    }
    if (plan.problems.length > 0) {
      results.set(plan.node, { node: plan.node, ok: false, summary: 'not changed: clashes', error: plan.problems.join('; ') })
      return
    }
    const executor = byNode.get(plan.node)!.executor
    const done: Operation[] = []
    try {
      for (const op of plan.operations) {
        const r = await executor.run(op.argv)
        if (r.code !== 0) throw new Error(`${op.argv.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`)
        done.push(op)
      }
      results.set(plan.node, { node: plan.node, ok: true, summary: summarize(done) })
    } catch (err) {
      results.set(plan.node, { node: plan.node, ok: false, summary: `${summarize(done)}; stopped: caught up on the next apply`, error: (err as Error).message })
    }
  })
  return plans.map((p) => results.get(p.node)!)
}

/** Plans and applies every node: the per-node results. */
export async function syncNodeUsers(spec: ClusterSpec, nodes: readonly UserNode[], limit = NODE_FAN_OUT): Promise<NodeResult[]> {
  return applyNodePlans(await planNodes(spec, nodes, limit), nodes, limit)
}

/** The uid a user has on a node (for checks), or undefined. */
export async function uidOn(executor: Executor, name: string): Promise<number | undefined> {
  return (await getentLookup(executor, 'passwd', [name]))[0]?.id
}

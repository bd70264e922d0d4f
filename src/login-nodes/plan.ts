/**
 * The plan of one pool: what makes the balancer's members those of the spec. New nodes are
 * registered; a node that left the spec is drained first (its sessions keep going) and
 * deregistered only when the balancer holds no connection to it any more. Pure.
 */
import type { DesiredPool, LiveMember, PoolOperation, PoolPlan } from './model.js'
import { targetLabel } from './model.js'

/** The operations that bring `live` to `desired`; empty when they agree. */
export function planPool(desired: DesiredPool, live: LiveMember[], settings: string[] = []): PoolPlan {
  const operations: PoolOperation[] = settings.map((detail) => ({ op: 'settings', detail }))
  const liveByTarget = new Map(live.map((m) => [targetLabel(m.target), m]))
  const wanted = new Set(desired.members.map((m) => targetLabel(m.target)))
  for (const m of desired.members) {
    if (!liveByTarget.has(targetLabel(m.target))) operations.push({ op: 'register', node: m.node, target: m.target })
  }
  for (const m of live) {
    if (wanted.has(targetLabel(m.target))) continue
    if (m.state === 'ready') operations.push({ op: 'drain', node: m.node, target: m.target })
    else if (!m.connections) operations.push({ op: 'deregister', node: m.node, target: m.target })
  }
  return { pool: desired.name, operations }
}

/** One line per operation, for the CLI and logs. */
export function formatPoolPlan(plan: PoolPlan): string[] {
  if (plan.operations.length === 0) return [`pool ${plan.pool}: up to date`]
  return plan.operations.map((o) => o.op === 'settings'
    ? `pool ${plan.pool}: settings ${o.detail}`
    : `pool ${plan.pool}: ${o.op} ${o.node ?? '(unknown node)'} ${targetLabel(o.target)}`)
}

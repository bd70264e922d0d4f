/**
 * Semantic rules of the `pricing` and `budgets` sections: prices only for node groups the
 * spec defines, money with at most four decimals, budgets only for known departments (one
 * each), distinct thresholds, and a `restrict` budget only for a department that has a
 * preemptible QoS to be left with. Called by validateSpec; reads the raw value defensively.
 */
import type { ClusterSpec, Department } from './schema.js'
import type { Problems } from './problems.js'
import { MONEY_DECIMALS } from './budget-schema.js'
import { MAX_NOTIFICATIONS } from '../budgets/aws-budget.js'

/**
 * Preemptible QoS, what a `restrict`ed department keeps: a QoS another QoS may preempt
 * (its `preempt` list), or the QoS of a partition whose `preemptMode` is not `off` (the
 * campus example's `scavenger`).
 */
export function preemptibleQos(spec: Pick<ClusterSpec, 'qos' | 'departments' | 'sharedPartitions'>): Set<string> {
  const out = new Set<string>()
  for (const q of list(spec.qos)) for (const p of list(q?.preempt)) out.add(p)
  const partitions = [...list(spec.sharedPartitions), ...list(spec.departments).flatMap((d) => list(d?.partitions))]
  for (const p of partitions) if (p?.qos && p.preemptMode && p.preemptMode !== 'off') out.add(p.qos)
  return out
}

function list<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value : []
}

/** The department's QoS that are preemptible, in its order. */
export function departmentPreemptibleQos(spec: Pick<ClusterSpec, 'qos' | 'departments' | 'sharedPartitions'>, department: Pick<Department, 'qos'>): string[] {
  const preemptible = preemptibleQos(spec)
  return (Array.isArray(department.qos) ? department.qos : []).filter((q) => preemptible.has(q))
}

/** True when `x` has at most `MONEY_DECIMALS` decimals. */
export function hasMoneyPrecision(x: number): boolean {
  const scaled = x * 10 ** MONEY_DECIMALS
  return Math.abs(scaled - Math.round(scaled)) < 1e-6
}

/** The rules; problems are added with their paths. */
export function budgetRules(spec: ClusterSpec, problems: Problems): void {
  const groups = new Set((Array.isArray(spec.nodeGroups) ? spec.nodeGroups : []).map((g) => g?.name))
  const prices = spec.pricing?.nodeGroups
  if (prices && typeof prices === 'object') {
    for (const [group, price] of Object.entries(prices)) {
      const path = `/pricing/nodeGroups/${group}`
      if (!groups.has(group)) problems.error(path, `price for unknown node group "${group}": define it under nodeGroups or remove the price`)
      if (typeof price === 'number' && !hasMoneyPrecision(price)) problems.error(path, `price ${price} has more than ${MONEY_DECIMALS} decimals`)
    }
  }
  const budgets = spec.budgets
  if (!budgets || typeof budgets !== 'object') return
  if (!spec.pricing && (budgets.departments?.length ?? 0) > 0) {
    problems.error('/budgets/departments', 'department budgets need pricing: add pricing.nodeGroups so usage can be charged')
  }
  if (budgets.cluster) {
    thresholdRules(budgets.cluster, '/budgets/cluster', problems)
    awsQuotaRules(budgets.cluster, problems)
  }
  const departments = new Map((Array.isArray(spec.departments) ? spec.departments : []).map((d) => [d?.name, d]))
  const seen = new Map<string, number>()
  const list = Array.isArray(budgets.departments) ? budgets.departments : []
  list.forEach((b, i) => {
    const path = `/budgets/departments/${i}`
    if (!b || typeof b !== 'object') return
    thresholdRules(b, path, problems)
    const department = departments.get(b.department)
    if (!department) {
      problems.error(`${path}/department`, `budget for unknown department "${b.department}": define it under departments or remove the budget`)
      return
    }
    const first = seen.get(b.department)
    if (first !== undefined) problems.error(`${path}/department`, `department "${b.department}" already has a budget at /budgets/departments/${first}: one budget per department`)
    else seen.set(b.department, i)
    if (b.onExceeded === 'restrict' && departmentPreemptibleQos(spec, department).length === 0) {
      problems.error(`${path}/onExceeded`, `restrict leaves department "${b.department}" only its preemptible QoS, but none of ${JSON.stringify(department.qos)} is preemptible (in another QoS's preempt list, or the qos of a partition with a preemptMode): add one (e.g. scavenger) or use block`)
    }
  })
}

function thresholdRules(b: { monthly?: unknown; thresholds?: unknown }, path: string, problems: Problems): void {
  if (typeof b.monthly === 'number' && !hasMoneyPrecision(b.monthly)) problems.error(`${path}/monthly`, `monthly ${b.monthly} has more than ${MONEY_DECIMALS} decimals`)
  const thresholds = Array.isArray(b.thresholds) ? (b.thresholds as unknown[]) : []
  const seen = new Set<unknown>()
  thresholds.forEach((t, j) => {
    if (seen.has(t)) problems.error(`${path}/thresholds/${j}`, `threshold ${String(t)} is listed twice`)
    seen.add(t)
  })
}


/**
 * AWS Budgets' quotas for the cluster's budget: each threshold is two notifications (ACTUAL
 * and FORECASTED) of at most 5 a budget. (Its 10 e-mail subscribers a notification are the
 * schema's `notify` maxItems.)
 */
function awsQuotaRules(c: { thresholds?: unknown }, problems: Problems): void {
  const thresholds = Array.isArray(c.thresholds) ? c.thresholds : []
  const most = Math.floor(MAX_NOTIFICATIONS / 2)
  if (thresholds.length > most) {
    problems.error('/budgets/cluster/thresholds', `${thresholds.length} thresholds make ${thresholds.length * 2} AWS Budgets notifications (ACTUAL and FORECASTED each); AWS allows ${MAX_NOTIFICATIONS} a budget: use at most ${most} thresholds`)
  }
}

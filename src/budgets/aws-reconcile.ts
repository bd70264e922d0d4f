/**
 * The monthly reconciliation of a cluster's AWS bill with the departments' chargeback:
 * Cost Explorer's cost grouped by the `ClusterName` cost-allocation tag on one side, the
 * sum of what the departments were charged on the other, and the difference shown as
 * idle or unallocated cost (capacity paid for that no job used, and costs no job carries:
 * the controller, storage, the service itself). Pure: amounts in, a report out.
 */
import { CLUSTER_TAG } from './aws-budget.js'
import type { Reconciliation } from './contract.js'

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/

/** Cost Explorer's costs of one month, per value of the ClusterName tag. */
export interface ClusterCosts {
  month: string
  currency: string
  /** Tag value -> cost. */
  byCluster: Map<string, number>
  /** Cost with no ClusterName tag (the rest of the account). */
  untagged: number
  /** Cost Explorer marks a month still open as estimated. */
  estimated: boolean
}

/** Thrown when the inputs cannot be reconciled (another currency, a bad month or amount). */
export class ReconcileError extends Error {
  override name = 'ReconcileError'
}

/** The first day of the month and of the next one (Cost Explorer's End is exclusive). */
export function monthPeriod(month: string): { start: string; end: string } {
  const m = MONTH_RE.exec(month)
  if (!m) throw new ReconcileError(`month "${month}" must be YYYY-MM`)
  const year = Number(m[1])
  const index = Number(m[2])
  const next = index === 12 ? `${year + 1}-01` : `${year}-${String(index + 1).padStart(2, '0')}`
  return { start: `${month}-01`, end: `${next}-01` }
}

/**
 * Cost Explorer group keys -> costs: `ClusterName$campus` is campus, `ClusterName$` is
 * untagged. A key of another tag is an error (the query grouped by something else).
 */
export function clusterCostsOf(month: string, groups: Array<{ key: string; amount: number; unit: string }>, estimated = false): ClusterCosts {
  monthPeriod(month)
  const byCluster = new Map<string, number>()
  let untagged = 0
  const units = new Set<string>()
  for (const g of groups) {
    const prefix = `${CLUSTER_TAG}$`
    if (!g.key.startsWith(prefix)) throw new ReconcileError(`Cost Explorer group "${g.key}" is not a ${CLUSTER_TAG} tag group`)
    if (!Number.isFinite(g.amount)) throw new ReconcileError(`Cost Explorer group "${g.key}" has no amount`)
    units.add(g.unit)
    const value = g.key.slice(prefix.length)
    if (value === '') untagged += g.amount
    else byCluster.set(value, (byCluster.get(value) ?? 0) + g.amount)
  }
  if (units.size > 1) throw new ReconcileError(`Cost Explorer answered in several currencies: ${[...units].join(', ')}`)
  return { month, currency: [...units][0] ?? 'USD', byCluster, untagged, estimated }
}

const cents = (x: number): number => Math.round(x * 100) / 100
const percent = (part: number, whole: number): number | null => (whole > 0 ? Math.round((part / whole) * 10_000) / 100 : null)

/** The cluster's bill beside its departments' chargeback (a Map of department -> cost in `currency`). */
export function reconcile(cluster: string, costs: ClusterCosts, chargeback: Map<string, number>, currency: string): Reconciliation {
  if (currency !== costs.currency) throw new ReconcileError(`the chargeback is in ${currency} but AWS bills ${costs.currency}: convert before reconciling`)
  for (const [department, cost] of chargeback) {
    if (!Number.isFinite(cost) || cost < 0) throw new ReconcileError(`the chargeback of department ${department} is ${cost}, not an amount`)
  }
  const awsBill = cents(costs.byCluster.get(cluster) ?? 0)
  const departments = [...chargeback].map(([department, cost]) => ({ department, cost: cents(cost), percentOfBill: percent(cost, awsBill) }))
    .sort((a, b) => b.cost - a.cost || a.department.localeCompare(b.department))
  const allocated = cents(departments.reduce((s, d) => s + d.cost, 0))
  const unallocated = cents(awsBill - allocated)
  const notes: string[] = []
  if (costs.estimated) notes.push(`${costs.month} is not closed: Cost Explorer's figures are estimates`)
  if (!costs.byCluster.has(cluster)) notes.push(`Cost Explorer has no cost tagged ${CLUSTER_TAG}=${cluster} in ${costs.month}: is the cost allocation tag activated?`)
  if (unallocated < 0) notes.push(`the departments were charged ${cents(-unallocated)} ${currency} more than AWS billed: the node-hour prices are above cost`)
  return { cluster, month: costs.month, currency, awsBill, departments, allocated, unallocated, unallocatedPercent: percent(unallocated, awsBill), estimated: costs.estimated, notes }
}

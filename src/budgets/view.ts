/**
 * Usage and budget state of one cluster's month as a principal may see it: their usage
 * (total and per day by department) and the budget state of the departments they may see.
 * The source of /v1/me's usage section and of the dashboard's usage and budgets page.
 */
import type { Principal } from '../auth/policy.js'
import type { UsageLine } from '../usage/aggregate.js'
import { monthOf, monthWindow } from '../usage/read.js'
import { formatCents } from '../usage/chargeback.js'
import type { BudgetService } from './service.js'
import { scopeBudgetStatus, usageFilter } from './scope.js'

export interface BudgetLine {
  department: string
  budget: string
  spend: string
  forecast: string
  budgetCents: number
  spendCents: number
  forecastCents: number
  percent: number
  thresholds: number[]
  crossed: number[]
  onExceeded: string
  /** The action in force (`restrict`, `block`), or null. */
  action: string | null
}

export interface UsageView {
  available: true
  month: string
  currency: string
  /** The principal's visible usage this month so far (a researcher's: their own jobs). */
  total: Omit<UsageLine, 'key'> & { cost: string }
  byDepartment: Array<UsageLine & { cost: string }>
  daily: Array<{ day: string; lines: UsageLine[] }>
  /** The last day (`YYYY-MM-DD`) spend to date is known for: today in this month, the last day of a past one, null for one to come. */
  through: string | null
  budgets: BudgetLine[]
}

const money = (cents: number): string => formatCents(BigInt(cents))

/** Reads the month (default: this one) and scopes it to `p`. */
export async function usageView(budgets: BudgetService, p: Principal, cluster: string, now: number, month = monthOf(now)): Promise<UsageView> {
  const window = monthWindow(month)
  const read = await budgets.usage(cluster, window)
  const { spec, usage } = read
  // The budget state charges the same read: sacct is asked for the month once per request.
  const status = scopeBudgetStatus(p, spec, await budgets.status(cluster, month, read))
  const keep = usageFilter(p)
  const byDepartment = usage.lines('department', keep)
  const sum = byDepartment.reduce((t, l) => ({
    jobs: t.jobs + l.jobs, gpuHours: t.gpuHours + l.gpuHours, cpuHours: t.cpuHours + l.cpuHours, nodeHours: t.nodeHours + l.nodeHours,
    billedNodeHours: t.billedNodeHours + l.billedNodeHours, costCents: t.costCents + l.costCents,
  }), { jobs: 0, gpuHours: 0, cpuHours: 0, nodeHours: 0, billedNodeHours: 0, costCents: 0 })
  const round = (x: number) => Math.round(x * 10_000) / 10_000
  return {
    available: true,
    month,
    currency: status.currency,
    total: { ...sum, gpuHours: round(sum.gpuHours), cpuHours: round(sum.cpuHours), nodeHours: round(sum.nodeHours), billedNodeHours: round(sum.billedNodeHours), cost: money(sum.costCents) },
    byDepartment: byDepartment.map((l) => ({ ...l, cost: money(l.costCents) })),
    daily: usage.daily(keep),
    through: now < window.from ? null : new Date(Math.min(now, window.to - 1) * 1000).toISOString().slice(0, 10),
    budgets: status.departments.map((d) => ({
      department: d.department, budget: money(d.budgetCents), spend: money(d.spendCents), forecast: money(d.forecastCents),
      budgetCents: d.budgetCents, spendCents: d.spendCents, forecastCents: d.forecastCents, percent: d.percent,
      thresholds: d.thresholds, crossed: d.crossed, onExceeded: d.onExceeded,
      action: d.action && d.action.endedAt === null ? d.action.action : null,
    })),
  }
}

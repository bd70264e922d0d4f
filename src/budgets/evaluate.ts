/**
 * Department budgets against spend, pure: the percent spent, the thresholds crossed, the
 * forecast to month end (spend so far at the same rate), and the action the budget asks
 * for. Money is in cents; budgets of the spec (decimal, at most four places) become cents
 * rounded half up.
 */
import type { ClusterSpec } from '../spec/schema.js'
import type { DepartmentBudget } from '../spec/budget-schema.js'
import type { Window } from '../usage/aggregate.js'

/** A department's budget state for a month. */
export interface DepartmentBudgetState {
  department: string
  currency: string
  budgetCents: number
  spendCents: number
  /** Spend over budget, in percent (2 decimals); 0 for a zero budget with no spend. */
  percent: number
  /** Spend at month end if the rest of the month goes as it went so far. */
  forecastCents: number
  thresholds: number[]
  /** Thresholds at or below `percent`, ascending. */
  crossed: number[]
  onExceeded: DepartmentBudget['onExceeded']
  /** The action the budget asks for now: `none` below 100 %, else `onExceeded`. */
  wanted: 'none' | 'notify' | 'restrict' | 'block'
  notify: string[]
}

/** A decimal amount in cents, half up. */
export function toCents(amount: number): number {
  return Math.round(amount * 100)
}

/** What any spend on a zero budget counts as: over every threshold (a number JSON can carry). */
export const ZERO_BUDGET_OVER = 1_000_000

/** Percent of `spend` in `budget` (2 decimals); a zero budget is 0 % until spent, then `ZERO_BUDGET_OVER`. */
export function percentOf(spendCents: number, budgetCents: number): number {
  if (budgetCents === 0) return spendCents > 0 ? ZERO_BUDGET_OVER : 0
  return Math.round((spendCents / budgetCents) * 10_000) / 100
}

/** Evaluates every department budget of `spec` for `month` at `now` (epoch seconds), given spend in cents per department. */
export function evaluateBudgets(spec: Pick<ClusterSpec, 'budgets' | 'pricing'>, spend: ReadonlyMap<string, number>, month: Window, now: number): DepartmentBudgetState[] {
  const elapsed = Math.min(Math.max(now - month.from, 0), month.to - month.from)
  const currency = spec.pricing?.currency ?? 'USD'
  return (spec.budgets?.departments ?? []).map((b) => {
    const budgetCents = toCents(b.monthly)
    const spendCents = spend.get(b.department) ?? 0
    const percent = percentOf(spendCents, budgetCents)
    const thresholds = [...b.thresholds].sort((x, y) => x - y)
    const forecastCents = elapsed > 0 ? Math.round((spendCents * (month.to - month.from)) / elapsed) : 0
    return {
      department: b.department, currency, budgetCents, spendCents, percent, forecastCents, thresholds,
      crossed: thresholds.filter((t) => percent >= t),
      onExceeded: b.onExceeded,
      wanted: percent >= 100 ? b.onExceeded : 'none',
      notify: b.notify ?? [],
    }
  })
}

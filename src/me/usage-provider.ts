/**
 * The usage provider of /v1/me and /ui/me, built on the budget service: the principal's
 * usage this month (a researcher's own jobs) and their departments' budget state, scoped
 * exactly as GET .../usage and GET .../budgets scope them.
 */
import type { BudgetService } from '../budgets/service.js'
import { usageView } from '../budgets/view.js'
import type { UsageProvider } from './me.js'

/** `now`: the clock of "this month" (default: the budget service's). */
export function budgetUsageProvider(budgets: BudgetService, now: () => number = () => budgets.now()): UsageProvider {
  return async (p, spec) => {
    const { daily: _daily, through: _through, ...view } = await usageView(budgets, p, spec.cluster.name, now())
    return view
  }
}

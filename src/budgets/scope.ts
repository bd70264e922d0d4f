/**
 * What a principal may see of usage and budgets, one rule for GET .../usage, GET
 * .../budgets, /v1/me and the dashboard: admins everything, department admins their
 * departments, researchers their own jobs and the budget state of their accounts'
 * departments (without recipients or the cluster budget).
 */
import { departmentsOfUser, isAdmin, type Principal } from '../auth/policy.js'
import type { ClusterSpec } from '../spec/schema.js'
import type { BudgetStatus } from './service.js'

/** Which usage cells a principal may see. */
export function usageFilter(p: Principal): (cell: { department: string; user: string }) => boolean {
  if (isAdmin(p)) return () => true
  if (p.role === 'department-admin') return (c) => p.departments.includes(c.department)
  return (c) => c.user === p.user
}

/** Departments whose budget state a principal may see; null for all. */
export function budgetDepartments(p: Principal, spec: ClusterSpec): Set<string> | null {
  if (isAdmin(p)) return null
  if (p.role === 'department-admin') return new Set(p.departments)
  return new Set(p.user ? departmentsOfUser(spec, p.user) : [])
}

/** The budget status as `p` may see it. */
export function scopeBudgetStatus(p: Principal, spec: ClusterSpec, status: BudgetStatus): BudgetStatus {
  const visible = budgetDepartments(p, spec)
  if (visible === null) return status
  return {
    ...status,
    departments: status.departments.filter((d) => visible.has(d.department)).map((d) => ({ ...d, notify: [], notifications: d.notifications.map((n) => ({ ...n, recipients: [] })) })),
    cluster: null,
    events: status.events.filter((e) => e.department !== null && visible.has(e.department)),
  }
}

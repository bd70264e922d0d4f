/**
 * Who may do what: pure decisions over a principal (the token's role and scope) and the
 * spec. Routes call these and turn a refusal into 403; nothing here knows about HTTP.
 */
import type { ClusterSpec, Department, Supervisor, User } from '../spec/schema.js'
import { supervisorAccount } from '../spec/model.js'
import type { Role } from '../store/types.js'

export interface Principal {
  tokenId: string
  role: Role
  departments: string[]
  user: string | null
}

/** Thrown when a valid principal asks for something outside its scope (HTTP 403). */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError'
}

export function isAdmin(p: Principal): boolean {
  return p.role === 'admin'
}

/** Only cluster admins: cluster settings, node groups, QoS definitions, revisions, applies. */
export function requireAdmin(p: Principal, what: string): void {
  if (!isAdmin(p)) throw new ForbiddenError(`only cluster admins may ${what}`)
}

/** Admins, and department admins of `department`. */
export function canManageDepartment(p: Principal, department: string): boolean {
  return isAdmin(p) || (p.role === 'department-admin' && p.departments.includes(department))
}

export function requireDepartment(p: Principal, department: string): void {
  if (!canManageDepartment(p, department)) throw new ForbiddenError(`department "${department}" is outside this token's scope`)
}

/** Departments whose supervisors list `user`. */
export function departmentsOfUser(spec: ClusterSpec, user: string): string[] {
  return spec.departments
    .filter((d) => (d.supervisors ?? []).some((s) => s.users.includes(user)))
    .map((d) => d.name)
}

/**
 * Whether `p` may see `user`: admins all, researchers themselves, department admins
 * their departments' users and users under no supervisor yet (no tenant's data: a
 * department admin creates a user first, then puts them under a supervisor).
 */
export function canSeeUser(p: Principal, spec: ClusterSpec, user: string): boolean {
  if (isAdmin(p)) return true
  if (p.role === 'researcher') return p.user === user
  if (p.role !== 'department-admin') return false
  const departments = departmentsOfUser(spec, user)
  return departments.length === 0 || departments.some((d) => p.departments.includes(d))
}

/**
 * Whether `p` may change `user`'s identity (uid, email, home, QoS): admins always; a
 * department admin only when every department of the user is theirs, so one tenant
 * can never change a user another tenant relies on.
 */
export function canEditUser(p: Principal, spec: ClusterSpec, user: string): boolean {
  if (isAdmin(p)) return true
  if (p.role !== 'department-admin') return false
  return departmentsOfUser(spec, user).every((d) => p.departments.includes(d))
}

/** Fields of a department that only a cluster admin may change. */
const ADMIN_ONLY_DEPARTMENT_FIELDS = ['name', 'fairshare', 'partitions', 'allowedQos', 'organization'] as const

/**
 * Checks a department admin's change to their department: they manage supervisors and
 * the description, and choose `qos`/`defaultQos` among the `allowedQos` the admin set.
 */
export function checkDepartmentChange(p: Principal, before: Department | undefined, after: Department): void {
  if (isAdmin(p)) return
  requireDepartment(p, after.name)
  if (!before) throw new ForbiddenError('only cluster admins may create departments')
  for (const field of ADMIN_ONLY_DEPARTMENT_FIELDS) {
    if (JSON.stringify(before[field]) !== JSON.stringify(after[field])) {
      throw new ForbiddenError(`only cluster admins may change a department's ${field}`)
    }
  }
  const allowed = new Set(before.allowedQos ?? [])
  const qosChanged = JSON.stringify(before.qos) !== JSON.stringify(after.qos) || before.defaultQos !== after.defaultQos
  if (qosChanged) {
    const outside = [...after.qos, ...(after.defaultQos ? [after.defaultQos] : [])].filter((q) => !allowed.has(q))
    if (outside.length > 0) throw new ForbiddenError(`QoS ${JSON.stringify([...new Set(outside)])} is not among the QoS the cluster admin allowed for "${after.name}" (${JSON.stringify([...allowed])})`)
  }
}

/** Checks a change to a user record by a non-admin. */
export function checkUserChange(p: Principal, spec: ClusterSpec, before: User | undefined, after: User | undefined): void {
  if (isAdmin(p)) return
  if (p.role !== 'department-admin') throw new ForbiddenError('researchers cannot change users')
  const name = (before ?? after)?.name ?? ''
  if (before && !canEditUser(p, spec, name)) throw new ForbiddenError(`user "${name}" also belongs to a department outside this token's scope`)
  if (after?.qos && JSON.stringify(after.qos) !== JSON.stringify(before?.qos)) throw new ForbiddenError('only cluster admins may grant a user extra QoS')
}

/**
 * Checks a change to a supervisor of `department`: department admins of it only; they may
 * add only users they can already see (their departments' users, or users under no
 * supervisor yet), so no tenant can pull another's user into their accounts, and the
 * account keeps its default name `<department>-<supervisor>`.
 */
export function checkSupervisorChange(p: Principal, spec: ClusterSpec, department: string, before: Supervisor | undefined, after: Supervisor | undefined): void {
  requireDepartment(p, department)
  if (isAdmin(p) || !after) return
  if (after.account !== undefined && after.account !== supervisorAccount({ name: department }, { name: after.name })) {
    throw new ForbiddenError('only cluster admins may give a supervisor an account name of their choice')
  }
  const had = new Set(before?.users ?? [])
  const foreign = after.users.filter((u) => !had.has(u) && !canSeeUser(p, spec, u))
  if (foreign.length > 0) throw new ForbiddenError(`user(s) ${foreign.join(', ')} belong to another department: ask a cluster admin`)
}

/**
 * Who may see and do what: pure decisions over a principal (the token's role and scope)
 * and the spec. Nothing here knows about HTTP. Visibility is decided first: what a token
 * may not see does not exist for it (the API answers 404, exactly as for a missing item);
 * a refusal (`ForbiddenError`, 403) is only for what it may see but not change.
 */
import type { ClusterSpec } from '../spec/schema.js'
import type { Role } from '../store/types.js'

export interface Principal {
  tokenId: string
  role: Role
  departments: string[]
  user: string | null
  /** The one cluster a department-admin or researcher token is bound to; null for admins (all clusters). */
  cluster: string | null
}

/** The service itself (start-up seeding): acts as a cluster admin. */
export const SYSTEM_PRINCIPAL: Principal = { tokenId: 'system', role: 'admin', departments: [], user: null, cluster: null }

/** Thrown when a valid principal asks for something outside its scope (HTTP 403); `path` names the field. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError'
  constructor(message: string, readonly path?: string) {
    super(message)
  }
}

export function isAdmin(p: Principal): boolean {
  return p.role === 'admin'
}

/** Only cluster admins: cluster settings, node groups, QoS definitions, revisions, applies. */
export function requireAdmin(p: Principal, what: string): void {
  if (!isAdmin(p)) throw new ForbiddenError(`only cluster admins may ${what}`)
}

/** Whether `p` may see `cluster` at all: admins every cluster, other tokens the one they are bound to. */
export function canSeeCluster(p: Principal, cluster: string): boolean {
  return isAdmin(p) || (p.cluster !== null && p.cluster === cluster)
}

/** Admins, and department admins of `department`. */
export function canManageDepartment(p: Principal, department: string): boolean {
  return isAdmin(p) || (p.role === 'department-admin' && p.departments.includes(department))
}

/** Each user's departments, built once per spec object (specs are not mutated once read). */
const userDepartments = new WeakMap<ClusterSpec, Map<string, string[]>>()

/** Departments whose supervisors list `user`: one map per spec, so a check of every user is linear. */
export function departmentsOfUser(spec: ClusterSpec, user: string): string[] {
  let index = userDepartments.get(spec)
  if (!index) {
    index = new Map()
    for (const d of spec.departments) {
      for (const s of d.supervisors ?? []) {
        for (const u of s.users) {
          const list = index.get(u)
          if (!list) index.set(u, [d.name])
          else if (list[list.length - 1] !== d.name) list.push(d.name)
        }
      }
    }
    userDepartments.set(spec, index)
  }
  return index.get(user) ?? []
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

/**
 * The departments whose cluster data `p` may see: all for admins, their own for
 * department admins, the departments a researcher works in (by the spec's supervisors).
 */
export function visibleDepartments(p: Principal, spec: ClusterSpec): Set<string> {
  if (isAdmin(p)) return new Set(spec.departments.map((d) => d.name))
  if (p.role === 'department-admin') return new Set(p.departments.filter((d) => spec.departments.some((x) => x.name === d)))
  if (p.role === 'researcher' && p.user) return new Set(departmentsOfUser(spec, p.user))
  return new Set()
}

/**
 * The partitions `p` may see (live GPU and node counts, the dashboard): their
 * departments' own partitions and the shared partitions open to one of them. Partition
 * names are often department names, so another tenant's partition is not shown at all.
 */
export function visiblePartitions(p: Principal, spec: ClusterSpec): Set<string> {
  const departments = visibleDepartments(p, spec)
  const names = new Set<string>()
  for (const d of spec.departments) if (departments.has(d.name)) for (const part of d.partitions ?? []) names.add(part.name)
  for (const s of spec.sharedPartitions ?? []) {
    if (isAdmin(p) || (s.departments === 'all' ? departments.size > 0 : s.departments.some((d) => departments.has(d)))) names.add(s.name)
  }
  return names
}

/** The node groups behind the partitions `p` may see (node reliability). */
export function visibleNodeGroups(p: Principal, spec: ClusterSpec): Set<string> {
  if (isAdmin(p)) return new Set(spec.nodeGroups.map((g) => g.name))
  const partitions = visiblePartitions(p, spec)
  const groups = new Set<string>()
  for (const d of spec.departments) for (const part of d.partitions ?? []) if (partitions.has(part.name)) part.nodeGroups.forEach((g) => groups.add(g))
  for (const s of spec.sharedPartitions ?? []) if (partitions.has(s.name)) s.nodeGroups.forEach((g) => groups.add(g))
  return groups
}

/**
 * The one check of a non-admin's change to a spec. The revision service runs it on every
 * write (a whole department, a supervisor, a user, a whole spec), comparing the stored
 * spec with the new one, so no route can accept what another refuses. Cluster admins may
 * change anything; department admins only their departments' supervisors, description
 * and QoS choices, and their users, within the identity the cluster gives them.
 */
import { isDeepStrictEqual } from 'node:util'
import type { ClusterSpec, Department, Supervisor } from '../spec/schema.js'
import { defaultHome, supervisorAccount } from '../spec/model.js'
import { SpecInvalidError } from '../spec/problems.js'
import { unknownUser } from '../spec/validate.js'
import { ForbiddenError, canEditUser, canManageDepartment, canSeeUser, isAdmin, type Principal } from './policy.js'

/**
 * The top-level sections a department admin may change (within the rules below); every
 * other section, present or added later (login nodes, sessions, HyperPod...), is a
 * cluster admin's.
 */
const TENANT_SECTIONS: ReadonlySet<string> = new Set(['departments', 'users'])

/** Fields of a department that only a cluster admin may change. */
const ADMIN_ONLY_DEPARTMENT_FIELDS = ['name', 'fairshare', 'partitions', 'allowedQos', 'organization', 'gid'] as const

/** Equal values, whatever the order of object keys (PostgreSQL's JSONB does not keep it). */
const same = (a: unknown, b: unknown): boolean => isDeepStrictEqual(a, b)

function byName<T extends { name: string }>(items: readonly T[] | undefined): Map<string, T> {
  return new Map((items ?? []).map((item) => [item.name, item]))
}

/**
 * Throws unless `p` may turn `before` into `after`: `ForbiddenError` (403, with the path
 * of the field) for a change outside its scope, `SpecInvalidError` (422) for a reference
 * to a user it cannot see, worded exactly as for a user that does not exist.
 * `pendingUids` names the users whose uid the service allocates (the caller chose none).
 */
export function checkSpecChange(p: Principal, before: ClusterSpec | undefined, after: ClusterSpec, pendingUids: ReadonlySet<string> = new Set()): void {
  if (isAdmin(p)) return
  if (p.role !== 'department-admin') throw new ForbiddenError('researchers cannot change the spec')
  if (!before) throw new ForbiddenError('only cluster admins may store the first spec of a cluster')
  const sections = new Set([...Object.keys(before), ...Object.keys(after)])
  for (const section of sections) {
    if (TENANT_SECTIONS.has(section)) continue
    const key = section as keyof ClusterSpec
    if (!same(before[key], after[key])) throw new ForbiddenError(`only cluster admins may change ${section}`, `/${section}`)
  }
  checkDepartments(p, before, after)
  checkUsers(p, before, after, pendingUids)
}

function checkDepartments(p: Principal, spec: ClusterSpec, after: ClusterSpec): void {
  const old = byName(spec.departments)
  if (old.size !== after.departments.length || after.departments.some((d) => !old.has(d.name))) {
    throw new ForbiddenError('only cluster admins may create or delete departments', '/departments')
  }
  after.departments.forEach((d, i) => {
    const was = old.get(d.name) as Department
    if (same(was, d)) return
    const path = `/departments/${i}`
    if (!canManageDepartment(p, d.name)) throw new ForbiddenError(`department "${d.name}" is outside this token's scope`, path)
    checkDepartmentFields(was, d, path)
    checkSupervisors(p, spec, was, d, after, path)
  })
}

/** Department admins manage the description and choose `qos`/`defaultQos` among the `allowedQos` an admin set. */
function checkDepartmentFields(before: Department, after: Department, path: string): void {
  for (const field of ADMIN_ONLY_DEPARTMENT_FIELDS) {
    if (!same(before[field], after[field])) throw new ForbiddenError(`only cluster admins may change a department's ${field}`, `${path}/${field}`)
  }
  const allowed = new Set(before.allowedQos ?? [])
  if (same(before.qos, after.qos) && before.defaultQos === after.defaultQos) return
  const outside = [...after.qos, ...(after.defaultQos ? [after.defaultQos] : [])].filter((q) => !allowed.has(q))
  if (outside.length > 0) {
    throw new ForbiddenError(`QoS ${JSON.stringify([...new Set(outside)])} is not among the QoS the cluster admin allowed for "${after.name}" (${JSON.stringify([...allowed])})`, `${path}/qos`)
  }
}

/**
 * A new or changed supervisor keeps the default account `<department>-<supervisor>` (or
 * the one an admin gave it) and lists only users the token can see in the stored spec:
 * no tenant pulls another's user, or an account it does not own, under its department.
 */
function checkSupervisors(p: Principal, spec: ClusterSpec, before: Department, after: Department, next: ClusterSpec, path: string): void {
  const old = byName(before.supervisors)
  const users = new Set(next.users.map((u) => u.name))
  ;(after.supervisors ?? []).forEach((s, j) => {
    const was: Supervisor | undefined = old.get(s.name)
    if (was && same(was, s)) return
    const at = `${path}/supervisors/${j}`
    const account = supervisorAccount(after, s)
    if (account !== supervisorAccount(after, { name: s.name }) && account !== (was && supervisorAccount(before, was))) {
      throw new ForbiddenError(`only cluster admins may give a supervisor an account other than "${after.name}-${s.name}"`, `${at}/account`)
    }
    const had = new Set(was?.users ?? [])
    s.users.forEach((u, k) => {
      if (had.has(u) || (users.has(u) && canSeeUser(p, spec, u))) return
      throw new SpecInvalidError([{ path: `${at}/users/${k}`, message: unknownUser(u), severity: 'error' }], 'semantic')
    })
  })
}

/**
 * Department admins create and change users within the identity the cluster gives them:
 * a uid from the allocator, the home under the cluster's home root, the gid of one of
 * their departments (or the user's own group); extra QoS only from an admin.
 */
function checkUsers(p: Principal, spec: ClusterSpec, after: ClusterSpec, pendingUids: ReadonlySet<string>): void {
  const old = byName(spec.users)
  const kept = new Set(after.users.map((u) => u.name))
  for (const u of spec.users) {
    if (!kept.has(u.name) && !canEditUser(p, spec, u.name)) throw new ForbiddenError(`user "${u.name}" also belongs to a department outside this token's scope`, '/users')
  }
  const departmentGids = new Set(spec.departments.filter((d) => d.gid !== undefined && canManageDepartment(p, d.name)).map((d) => d.gid))
  after.users.forEach((u, i) => {
    const was = old.get(u.name)
    if (was && same(was, u)) return
    const path = `/users/${i}`
    if (was && !canEditUser(p, spec, u.name)) throw new ForbiddenError(`user "${u.name}" also belongs to a department outside this token's scope`, path)
    if (!pendingUids.has(u.name) && u.uid !== was?.uid) {
      throw new ForbiddenError(was ? 'only cluster admins may change a uid' : 'only cluster admins may choose a uid: leave it out and one is allocated', `${path}/uid`)
    }
    if (u.gid !== undefined && u.gid !== was?.gid && !departmentGids.has(u.gid)) {
      const choices = [...departmentGids]
      throw new ForbiddenError(`gid ${u.gid} is not the group of a department of this token${choices.length ? ` (${choices.join(', ')})` : ''}: leave it out, or ask a cluster admin`, `${path}/gid`)
    }
    const home = defaultHome(after, u.name)
    if (u.home !== undefined && u.home !== was?.home && u.home !== home) {
      throw new ForbiddenError(`only cluster admins may choose a home directory: leave it out and it is ${home}`, `${path}/home`)
    }
    if (u.qos && !same(u.qos, was?.qos)) throw new ForbiddenError('only cluster admins may grant a user extra QoS', `${path}/qos`)
    // A directory id decides whose uid a user keeps across renames: only a sync (an admin) sets it.
    for (const field of ['source', 'externalId', 'disabled'] as const) {
      if (u[field] !== was?.[field]) throw new ForbiddenError(`only cluster admins (and identity sync) may set ${field}`, `${path}/${field}`)
    }
  })
}

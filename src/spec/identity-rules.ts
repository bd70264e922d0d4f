/**
 * Semantic rules of the optional `identity` section and of the users it brings: the
 * source's settings are present, the uid range is ordered and clear of the reserved ids,
 * every mapped group names a department and one of its supervisors, Session Manager's
 * default user is not root, and synced users carry a source and an id (unique per source)
 * and, once disabled, no association. Reads the raw value defensively, like validate.ts.
 */
import type { ClusterSpec } from './schema.js'
import type { Problems } from './problems.js'

function list<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? value : []
}

/** Ids the allocator never hands out (systemd's dynamic users, nobody, -1 in 16 bits). */
const RESERVED_RANGES: ReadonlyArray<readonly [number, number]> = [[61_184, 65_519], [65_534, 65_535]]

/** The rules; called by validateSpec. */
export function identityRules(spec: ClusterSpec, problems: Problems): void {
  const identity = spec.identity
  if (identity && typeof identity === 'object') sectionRules(spec, problems)
  syncedUserRules(spec, problems)
}

function sectionRules(spec: ClusterSpec, problems: Problems): void {
  const identity = spec.identity!
  if (identity.source === 'identity-center' && !identity.identityCenter) problems.error('/identity/identityCenter', 'source is identity-center: give identityCenter.identityStoreId and identityCenter.region')
  if (identity.source === 'ldap' && !identity.ldap) problems.error('/identity/ldap', 'source is ldap: give ldap.url and ldap.baseDn')
  if (identity.ldap?.bindDn && !identity.ldap.passwordFile) problems.error('/identity/ldap/passwordFile', 'bindDn is set: give passwordFile, the file holding its password')
  const range = identity.uidRange
  if (range && typeof range.from === 'number' && typeof range.to === 'number') {
    if (range.from > range.to) problems.error('/identity/uidRange', `from ${range.from} is above to ${range.to}`)
    for (const [key, id] of [['from', range.from], ['to', range.to]] as const) {
      const hit = RESERVED_RANGES.find(([a, b]) => id >= a && id <= b)
      if (hit) problems.error(`/identity/uidRange/${key}`, `${id} is in the reserved range ${hit[0]}-${hit[1]}: pick a uid outside it`)
    }
  }
  const departments = new Map(list(spec.departments).map((d) => [d?.name, new Set(list(d?.supervisors).map((s) => s?.name))]))
  const seen = new Map<string, number>()
  list(identity.groups).forEach((g, i) => {
    const path = `/identity/groups/${i}`
    if (!g || typeof g !== 'object') return
    const supervisors = departments.get(g.department)
    if (!supervisors) problems.error(`${path}/department`, `unknown department "${g.department}": a group maps to a department of the spec`)
    else if (!supervisors.has(g.supervisor)) problems.error(`${path}/supervisor`, `department "${g.department}" has no supervisor "${g.supervisor}": add it under the department's supervisors`)
    const key = `${g.group}\u0000${g.department}\u0000${g.supervisor}`
    const first = seen.get(key)
    if (first !== undefined) problems.error(path, `the same mapping as /identity/groups/${first}: list each group, department and supervisor once`)
    else seen.set(key, i)
  })
  const userNames = new Set(list(spec.users).map((u) => u?.name))
  list(identity.runAs?.iam).forEach((m, i) => {
    if (typeof m?.user === 'string' && !userNames.has(m.user)) problems.error(`/identity/runAs/iam/${i}/user`, `unknown user "${m.user}": the tag names a user listed under users`)
  })
  if (identity.runAs?.defaultUser === 'root') problems.error('/identity/runAs/defaultUser', 'Session Manager must not land anyone as root: name an unprivileged, locked account')
}

function syncedUserRules(spec: ClusterSpec, problems: Problems): void {
  const listed = new Set<string>()
  for (const d of list(spec.departments)) for (const s of list(d?.supervisors)) for (const u of list(s?.users)) listed.add(u)
  const ids = new Map<string, number>()
  list(spec.users).forEach((u, i) => {
    if (!u || typeof u !== 'object') return
    const path = `/users/${i}`
    if (u.source !== undefined && u.externalId === undefined) problems.error(`${path}/externalId`, `user "${u.name}" comes from ${u.source} but has no externalId: a synced user carries the source's id`)
    if (u.externalId !== undefined && u.source === undefined) problems.error(`${path}/source`, `user "${u.name}" has an externalId but no source: give source (identity-center or ldap)`)
    if (u.source !== undefined && u.externalId !== undefined) {
      const key = `${u.source}\u0000${u.externalId}`
      const first = ids.get(key)
      if (first !== undefined) problems.error(`${path}/externalId`, `externalId "${u.externalId}" is already the id of /users/${first}: one directory user is one POSIX user`)
      else ids.set(key, i)
    }
    if (u.disabled === true && listed.has(u.name)) problems.error(`${path}/disabled`, `user "${u.name}" is disabled but listed under a supervisor: remove them there, or enable them`)
  })
}

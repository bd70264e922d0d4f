/**
 * The pure mapping from a directory to the spec's users and supervisor memberships
 * (spec-format.md, `identity`). Users written by hand stay as written; synced users are
 * matched by `externalId`, so a rename keeps the POSIX account and uid; a user who left
 * every mapped group is handled by `identity.removed`. Names that break the allowlist, are
 * system accounts, or collide (with each other, a hand-written user or a user the spec
 * already holds) are refused with the user and the reason; a refused user the spec already
 * has stays as it was.
 */
import type { ClusterSpec, User } from '../spec/schema.js'
import type { Identity } from '../spec/identity-schema.js'
import { EMAIL_RE } from '../spec/names.js'
import { RESERVED_USERS } from '../spec/validate.js'
import { posixName } from './names.js'
import type { Directory } from './directory.js'
import type { DirectoryUser } from './source.js'
import { IdentitySourceError } from './source.js'

/** A user of the result; a new one has no uid yet (the store or the file's range gives it). */
export type SyncedUser = Omit<User, 'uid'> & { uid?: number }
/** The spec a sync proposes: new users lack a uid until one is allocated. */
export type SyncedSpec = Omit<ClusterSpec, 'users'> & { users: SyncedUser[] }

/** What a sync changes, for people to review. */
export interface SyncSummary {
  added: string[]
  changed: Array<{ user: string; changes: string[] }>
  disabled: string[]
  refused: Array<{ user: string; externalId: string; reason: string }>
  unchanged: number
}

export interface MappingResult {
  spec: SyncedSpec
  /** Names of the new users: they need a uid. */
  pending: string[]
  summary: SyncSummary
}

interface Candidate {
  user: DirectoryUser
  name: string
  memberships: Array<{ department: string; supervisor: string }>
  existing: User | undefined
}

/** Maps `directory` onto `spec` (which must have an `identity` section). Throws {@link IdentitySourceError} for a malformed source. */
export function mapDirectory(spec: ClusterSpec, directory: Directory): MappingResult {
  const identity = spec.identity
  if (!identity) throw new IdentitySourceError('the spec has no identity section: add one (spec-format.md, identity) before syncing')
  const kind = identity.source
  const synced = spec.users.filter((u) => u.source === kind && u.externalId !== undefined)
  const byExternalId = new Map(synced.map((u) => [u.externalId!, u]))
  const others = new Map(spec.users.filter((u) => !(u.source === kind && u.externalId !== undefined)).map((u) => [u.name, u]))

  const memberships = membershipsByUser(identity, directory)
  const refused: SyncSummary['refused'] = []
  const problems: string[] = []
  const candidates: Candidate[] = []
  for (const [id, list] of memberships) {
    const user = directory.users.get(id)!
    const result = posixName(user, identity.username)
    const label = user.userName ?? id
    if ('missing' in result) problems.push(`user ${id}: ${result.missing}`)
    else if ('refused' in result) refused.push({ user: label, externalId: id, reason: result.refused })
    else candidates.push({ user, name: result.name, memberships: list, existing: byExternalId.get(id) })
  }
  if (problems.length > 0) throw new IdentitySourceError(`the directory has ${problems.length} malformed user(s): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; ...' : ''}`, problems)

  const accepted = acceptNames(candidates, others, synced, refused)
  const keptRefused = new Set(refused.map((r) => r.externalId).filter((id) => byExternalId.has(id)))
  const removed = identity.removed ?? 'disable'
  const summary: SyncSummary = { added: [], changed: [], disabled: [], refused, unchanged: 0 }

  const current = membershipsInSpec(spec)
  const users: SyncedUser[] = []
  const inSupervisors = new Map<string, Array<{ department: string; supervisor: string }>>()
  for (const u of spec.users) {
    if (others.has(u.name) && !(u.source === kind && u.externalId !== undefined)) {
      users.push(u)
      continue
    }
    const now = accepted.get(u.externalId!)
    if (now) {
      const next = updated(u, now)
      const changes = changesOf(u, next)
      const was = (current.get(u.name) ?? []).join(' ')
      const will = now.memberships.map((m) => `${m.department}/${m.supervisor}`).sort().join(' ')
      if (was !== will) changes.push(`supervisors: ${was || 'none'} -> ${will}`)
      if (changes.length > 0) summary.changed.push({ user: next.name, changes })
      else summary.unchanged++
      users.push(next)
      inSupervisors.set(next.name, now.memberships)
    } else if (keptRefused.has(u.externalId!)) {
      users.push(u)
      summary.unchanged++
      // A refused user keeps its place: associations stay as they were.
      inSupervisors.set(u.name, (current.get(u.name) ?? []).map((key) => {
        const [department = '', supervisor = ''] = key.split('/')
        return { department, supervisor }
      }))
    } else if (removed === 'disable' && u.disabled !== true) {
      users.push({ ...u, disabled: true })
      summary.disabled.push(u.name)
    } else {
      users.push(u)
      summary.unchanged++
    }
  }
  const fresh = [...accepted.values()].filter((c) => !c.existing).sort((a, b) => a.name.localeCompare(b.name))
  for (const c of fresh) {
    users.push(newUser(kind, c))
    inSupervisors.set(c.name, c.memberships)
    summary.added.push(c.name)
  }
  const syncedNames = new Set(synced.map((u) => u.name))
  const bySupervisor = new Map<string, string[]>()
  for (const [name, list] of inSupervisors) {
    for (const m of list) {
      const key = `${m.department}/${m.supervisor}`
      const names = bySupervisor.get(key)
      if (names) names.push(name)
      else bySupervisor.set(key, [name])
    }
  }
  const departments = spec.departments.map((d) => ({
    ...d,
    ...(d.supervisors ? {
      supervisors: d.supervisors.map((s) => {
        const kept = s.users.filter((n) => !syncedNames.has(n))
        const keptSet = new Set(kept)
        const added = (bySupervisor.get(`${d.name}/${s.name}`) ?? []).filter((n) => !keptSet.has(n)).sort()
        return { ...s, users: [...kept, ...added] }
      }),
    } : {}),
  }))
  return { spec: { ...spec, departments, users }, pending: fresh.map((c) => c.name), summary }
}

/** Each member of a mapped group, with the (department, supervisor) pairs its groups give, in `identity.groups` order. */
function membershipsByUser(identity: Identity, directory: Directory): Map<string, Array<{ department: string; supervisor: string }>> {
  const out = new Map<string, Array<{ department: string; supervisor: string }>>()
  for (const m of identity.groups) {
    const group = directory.groups.get(m.group)
    if (!group) throw new IdentitySourceError(`the directory has no group "${m.group}"`)
    for (const id of directory.members.get(group.id) ?? []) {
      const list = out.get(id) ?? []
      if (!list.some((x) => x.department === m.department && x.supervisor === m.supervisor)) list.push({ department: m.department, supervisor: m.supervisor })
      out.set(id, list)
    }
  }
  return out
}

/**
 * The candidates whose names stand, by external id. A name that is a system account or a
 * hand-written user's is refused; of several candidates with one name, the one already
 * holding it keeps it and the others are refused (all of them when none holds it); a name
 * held by a synced user who is not a candidate any more (disabled) is refused too.
 */
function acceptNames(candidates: Candidate[], others: Map<string, User>, synced: User[], refused: SyncSummary['refused']): Map<string, Candidate> {
  const byName = new Map<string, Candidate[]>()
  for (const c of candidates) byName.set(c.name, [...(byName.get(c.name) ?? []), c])
  const candidateIds = new Set(candidates.map((c) => c.user.id))
  const heldBy = new Map(synced.filter((u) => !candidateIds.has(u.externalId!)).map((u) => [u.name, u]))
  const accepted = new Map<string, Candidate>()
  const refuse = (c: Candidate, reason: string): void => { refused.push({ user: c.user.userName ?? c.user.id, externalId: c.user.id, reason }) }
  for (const [name, group] of byName) {
    if (RESERVED_USERS.has(name)) {
      for (const c of group) refuse(c, `"${name}" is a system account`)
      continue
    }
    if (others.has(name)) {
      for (const c of group) refuse(c, `"${name}" is a user written by hand in the spec`)
      continue
    }
    const holder = heldBy.get(name)
    if (holder) {
      for (const c of group) refuse(c, `"${name}" is still held by ${holder.disabled ? 'disabled ' : ''}user ${holder.externalId}`)
      continue
    }
    const owner = group.find((c) => c.existing?.name === name)
    for (const c of group) {
      if (c === owner || group.length === 1) accepted.set(c.user.id, c)
      else refuse(c, `"${name}" is also the name of ${group.filter((o) => o !== c).map((o) => o.user.userName ?? o.user.id).join(', ')}${owner ? ', who has it already' : ''}`)
    }
  }
  return accepted
}

function emailOf(user: DirectoryUser): string | undefined {
  return user.email !== undefined && EMAIL_RE.test(user.email) ? user.email : undefined
}

function updated(u: User, c: Candidate): User {
  const { disabled: _disabled, email: _email, ...rest } = u
  const email = emailOf(c.user)
  const next: User = { ...rest, name: c.name, ...(email ? { email } : {}) }
  // A default account the new memberships no longer give would be refused by the rules.
  if (next.defaultAccount !== undefined && c.name !== u.name) delete next.defaultAccount
  return next
}

function newUser(kind: Identity['source'], c: Candidate): SyncedUser {
  const email = emailOf(c.user)
  return { name: c.name, source: kind, externalId: c.user.id, ...(email ? { email } : {}) }
}

function changesOf(before: User, after: User): string[] {
  const out: string[] = []
  if (before.name !== after.name) out.push(`renamed from ${before.name}`)
  if (before.disabled === true) out.push('enabled again')
  if (before.email !== after.email) out.push('email')
  return out
}

/** `department/supervisor` keys of every user listed under a supervisor, sorted. */
function membershipsInSpec(spec: ClusterSpec): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const d of spec.departments) {
    for (const s of d.supervisors ?? []) {
      for (const u of s.users) {
        const list = out.get(u)
        if (list) list.push(`${d.name}/${s.name}`)
        else out.set(u, [`${d.name}/${s.name}`])
      }
    }
  }
  for (const list of out.values()) list.sort()
  return out
}

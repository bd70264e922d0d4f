/**
 * POSIX users on the controller: a Slurm user's jobs run as a real uid, so the user (and
 * its primary group) must exist before its association is useful. The plan creates what
 * is missing with `groupadd`/`useradd` and never changes an existing user: a uid or a
 * name that already belongs to someone else is a clash, and a clash stops the plan.
 */
import { runAll, type ExecResult, type Executor } from '../adapters/executor.js'
import type { PosixEntry, PosixState, PosixUser } from './model.js'
import { chunks, type Operation, type PlanWarning } from './operations.js'
import type { PlanProblem } from './errors.js'
import { LiveStateError } from './errors.js'

/** Parses `getent passwd` (name:x:uid:gid:gecos:home:shell) or `getent group` (name:x:gid:members) lines. */
export function parseGetent(text: string, kind: 'passwd' | 'group'): PosixEntry[] {
  const entries: PosixEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.split(':')
    if (f.length < (kind === 'passwd' ? 7 : 4) || !f[0]) continue
    const entry: PosixEntry = { name: f[0], id: Number(f[2]) }
    if (kind === 'passwd') {
      entry.gid = Number(f[3])
      entry.home = f[5] ?? ''
    }
    entries.push(entry)
  }
  return entries
}

/** Indexes getent entries by name and id. */
export function posixState(passwd: PosixEntry[], groups: PosixEntry[]): PosixState {
  return {
    usersByName: new Map(passwd.map((e) => [e.name, e])),
    usersById: new Map(passwd.map((e) => [e.id, e])),
    groupsByName: new Map(groups.map((e) => [e.name, e])),
    groupsById: new Map(groups.map((e) => [e.id, e])),
  }
}

/** One getent lookup: which database, and its argv. */
export interface GetentLookup {
  db: 'passwd' | 'group'
  argv: string[]
}

/**
 * The lookups of only the given keys (`getent passwd alice 200001 ...`): enumerating a
 * directory is slow or disabled with SSSD/LDAP.
 */
export function getentLookups(db: 'passwd' | 'group', keys: readonly string[]): GetentLookup[] {
  return chunks([...new Set(keys)], 500).map((batch) => ({ db, argv: ['getent', db, ...batch] }))
}

/** The lookups of the spec's user names, uids, group names and gids. */
export function posixLookups(users: readonly PosixUser[]): GetentLookup[] {
  return [
    ...getentLookups('passwd', users.flatMap((u) => [u.name, String(u.uid)])),
    ...getentLookups('group', users.flatMap((u) => [u.groupName, String(u.gid)])),
  ]
}

/** The entries a lookup found. getent exits 2 when some key is unknown, which is the normal case here. */
function entriesOf(target: string, { db }: GetentLookup, r: ExecResult): PosixEntry[] {
  if (r.code !== 0 && r.code !== 2) throw new LiveStateError(`getent ${db} on ${target} exited ${r.code}: ${r.stderr.trim()}`)
  return parseGetent(r.stdout, db)
}

/** Looks up only the given keys of one database, the lookups together. */
export async function getentLookup(executor: Executor, db: 'passwd' | 'group', keys: readonly string[]): Promise<PosixEntry[]> {
  const lookups = getentLookups(db, keys)
  const results = await runAll(executor, lookups.map((l) => l.argv))
  return lookups.flatMap((l, i) => entriesOf(executor.target, l, results[i] as ExecResult))
}

/** The POSIX state from the lookups' results. */
export function posixStateOf(target: string, lookups: readonly GetentLookup[], results: readonly ExecResult[]): PosixState {
  const found = { passwd: [] as PosixEntry[], group: [] as PosixEntry[] }
  for (const [i, lookup] of lookups.entries()) found[lookup.db].push(...entriesOf(target, lookup, results[i] as ExecResult))
  return posixState(found.passwd, found.group)
}

/** The POSIX state of the spec's user names, uids, group names and gids, read together. */
export async function readPosixState(executor: Executor, users: readonly PosixUser[]): Promise<PosixState> {
  const lookups = posixLookups(users)
  return posixStateOf(executor.target, lookups, await runAll(executor, lookups.map((l) => l.argv)))
}

/** The POSIX part of a plan: operations, clashes (which stop the plan) and warnings. */
export interface PosixPlan {
  operations: Operation[]
  problems: PlanProblem[]
  warnings: PlanWarning[]
}

/** Plans the groups and users to create; reports every clash at once. */
export function planPosix(users: readonly PosixUser[], live: PosixState): PosixPlan {
  const plan: PosixPlan = { operations: [], problems: [], warnings: [] }
  const groupsMade = new Set<number>()
  for (const u of users) {
    const byName = live.usersByName.get(u.name)
    const byId = live.usersById.get(u.uid)
    if (byName) {
      if (byName.id !== u.uid) plan.problems.push({ subject: `user ${u.name}`, message: `exists with uid ${byName.id}, the spec says ${u.uid}; HPC Steward never changes a uid: fix the spec or the user by hand` })
      else if (byName.gid !== u.gid || byName.home !== u.home) {
        plan.warnings.push({ subject: `user ${u.name}`, message: `exists with gid ${byName.gid ?? '?'} and home ${byName.home ?? '?'}; the spec says gid ${u.gid} and home ${u.home}; left as it is` })
      }
      continue
    }
    if (byId) {
      plan.problems.push({ subject: `uid ${u.uid}`, message: `belongs to "${byId.name}", the spec gives it to "${u.name}"` })
      continue
    }
    const group = live.groupsById.get(u.gid)
    if (group) {
      if (u.ownGroup && group.name !== u.groupName) plan.problems.push({ subject: `gid ${u.gid}`, message: `belongs to group "${group.name}", the spec needs it for the per-user group "${u.groupName}"; give "${u.name}" an explicit gid` })
    } else if (!groupsMade.has(u.gid)) {
      const named = live.groupsByName.get(u.groupName)
      if (named) {
        plan.problems.push({ subject: `group ${u.groupName}`, message: `exists with gid ${named.id}, the spec needs gid ${u.gid}` })
        continue
      }
      groupsMade.add(u.gid)
      plan.operations.push({
        phase: 'posix', action: 'add', kind: 'group', targets: [u.groupName],
        argv: ['groupadd', '--gid', String(u.gid), u.groupName],
        summary: `create group ${u.groupName} (gid ${u.gid})`,
      })
    }
    plan.operations.push({
      phase: 'posix', action: 'add', kind: 'posix-user', targets: [u.name],
      argv: ['useradd', '--uid', String(u.uid), '--gid', String(u.gid), '--home-dir', u.home, '--create-home', '--shell', '/bin/bash', u.name],
      summary: `create POSIX user ${u.name} (uid ${u.uid}, gid ${u.gid}, home ${u.home})`,
    })
  }
  return plan
}

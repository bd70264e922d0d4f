/**
 * Reads what a sync needs from a directory: the mapped groups, their members and those
 * members' users, incrementally. A {@link MembershipCache} keeps each group's member list
 * and the users last read; a group whose members did not change costs one membership
 * listing, and only users not in the cache are read again (by id when few, else by
 * listing every user, whichever takes fewer requests).
 */
import type { DirectoryGroup, DirectoryUser, IdentitySource } from './source.js'
import { IdentitySourceError } from './source.js'
import { fanOut } from './fan-out.js'

/** Groups whose members are listed side by side (a source's own limiter paces the requests). */
const MEMBER_FAN_OUT = 4

/** Users kept from earlier syncs, and each group's member ids; one per cluster and source. */
export interface MembershipCache {
  members: Map<string, readonly string[]>
  users: Map<string, DirectoryUser>
  /** When the users were last all read (ms since the epoch); a full read is done again after `maxUserAgeMs`. */
  usersReadAt: number
}

/** A fresh, empty cache. */
export function emptyCache(): MembershipCache {
  return { members: new Map(), users: new Map(), usersReadAt: 0 }
}

/** What the mapping reads: the mapped groups by name, members by group id, users by id. */
export interface Directory {
  groups: Map<string, DirectoryGroup>
  members: Map<string, readonly string[]>
  users: Map<string, DirectoryUser>
}

export interface ReadOptions {
  cache?: MembershipCache
  /** Up to this many uncached users are described one by one; more, and every user is listed. */
  describeLimit?: number
  /** Cached users older than this are read again (default: a day), so renames are seen. */
  maxUserAgeMs?: number
  now?: () => number
}

/**
 * Reads the groups named in `wanted` (a missing one is an error: its users would all be
 * disabled), their members and the users among them. Throws {@link IdentitySourceError}.
 */
export async function readDirectory(source: IdentitySource, wanted: readonly string[], options: ReadOptions = {}): Promise<Directory> {
  const cache = options.cache ?? emptyCache()
  const now = options.now ?? Date.now
  const groups = new Map<string, DirectoryGroup>()
  const names = new Set(wanted)
  for (const g of await source.listGroups()) {
    if (!names.has(g.name)) continue
    if (groups.has(g.name)) throw new IdentitySourceError(`the directory has two groups named "${g.name}" (${groups.get(g.name)!.id} and ${g.id}): rename one, the mapping names groups by name`)
    groups.set(g.name, g)
  }
  const missing = wanted.filter((n) => !groups.has(n))
  if (missing.length > 0) {
    throw new IdentitySourceError(`the directory has no group ${missing.map((n) => `"${n}"`).join(', ')}: fix identity.groups or the directory (a sync never disables users because a group vanished)`, missing.map((n) => `no group "${n}"`))
  }
  const members = new Map<string, readonly string[]>()
  let changed = false
  await fanOut([...groups.values()], MEMBER_FAN_OUT, async (g) => {
    const ids = await source.listMembers(g)
    const before = cache.members.get(g.id)
    if (!before || before.length !== ids.length || before.some((id, i) => id !== ids[i])) changed = true
    members.set(g.id, ids)
  })
  const needed = new Set([...members.values()].flat())
  const stale = now() - cache.usersReadAt > (options.maxUserAgeMs ?? 86_400_000)
  const uncached = stale ? [...needed] : [...needed].filter((id) => !cache.users.has(id))
  const users = new Map<string, DirectoryUser>()
  if (uncached.length > (options.describeLimit ?? 100)) {
    for (const u of await source.listUsers()) if (needed.has(u.id)) users.set(u.id, u)
  } else {
    for (const u of await source.describeUsers(uncached)) users.set(u.id, u)
  }
  const readAt = stale ? now() : cache.usersReadAt
  if (!stale) for (const id of needed) if (!users.has(id) && cache.users.has(id)) users.set(id, cache.users.get(id)!)
  const unknown = [...needed].filter((id) => !users.has(id))
  if (unknown.length > 0) throw new IdentitySourceError(`${unknown.length} group member(s) are not users of the directory: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', ...' : ''}`)
  // The cache changes only once everything was read: a failed read leaves it as it was.
  if (changed || uncached.length > 0) {
    cache.members = members
    cache.users = users
    cache.usersReadAt = readAt
  }
  return { groups, members, users }
}

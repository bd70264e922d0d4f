/**
 * IAM Identity Center's Identity Store for the emulator front (test code). moto 5.2.1 has an
 * identitystore backend, but it lacks `UpdateUser` (a rename), does not refuse `MaxResults`
 * above 100, and rebuilds every listing from all items on each page (a 50,000-user
 * directory would page in quadratic time). So the front answers the whole service: groups,
 * users and memberships in memory, `ListGroups`, `ListUsers`, `ListGroupMemberships`
 * (100 a page at most, as AWS documents), `DescribeUser`, `DescribeGroup`, `GetGroupId`,
 * `CreateUser`, `UpdateUser`, `DeleteUser`, `CreateGroup`, `CreateGroupMembership`,
 * `DeleteGroupMembership`, under the store's quota of 20 requests per second across its
 * APIs. Tests seed it directly (no quota) or through the SDK.
 */
import { randomUUID } from 'node:crypto'
import { AwsFault, type FrontService } from './protocol.js'

/** AWS's documented maximum of `MaxResults` in the Identity Store's listings. */
export const IDENTITY_STORE_PAGE_MAX = 100
/** The Identity Store's quota: requests per second across its APIs. */
export const IDENTITY_STORE_QUOTA = 20

export interface SeedUser {
  UserName?: string
  DisplayName?: string
  Name?: { GivenName?: string; FamilyName?: string }
  Emails?: Array<{ Value: string; Primary?: boolean }>
  [attribute: string]: unknown
}

export interface IdentityStoreEmulator {
  service: FrontService
  /** Adds a user (no quota); returns its UserId. */
  addUser(storeId: string, user: SeedUser): string
  /** Adds a group (no quota); returns its GroupId. */
  addGroup(storeId: string, displayName: string): string
  /** Adds a membership (no quota). */
  addMember(storeId: string, groupId: string, userId: string): void
  removeMember(storeId: string, groupId: string, userId: string): void
  /** Changes a user's attributes (a rename when UserName changes). */
  updateUser(storeId: string, userId: string, patch: Partial<SeedUser>): void
  /** The next `count` requests of `operation` answer `type` (a throttle by default), as a failing page would. */
  failNext(operation: string, count: number, type?: string): void
  clear(): void
}

interface Store {
  users: Map<string, SeedUser & { UserId: string }>
  groups: Map<string, { GroupId: string; DisplayName: string }>
  /** MembershipId -> membership; by group for listing. */
  memberships: Map<string, { MembershipId: string; GroupId: string; UserId: string }>
  byGroup: Map<string, string[]>
  /** UserId by UserName: names are unique in a store. */
  userNames: Map<string, string>
}

const ID_RE = /^d-[0-9a-z]{10}$/

export function createIdentityStore(): IdentityStoreEmulator {
  const stores = new Map<string, Store>()

  function store(id: unknown): Store {
    if (typeof id !== 'string' || !ID_RE.test(id)) throw new AwsFault('ValidationException', `1 validation error detected: Value '${String(id)}' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: d-[0-9a-f]{10}$`)
    let s = stores.get(id)
    if (!s) {
      s = { users: new Map(), groups: new Map(), memberships: new Map(), byGroup: new Map(), userNames: new Map() }
      stores.set(id, s)
    }
    return s
  }

  /** One page of `items` after the token (an index), at most MaxResults (<= 100). */
  function page<T>(items: readonly T[], body: Record<string, unknown>): { items: T[]; NextToken?: string } {
    const max = body.MaxResults ?? IDENTITY_STORE_PAGE_MAX
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > IDENTITY_STORE_PAGE_MAX) {
      throw new AwsFault('ValidationException', `1 validation error detected: Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${IDENTITY_STORE_PAGE_MAX}`)
    }
    const start = body.NextToken === undefined ? 0 : Number(Buffer.from(String(body.NextToken), 'base64url').toString())
    if (!Number.isInteger(start) || start < 0) throw new AwsFault('ValidationException', 'invalid NextToken')
    const slice = items.slice(start, start + max)
    const end = start + slice.length
    return { items: slice, ...(end < items.length ? { NextToken: Buffer.from(String(end)).toString('base64url') } : {}) }
  }

  function user(s: Store, id: unknown): SeedUser & { UserId: string } {
    const u = typeof id === 'string' ? s.users.get(id) : undefined
    if (!u) throw new AwsFault('ResourceNotFoundException', `USER not found: ${String(id)}`)
    return u
  }

  function addUser(storeId: string, seed: SeedUser): string {
    const s = store(storeId)
    if (typeof seed.UserName === 'string' && s.userNames.has(seed.UserName)) throw new AwsFault('ConflictException', `Duplicate UserName ${seed.UserName}`)
    const UserId = randomUUID()
    s.users.set(UserId, { ...seed, UserId })
    if (typeof seed.UserName === 'string') s.userNames.set(seed.UserName, UserId)
    return UserId
  }
  function addGroup(storeId: string, DisplayName: string): string {
    const s = store(storeId)
    if ([...s.groups.values()].some((g) => g.DisplayName === DisplayName)) throw new AwsFault('ConflictException', `Duplicate GroupDisplayName ${DisplayName}`)
    const GroupId = randomUUID()
    s.groups.set(GroupId, { GroupId, DisplayName })
    s.byGroup.set(GroupId, [])
    return GroupId
  }
  function addMember(storeId: string, groupId: string, userId: string): string {
    const s = store(storeId)
    if (!s.groups.has(groupId)) throw new AwsFault('ResourceNotFoundException', `GROUP not found: ${groupId}`)
    user(s, userId)
    const MembershipId = randomUUID()
    s.memberships.set(MembershipId, { MembershipId, GroupId: groupId, UserId: userId })
    s.byGroup.get(groupId)!.push(MembershipId)
    return MembershipId
  }
  function removeMembership(s: Store, membershipId: string): void {
    const m = s.memberships.get(membershipId)
    if (!m) return
    s.memberships.delete(membershipId)
    s.byGroup.set(m.GroupId, (s.byGroup.get(m.GroupId) ?? []).filter((x) => x !== membershipId))
  }

  const service: FrontService = {
    targetPrefix: 'AWSIdentityStore',
    requestsPerSecond: IDENTITY_STORE_QUOTA,
    operations: {
      ListGroups(body) {
        const s = store(body.IdentityStoreId)
        const { items, NextToken } = page([...s.groups.values()], body)
        return { Groups: items.map((g) => ({ ...g, IdentityStoreId: body.IdentityStoreId })), NextToken }
      },
      ListUsers(body) {
        const s = store(body.IdentityStoreId)
        const { items, NextToken } = page([...s.users.values()], body)
        return { Users: items.map((u) => ({ ...u, IdentityStoreId: body.IdentityStoreId })), NextToken }
      },
      ListGroupMemberships(body) {
        const s = store(body.IdentityStoreId)
        const ids = typeof body.GroupId === 'string' ? s.byGroup.get(body.GroupId) : undefined
        if (!ids) throw new AwsFault('ResourceNotFoundException', `GROUP not found: ${String(body.GroupId)}`)
        const { items, NextToken } = page(ids, body)
        return {
          GroupMemberships: items.map((id) => s.memberships.get(id)!).map((m) => ({ IdentityStoreId: body.IdentityStoreId, MembershipId: m.MembershipId, GroupId: m.GroupId, MemberId: { UserId: m.UserId } })),
          NextToken,
        }
      },
      DescribeUser(body) {
        return { ...user(store(body.IdentityStoreId), body.UserId), IdentityStoreId: body.IdentityStoreId }
      },
      DescribeGroup(body) {
        const g = typeof body.GroupId === 'string' ? store(body.IdentityStoreId).groups.get(body.GroupId) : undefined
        if (!g) throw new AwsFault('ResourceNotFoundException', `GROUP not found: ${String(body.GroupId)}`)
        return { ...g, IdentityStoreId: body.IdentityStoreId }
      },
      GetGroupId(body) {
        const path = (body.AlternateIdentifier as { UniqueAttribute?: { AttributePath?: unknown; AttributeValue?: unknown } } | undefined)?.UniqueAttribute
        if (path?.AttributePath !== 'displayName') throw new AwsFault('ValidationException', 'only UniqueAttribute displayName is supported')
        const g = [...store(body.IdentityStoreId).groups.values()].find((x) => x.DisplayName === path.AttributeValue)
        if (!g) throw new AwsFault('ResourceNotFoundException', `GROUP not found: ${String(path.AttributeValue)}`)
        return { GroupId: g.GroupId, IdentityStoreId: body.IdentityStoreId }
      },
      CreateUser(body) {
        const { IdentityStoreId, ...seed } = body
        return { UserId: addUser(String(IdentityStoreId), seed as SeedUser), IdentityStoreId }
      },
      UpdateUser(body) {
        const s = store(body.IdentityStoreId)
        const u = user(s, body.UserId)
        if (typeof u.UserName === 'string') s.userNames.delete(u.UserName)
        for (const op of Array.isArray(body.Operations) ? body.Operations as Array<{ AttributePath?: unknown; AttributeValue?: unknown }> : []) {
          if (typeof op.AttributePath !== 'string') throw new AwsFault('ValidationException', 'AttributePath is required')
          const [head = '', sub] = op.AttributePath.split('.')
          const key = head.charAt(0).toUpperCase() + head.slice(1)
          if (sub) (u as Record<string, Record<string, unknown>>)[key] = { ...((u as Record<string, Record<string, unknown>>)[key] ?? {}), [sub.charAt(0).toUpperCase() + sub.slice(1)]: op.AttributeValue }
          else (u as Record<string, unknown>)[key] = op.AttributeValue
        }
        if (typeof u.UserName === 'string') s.userNames.set(u.UserName, u.UserId)
        return {}
      },
      DeleteUser(body) {
        const s = store(body.IdentityStoreId)
        const u = user(s, body.UserId)
        for (const m of [...s.memberships.values()].filter((x) => x.UserId === u.UserId)) removeMembership(s, m.MembershipId)
        s.users.delete(u.UserId)
        if (typeof u.UserName === 'string') s.userNames.delete(u.UserName)
        return {}
      },
      CreateGroup(body) {
        return { GroupId: addGroup(String(body.IdentityStoreId), String(body.DisplayName ?? '')), IdentityStoreId: body.IdentityStoreId }
      },
      CreateGroupMembership(body) {
        const userId = (body.MemberId as { UserId?: unknown } | undefined)?.UserId
        return { MembershipId: addMember(String(body.IdentityStoreId), String(body.GroupId), String(userId)), IdentityStoreId: body.IdentityStoreId }
      },
      DeleteGroupMembership(body) {
        removeMembership(store(body.IdentityStoreId), String(body.MembershipId))
        return {}
      },
    },
  }

  const faults = new Map<string, { count: number; type: string }>()
  for (const [name, op] of Object.entries(service.operations)) {
    service.operations[name] = (body) => {
      const fault = faults.get(name)
      if (fault && fault.count > 0) {
        fault.count--
        throw new AwsFault(fault.type, fault.type === 'ThrottlingException' ? 'Rate exceeded' : 'injected fault', fault.type === 'ThrottlingException' ? 400 : 500)
      }
      return op(body)
    }
  }

  return {
    service,
    failNext: (operation, count, type = 'ThrottlingException') => { faults.set(operation, { count, type }) },
    addUser,
    addGroup,
    addMember: (storeId, groupId, userId) => { addMember(storeId, groupId, userId) },
    removeMember(storeId, groupId, userId) {
      const s = store(storeId)
      for (const m of [...s.memberships.values()].filter((x) => x.GroupId === groupId && x.UserId === userId)) removeMembership(s, m.MembershipId)
    },
    updateUser(storeId, userId, patch) {
      const s = store(storeId)
      const u = user(s, userId)
      if (typeof u.UserName === 'string') s.userNames.delete(u.UserName)
      Object.assign(u, patch)
      if (typeof u.UserName === 'string') s.userNames.set(u.UserName, u.UserId)
    },
    clear: () => {
      stores.clear()
      faults.clear()
    },
  }
}

/**
 * IAM Identity Center's Identity Store as an {@link IdentitySource}: `ListGroups`,
 * `ListGroupMemberships`, `ListUsers` and `DescribeUser`, 100 a page, every request through
 * ONE limiter at the store's quota (20 requests per second across its APIs) with retries on
 * `ThrottlingException`. A page that still fails throws {@link IdentitySourceError}, so
 * the sync writes nothing.
 */
import {
  DescribeUserCommand, IdentitystoreClient, ListGroupMembershipsCommand, ListGroupsCommand, ListUsersCommand,
  type DescribeUserCommandOutput, type User,
} from '@aws-sdk/client-identitystore'
import type { DirectoryGroup, DirectoryUser, IdentitySource } from '../../identity/source.js'
import { IdentitySourceError, IdentitySourceUnavailableError } from '../../identity/source.js'
import { fanOut } from '../../identity/fan-out.js'
import { createRateLimiter, RequestFailedError, type LimiterOptions, type RateLimiter } from './rate-limiter.js'

/** The Identity Store returns at most this many items a page. */
export const IDENTITY_STORE_PAGE = 100
/** The Identity Store's quota: requests per second across its APIs. */
export const IDENTITY_STORE_RPS = 20
/** More pages than this in one listing is a runaway, not a directory (10 million items). */
const MAX_PAGES = 100_000
/** Membership listings run side by side up to this many (the limiter still spaces them). */
const FAN_OUT = 4

/** A client for `region`; the SDK honours AWS_ENDPOINT_URL (the emulator in tests). Retries are the limiter's. */
export function createIdentityStoreClient(region?: string): IdentitystoreClient {
  return new IdentitystoreClient({ ...(region ? { region } : {}), maxAttempts: 1 })
}

export interface IdentityStoreSourceOptions {
  identityStoreId: string
  client?: IdentitystoreClient
  limiter?: RateLimiter | Partial<LimiterOptions>
}

/** Flattens an Identity Store user: top-level text and `Name.*`, for `attribute:<name>`. */
export function toDirectoryUser(u: User | DescribeUserCommandOutput): DirectoryUser {
  const attributes: Record<string, string> = {}
  for (const [key, value] of Object.entries(u)) {
    if (typeof value === 'string') attributes[key] = value
    else if (key === 'Name' && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (typeof v === 'string') attributes[`Name.${k}`] = v
    }
  }
  const emails = u.Emails ?? []
  const email = (emails.find((e) => e.Primary) ?? emails[0])?.Value
  if (email) attributes.Email = email
  return { id: u.UserId ?? '', userName: u.UserName, email, attributes }
}

export function createIdentityStoreSource(options: IdentityStoreSourceOptions): IdentitySource & { limiter: RateLimiter } {
  const client = options.client ?? createIdentityStoreClient()
  const limiter = options.limiter && 'run' in options.limiter
    ? options.limiter
    : createRateLimiter({ requestsPerSecond: IDENTITY_STORE_RPS, ...(options.limiter ?? {}) })
  const IdentityStoreId = options.identityStoreId

  async function send<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await limiter.run(what, request)
    } catch (err) {
      if (err instanceof RequestFailedError) throw new IdentitySourceUnavailableError(`Identity Store ${IdentityStoreId}: ${err.message}; nothing was written`, [err.message], { cause: err })
      throw err
    }
  }

  async function pages<T>(what: string, page: (token: string | undefined) => Promise<{ items: T[]; next?: string | undefined }>): Promise<T[]> {
    const out: T[] = []
    let token: string | undefined
    for (let n = 1; n <= MAX_PAGES; n++) {
      const res = await send(`${what} page ${n}`, () => page(token))
      out.push(...res.items)
      token = res.next
      if (!token) return out
    }
    throw new IdentitySourceError(`${what} returned more than ${MAX_PAGES} pages`)
  }

  return {
    kind: 'identity-center',
    limiter,
    listGroups: () => pages('ListGroups', async (NextToken) => {
      const r = await client.send(new ListGroupsCommand({ IdentityStoreId, MaxResults: IDENTITY_STORE_PAGE, NextToken }))
      return { items: (r.Groups ?? []).map((g) => ({ id: g.GroupId ?? '', name: g.DisplayName ?? '' })), next: r.NextToken }
    }),
    listMembers: (group: DirectoryGroup) => pages(`ListGroupMemberships of ${group.name}`, async (NextToken) => {
      const r = await client.send(new ListGroupMembershipsCommand({ IdentityStoreId, GroupId: group.id, MaxResults: IDENTITY_STORE_PAGE, NextToken }))
      return { items: (r.GroupMemberships ?? []).flatMap((m) => (m.MemberId && 'UserId' in m.MemberId && m.MemberId.UserId ? [m.MemberId.UserId] : [])), next: r.NextToken }
    }),
    listUsers: () => pages('ListUsers', async (NextToken) => {
      const r = await client.send(new ListUsersCommand({ IdentityStoreId, MaxResults: IDENTITY_STORE_PAGE, NextToken }))
      return { items: (r.Users ?? []).map(toDirectoryUser), next: r.NextToken }
    }),
    async describeUsers(ids) {
      const out: DirectoryUser[] = []
      await fanOut(ids, FAN_OUT, async (UserId) => {
        const user = await send(`DescribeUser ${UserId}`, async () => {
          try {
            return await client.send(new DescribeUserCommand({ IdentityStoreId, UserId }))
          } catch (err) {
            if ((err as Error).name === 'ResourceNotFoundException') return undefined
            throw err
          }
        })
        if (user) out.push(toDirectoryUser(user))
      })
      return out
    },
  }
}

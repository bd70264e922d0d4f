/**
 * An LDAP or Active Directory server as an {@link IdentitySource}, through ldapts: groups
 * by `identity.ldap.groupFilter` (their `member`/`uniqueMember` DNs come with them), users
 * by `userFilter`, both as paged searches (simple paged results, 500 a page) under
 * `baseDn`, bound as `bindDn` with the password read from `passwordFile` (anonymous without
 * one). A user's id is its DN, normalised (lower case, no spaces around `,` and `=`) so the
 * members' DNs and the entries' DNs compare equal. The POSIX name's source for
 * `username: local-part` is `uid`, else `sAMAccountName`, `userPrincipalName` or `mail`.
 */
import { readFile } from 'node:fs/promises'
import { Client, type Entry } from 'ldapts'
import type { Identity } from '../spec/identity-schema.js'
import type { DirectoryGroup, DirectoryUser, IdentitySource } from '../identity/source.js'
import { IdentitySourceError, IdentitySourceUnavailableError } from '../identity/source.js'

/** Entries a page of a paged search. */
export const LDAP_PAGE = 500
const DEFAULT_USER_FILTER = '(objectClass=inetOrgPerson)'
const DEFAULT_GROUP_FILTER = '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))'
const NAME_ATTRIBUTES = ['uid', 'sAMAccountName', 'userPrincipalName', 'mail'] as const

/** A DN as an id: lower case, no spaces around `,` and `=`. */
export function normalizeDn(dn: string): string {
  return dn.split(',').map((rdn) => rdn.split('=').map((p) => p.trim()).join('=')).join(',').toLowerCase()
}

function values(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase())
  const v = key === undefined ? undefined : entry[key]
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)))
}

function toUser(entry: Entry): DirectoryUser {
  const attributes: Record<string, string> = {}
  for (const key of Object.keys(entry)) {
    if (key === 'dn' || key === 'controls') continue
    const first = values(entry, key)[0]
    if (first !== undefined) attributes[key] = first
  }
  const userName = NAME_ATTRIBUTES.map((a) => values(entry, a)[0]).find((v) => v !== undefined && v !== '')
  return { id: normalizeDn(entry.dn), userName, email: values(entry, 'mail')[0], attributes }
}

export interface LdapSourceOptions {
  settings: NonNullable<Identity['ldap']>
  /** Milliseconds a connection or an operation may take (default 10 s). */
  timeoutMs?: number
}

export function createLdapSource(options: LdapSourceOptions): IdentitySource {
  const { settings } = options
  const timeout = options.timeoutMs ?? 10_000
  const members = new Map<string, string[]>()

  async function withClient<T>(what: string, work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ url: settings.url, timeout, connectTimeout: timeout })
    try {
      if (settings.bindDn) {
        const password = settings.passwordFile ? (await readFile(settings.passwordFile, 'utf8')).replace(/\r?\n$/, '') : ''
        await client.bind(settings.bindDn, password)
      }
      return await work(client)
    } catch (err) {
      if (err instanceof IdentitySourceError) throw err
      throw new IdentitySourceUnavailableError(`LDAP ${settings.url}: ${what} failed: ${(err as Error).message}; nothing was written`, [`${what}: ${(err as Error).message}`], { cause: err })
    } finally {
      await client.unbind().catch(() => undefined)
    }
  }

  const search = (client: Client, filter: string, attributes?: string[]) =>
    client.search(settings.baseDn, { scope: 'sub', filter, paged: { pageSize: LDAP_PAGE }, ...(attributes ? { attributes } : {}) })

  return {
    kind: 'ldap',
    listGroups: () => withClient('the group search', async (client) => {
      const { searchEntries } = await search(client, settings.groupFilter ?? DEFAULT_GROUP_FILTER, ['cn', 'member', 'uniqueMember'])
      return searchEntries.map((e): DirectoryGroup => {
        const id = normalizeDn(e.dn)
        members.set(id, [...values(e, 'member'), ...values(e, 'uniqueMember')].map(normalizeDn))
        return { id, name: values(e, 'cn')[0] ?? e.dn }
      })
    }),
    async listMembers(group) {
      const known = members.get(group.id)
      if (known) return known
      return withClient(`reading group ${group.id}`, async (client) => {
        const { searchEntries } = await client.search(group.id, { scope: 'base', attributes: ['member', 'uniqueMember'] })
        return searchEntries.flatMap((e) => [...values(e, 'member'), ...values(e, 'uniqueMember')]).map(normalizeDn)
      })
    },
    listUsers: () => withClient('the user search', async (client) => (await search(client, settings.userFilter ?? DEFAULT_USER_FILTER)).searchEntries.map(toUser)),
    describeUsers: (ids) => withClient('reading users', async (client) => {
      const out: DirectoryUser[] = []
      for (const dn of ids) {
        try {
          out.push(...(await client.search(dn, { scope: 'base', filter: settings.userFilter ?? DEFAULT_USER_FILTER })).searchEntries.map(toUser))
        } catch (err) {
          // No such object: a member DN that is not a user; the sync reports it.
          if ((err as { code?: number }).code !== 32) throw err
        }
      }
      return out
    }),
  }
}

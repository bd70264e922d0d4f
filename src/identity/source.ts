/**
 * One interface for every directory users come from (IAM Identity Center, LDAP): its
 * groups, each group's members, and its users, read in pages by the adapters in
 * src/adapters/. The sync reads only what it needs through it (see directory.ts).
 */
import type { IdentitySourceKind } from '../spec/identity-schema.js'

/** A directory group: the source's id and the name `identity.groups[].group` matches. */
export interface DirectoryGroup {
  id: string
  name: string
}

/** A directory user as the mapping sees it. */
export interface DirectoryUser {
  /** The source's stable id: Identity Store `UserId`, or the LDAP DN. */
  id: string
  /** What `username: local-part` derives the POSIX name from (`UserName`, LDAP `uid` or `mail`); may be missing in a malformed source. */
  userName?: string | undefined
  /** The primary e-mail address, when the source has one. */
  email?: string | undefined
  /** Every attribute as text, by name (`UserName`, `Name.GivenName`, LDAP `uid`...), for `username: attribute:<name>`. */
  attributes: Readonly<Record<string, string>>
}

/** A directory: IAM Identity Center's Identity Store or an LDAP server. */
export interface IdentitySource {
  readonly kind: IdentitySourceKind
  /** Every group. */
  listGroups(): Promise<DirectoryGroup[]>
  /** The user ids of a group's direct members. */
  listMembers(group: DirectoryGroup): Promise<string[]>
  /** Every user (cheapest per user: one request per page). */
  listUsers(): Promise<DirectoryUser[]>
  /** The named users, one request each; an id the source does not know is left out. */
  describeUsers(ids: readonly string[]): Promise<DirectoryUser[]>
}

/** The directory could not be read, or what it holds cannot be synced; nothing was written. */
export class IdentitySourceError extends Error {
  override name = 'IdentitySourceError'
  constructor(message: string, readonly problems: readonly string[] = [message], options?: ErrorOptions) {
    super(message, options)
  }
}

/** The directory could not be reached or answered errors after every retry (a 502, not the spec's fault). */
export class IdentitySourceUnavailableError extends IdentitySourceError {
  override name = 'IdentitySourceUnavailableError'
}

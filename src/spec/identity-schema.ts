/**
 * The optional `identity` section of the spec (spec-format.md): where users come from (IAM
 * Identity Center or LDAP), how a directory user's POSIX name is derived, the uids new
 * users get, which directory groups make users of which supervisor, and what happens to
 * users who leave. Semantic rules are in `identity-rules.ts`.
 */
import { Type, type Static, type TProperties, type TObject } from '@sinclair/typebox'
import { Name, PosixId, UserName } from './names.js'
import { LIMITS } from './limits.js'

const strict = <T extends TProperties>(properties: T, description?: string): TObject<T> =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) })

/** An Identity Store id: `d-` and 10 letters or digits. */
export const IDENTITY_STORE_ID_RE = /^d-[0-9a-z]{10}$/
/** An AWS region such as `eu-west-1`. */
export const REGION_RE = /^[a-z]{2}(?:-[a-z]+)+-\d$/
/** An LDAP URL: `ldap://` or `ldaps://`, a host (or `[IPv6]`) and an optional port; nothing after. */
export const LDAP_URL_RE = /^ldaps?:\/\/(?:\[[\d:A-Fa-f]{2,39}\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252})(?::\d{1,5})?\/?$/
/** An LDAP distinguished name or filter: printable ASCII without quotes, backslash or newline. */
export const LDAP_TEXT_RE = /^[\w !#$%&()*+,./:;<=>?@[\]^`{|}~-]{1,1024}$/
/** A directory group: its Identity Store `DisplayName` or LDAP `cn`. */
export const DIRECTORY_GROUP_RE = /^[\w .@&()+,=-]{1,128}$/
/** How a POSIX name is derived: `local-part` or `attribute:<name>`. */
export const USERNAME_RULE_RE = /^(?:local-part|attribute:[A-Za-z][\w.-]{0,63})$/
/** A source's id of a user: an Identity Store `UserId` or an LDAP DN. */
export const EXTERNAL_ID_RE = LDAP_TEXT_RE
/** An IAM user or role ARN: `arn:aws:iam::<account>:user/<path/name>` or `role/...`. */
export const IAM_PRINCIPAL_RE = /^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:(?:user|role)\/(?:[\w+=,.@-]{1,64}\/)*[\w+=,.@-]{1,64}$/
/** An absolute path of letters, digits, `.`, `_`, `-` and `/`. */
const FILE_RE = /^\/(?:[\w.-]+\/)*[\w.-]+$/

export const IdentitySourceKind = Type.Union([Type.Literal('identity-center'), Type.Literal('ldap')], { description: 'identity-center or ldap' })
export type IdentitySourceKind = Static<typeof IdentitySourceKind>

export const IdentityGroup = strict({
  group: Type.String({ pattern: DIRECTORY_GROUP_RE.source, maxLength: 128, description: 'the directory group: Identity Store DisplayName or LDAP cn' }),
  department: Name,
  supervisor: Name,
})
export type IdentityGroup = Static<typeof IdentityGroup>

export const Identity = strict({
  source: IdentitySourceKind,
  identityCenter: Type.Optional(strict({
    identityStoreId: Type.String({ pattern: IDENTITY_STORE_ID_RE.source, maxLength: 12, description: 'Identity Store id: d- and 10 letters or digits' }),
    region: Type.String({ pattern: REGION_RE.source, maxLength: 32, description: 'AWS region such as eu-west-1' }),
  })),
  ldap: Type.Optional(strict({
    url: Type.String({ pattern: LDAP_URL_RE.source, maxLength: 270, description: 'ldap://HOST[:PORT] or ldaps://HOST[:PORT]' }),
    baseDn: Type.String({ pattern: LDAP_TEXT_RE.source, maxLength: 1024, description: 'search base, e.g. dc=uni,dc=edu' }),
    bindDn: Type.Optional(Type.String({ pattern: LDAP_TEXT_RE.source, maxLength: 1024, description: 'DN to bind as (default: anonymous)' })),
    passwordFile: Type.Optional(Type.String({ pattern: FILE_RE.source, maxLength: 255, description: 'absolute path of a file holding the bind password' })),
    userFilter: Type.Optional(Type.String({ pattern: LDAP_TEXT_RE.source, maxLength: 1024, description: 'LDAP filter of users (default (objectClass=inetOrgPerson))' })),
    groupFilter: Type.Optional(Type.String({ pattern: LDAP_TEXT_RE.source, maxLength: 1024, description: 'LDAP filter of groups (default (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)))' })),
  })),
  username: Type.Optional(Type.String({ pattern: USERNAME_RULE_RE.source, maxLength: 74, description: 'local-part (default) or attribute:<name>' })),
  uidRange: strict({ from: PosixId('first uid handed to a new user'), to: PosixId('last uid handed to a new user') }),
  groups: Type.Array(IdentityGroup, { maxItems: LIMITS.accounts }),
  removed: Type.Optional(Type.Union([Type.Literal('disable'), Type.Literal('keep')], { description: 'disable (default) or keep' })),
  runAs: Type.Optional(strict({
    defaultUser: UserName,
    /** IAM users and roles outside Identity Center that get the `SSMSessionRunAs` tag. */
    iam: Type.Optional(Type.Array(strict({
      principal: Type.String({ pattern: IAM_PRINCIPAL_RE.source, maxLength: 200, description: 'IAM user or role ARN' }),
      user: UserName,
    }), { maxItems: 1000 })),
  })),
}, 'Where users come from and how they become POSIX users')
export type Identity = Static<typeof Identity>

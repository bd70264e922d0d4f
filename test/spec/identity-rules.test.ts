/**
 * The identity section's rules: the source's settings are present, the uid range is
 * ordered and clear of the reserved ids, each mapped group names a department and one of
 * its supervisors, runAs never lands as root and tags name known users, and synced users
 * carry a source and a unique id and, disabled, no association.
 */
import t from 'tap'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { campus, errorsOf } from '../support/campus-spec.js'

const identity = (over: Partial<NonNullable<ClusterSpec['identity']>> = {}): ClusterSpec => ({
  ...campus(),
  identity: {
    source: 'identity-center',
    identityCenter: { identityStoreId: 'd-0123456789', region: 'eu-west-1' },
    uidRange: { from: 300_000, to: 300_999 },
    groups: [{ group: 'NLP Smith Lab', department: 'nlp', supervisor: 'smith' }],
    ...over,
  },
})
const errors = (spec: unknown) => errorsOf(spec).map((p) => `${p.path}: ${p.message}`)

t.test('a well-formed identity section is accepted', async (t) => {
  t.same(errors(identity()), [])
  t.same(errors(identity({ source: 'ldap', identityCenter: undefined, ldap: { url: 'ldaps://ldap.uni.edu:636', baseDn: 'dc=uni,dc=edu', bindDn: 'cn=steward,dc=uni,dc=edu', passwordFile: '/etc/steward/ldap.password' }, username: 'attribute:uid' })), [])
})

t.test('each rule says what is wrong and where', async (t) => {
  t.match(errors(identity({ identityCenter: undefined })), ['/identity/identityCenter: source is identity-center: give identityCenter.identityStoreId and identityCenter.region'])
  t.match(errors(identity({ uidRange: { from: 62_000, to: 61_000 } })), [/from 62000 is above to 61000/, /uidRange\/from: 62000 is in the reserved range 61184-65519/])
  t.match(errors(identity({ groups: [{ group: 'X', department: 'physics', supervisor: 'smith' }] })), ['/identity/groups/0/department: unknown department "physics": a group maps to a department of the spec'])
  t.match(errors(identity({ groups: [{ group: 'X', department: 'nlp', supervisor: 'nobody' }] })), ['/identity/groups/0/supervisor: department "nlp" has no supervisor "nobody": add it under the department\'s supervisors'])
  t.match(errors(identity({ groups: [{ group: 'X', department: 'nlp', supervisor: 'smith' }, { group: 'X', department: 'nlp', supervisor: 'smith' }] })), [/the same mapping as \/identity\/groups\/0/])
  t.match(errors(identity({ runAs: { defaultUser: 'root' } })), [/must not land anyone as root/])
  t.match(errors(identity({ runAs: { defaultUser: 'ssm-user', iam: [{ principal: 'arn:aws:iam::123456789012:role/x', user: 'ghost' }] } })), [/unknown user "ghost"/])
  t.match(errors(identity({ identityCenter: { identityStoreId: 'd-XYZ', region: 'eu-west-1' } })), [/identityStoreId/])
  t.match(errors(identity({ ldap: { url: 'http://x', baseDn: 'dc=x' } })), [/ldap\/url/])
})

t.test('synced users carry a source and a unique id; a disabled user has no association', async (t) => {
  const spec = identity()
  spec.users.push({ name: 'zed', uid: 300_000, source: 'identity-center' })
  t.match(errors(spec), [/users\/6\/externalId: user "zed" comes from identity-center but has no externalId/])
  spec.users[6] = { name: 'zed', uid: 300_000, source: 'identity-center', externalId: 'u1' }
  spec.users.push({ name: 'zoe', uid: 300_001, source: 'identity-center', externalId: 'u1' })
  t.match(errors(spec), [/users\/7\/externalId: externalId "u1" is already the id of \/users\/6/])
  spec.users.pop()
  spec.users[0] = { ...spec.users[0]!, disabled: true }
  t.match(errors(spec), [/users\/0\/disabled: user "alice" is disabled but listed under a supervisor/])
})

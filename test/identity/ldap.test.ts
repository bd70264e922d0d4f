/**
 * The same sync against a real slapd (ops/ldap/start.sh, Debian's package) that this test
 * seeds: names with dots, capitals and @domain parts, a collision, a rename (the DN stays,
 * `uid` changes) that keeps the uid, and a user who left every group disabled.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { parse } from 'yaml'
import { Attribute, Change, Client } from 'ldapts'
import { createLdapSource } from '../../src/adapters/ldap.js'
import { syncSpecFile } from '../../src/identity/sync.js'
import { validateSpec } from '../../src/spec/validate.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const script = new URL('../../ops/ldap/start.sh', import.meta.url).pathname
const stateDir = process.env.STEWARD_LDAP_DIR ?? '/var/lib/steward-ldap'
const SUFFIX = 'dc=steward,dc=test'
const ADMIN = `cn=admin,${SUFFIX}`

const { stdout } = await promisify(execFile)('bash', [script], { timeout: 300_000 })
const url = stdout.trim().split('\n').pop() ?? ''
const passwordFile = `${stateDir}/admin.password`
const password = readFileSync(passwordFile, 'utf8')
const base = `ou=t${randomBytes(4).toString('hex')},${SUFFIX}`

const admin = new Client({ url })
await admin.bind(ADMIN, password)
t.teardown(async () => {
  // The test's own subtree, leaves first.
  const { searchEntries } = await admin.search(base, { scope: 'sub', attributes: ['1.1'] })
  for (const e of searchEntries.sort((a, b) => b.dn.length - a.dn.length)) await admin.del(e.dn)
  await admin.unbind()
})

await admin.add(base, { objectClass: ['organizationalUnit'], ou: base.split(',')[0]!.slice(3) })
await admin.add(`ou=people,${base}`, { objectClass: ['organizationalUnit'], ou: 'people' })
await admin.add(`ou=groups,${base}`, { objectClass: ['organizationalUnit'], ou: 'groups' })
let people = 0
const person = async (uid: string, mail: string): Promise<string> => {
  const dn = `cn=person${++people},ou=people,${base}`
  await admin.add(dn, { objectClass: ['inetOrgPerson'], cn: uid, sn: 'X', uid, mail })
  return dn
}
const alice = await person('Alice.Smith', 'alice.smith@uni.edu')
const bob = await person('BO.Jones@uni.edu', 'bo@uni.edu')
const jdoe1 = await person('j.doe', 'j.doe@uni.edu')
const jdoe2 = await person('J.Doe', 'jdoe@other.org')
const zed = await person('zed', 'zed@uni.edu')
const group = async (cn: string, dns: string[]): Promise<string> => {
  const dn = `cn=${cn},ou=groups,${base}`
  await admin.add(dn, { objectClass: ['groupOfNames'], cn, member: dns })
  return dn
}
const smithGroup = await group('nlp-smith', [alice, jdoe1, zed])
await group('vision', [bob, jdoe2])

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const settings = { url, baseDn: base, bindDn: ADMIN, passwordFile }
const spec: ClusterSpec = {
  ...campus,
  identity: {
    source: 'ldap',
    ldap: settings,
    uidRange: { from: 400_000, to: 400_999 },
    groups: [{ group: 'nlp-smith', department: 'nlp', supervisor: 'smith' }, { group: 'vision', department: 'cv', supervisor: 'chen' }],
  },
}
const source = () => createLdapSource({ settings })

t.test('LDAP: the same sync against a real slapd', async (t) => {
  const first = await syncSpecFile(spec, source())
  t.ok(validateSpec(first.spec).ok, JSON.stringify(validateSpec(first.spec).errors.slice(0, 3)))
  t.same(first.summary.added.sort(), ['alice_smith', 'bo_jones', 'zed'])
  t.same(first.summary.refused.map((r) => r.user).sort(), ['J.Doe', 'j.doe'])
  t.match(first.summary.refused[0]!.reason, /"j_doe" is also the name of/)
  const a = first.spec.users.find((u) => u.name === 'alice_smith')!
  t.match(a, { source: 'ldap', externalId: alice.toLowerCase(), uid: 400_000, email: 'alice.smith@uni.edu' })
  t.notOk((await syncSpecFile(first.spec, source())).changed, 'a second sync changes nothing')

  await admin.modify(alice, new Change({ operation: 'replace', modification: new Attribute({ type: 'uid', values: ['Alicia.Smith'] }) }))
  await admin.modify(smithGroup, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [zed] }) }))
  const next = await syncSpecFile(first.spec, source())
  t.equal(next.spec.users.find((u) => u.name === 'alicia_smith')?.uid, a.uid, 'the rename keeps the uid')
  t.same(next.summary.disabled, ['zed'])
  t.equal(next.spec.users.find((u) => u.name === 'zed')?.disabled, true)
})

t.test('LDAP: a wrong password or an unknown group writes nothing and says what failed', async (t) => {
  await t.rejects(syncSpecFile(spec, createLdapSource({ settings: { ...settings, passwordFile: '/dev/null' } })), { name: 'IdentitySourceUnavailableError', message: /LDAP ldap:\/\/127\.0\.0\.1:\d+: the group search failed: .*; nothing was written/ })
  await t.rejects(
    syncSpecFile({ ...spec, identity: { ...spec.identity!, groups: [{ group: 'nope', department: 'dl', supervisor: 'okafor' }] } }, source()),
    /the directory has no group "nope"/,
  )
})

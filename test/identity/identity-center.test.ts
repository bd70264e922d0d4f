/**
 * Sync from IAM Identity Center against the emulated Identity Store (the front enforces 100
 * a page and 20 requests/s): directory names with dots, capitals and @domain parts become
 * POSIX names; collisions, system accounts and hand-written names are refused with a reason
 * each; a second sync changes nothing; a rename keeps the uid; leaving every group disables;
 * a malformed source or a failing page writes nothing and says what failed.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { startAwsEmulator, type AwsEmulator } from '../support/aws/emulator.js'
import { IdentitystoreClient } from '@aws-sdk/client-identitystore'
import { createIdentityStoreSource } from '../../src/adapters/aws/identity-store.js'
import { syncCluster, syncSpecFile } from '../../src/identity/sync.js'
import { emptyCache } from '../../src/identity/directory.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { validateSpec } from '../../src/spec/validate.js'
import { createStore } from '../../src/store/index.js'
import { createRevisionService } from '../../src/revisions/service.js'
import { seedCluster } from '../../src/revisions/seed.js'
import { SYSTEM_PRINCIPAL } from '../../src/auth/policy.js'

const STORE = 'd-1234567890'
const campus = () => parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

function withIdentity(spec: ClusterSpec): ClusterSpec {
  return {
    ...spec,
    identity: {
      source: 'identity-center',
      identityCenter: { identityStoreId: STORE, region: 'eu-west-1' },
      uidRange: { from: 300_000, to: 300_999 },
      groups: [
        { group: 'NLP Smith Lab', department: 'nlp', supervisor: 'smith' },
        { group: 'Vision', department: 'cv', supervisor: 'chen' },
        { group: 'NLP Garcia Lab', department: 'nlp', supervisor: 'garcia' },
      ],
    },
  }
}

let aws: AwsEmulator
t.before(async () => { aws = await startAwsEmulator() })
t.teardown(() => aws.close())

/** Seeds the directory; returns user ids by their UserName. */
function seed(): Record<string, string> {
  const is = aws.identityStore
  is.clear()
  const smith = is.addGroup(STORE, 'NLP Smith Lab')
  const vision = is.addGroup(STORE, 'Vision')
  const garcia = is.addGroup(STORE, 'NLP Garcia Lab')
  is.addGroup(STORE, 'Unmapped')
  const ids: Record<string, string> = {}
  const add = (userName: string, groups: string[], email?: string): void => {
    ids[userName] = is.addUser(STORE, { UserName: userName, DisplayName: userName, ...(email ? { Emails: [{ Value: email, Primary: true }] } : {}) })
    for (const g of groups) is.addMember(STORE, g, ids[userName]!)
  }
  add('Alice.Smith@uni.edu', [smith, garcia], 'alice.smith@uni.edu')
  add('BOB.JONES@uni.edu', [vision])
  add('j.doe@uni.edu', [smith])
  add('J.Doe@other.org', [vision])
  add('9lives@uni.edu', [vision])
  add('root@uni.edu', [vision])
  add('carol@uni.edu', [vision])
  add('zed', [smith])
  // 150 more in one group: more than a page of members and of users.
  for (let i = 0; i < 150; i++) add(`Student.${i}@uni.edu`, [garcia])
  return ids
}

const client = () => new IdentitystoreClient({ ...aws.clientConfig, maxAttempts: 1 })
const source = (limiter = {}) => createIdentityStoreSource({ identityStoreId: STORE, client: client(), limiter })

t.test('a sync maps names, refuses collisions with a reason each, and a second sync changes nothing', async (t) => {
  const ids = seed()
  const spec = withIdentity(campus())
  const first = await syncSpecFile(spec, source())
  t.ok(first.changed)
  t.ok(validateSpec(first.spec).ok, JSON.stringify(validateSpec(first.spec).errors.slice(0, 3)))
  const byName = new Map(first.spec.users.map((u) => [u.name, u]))
  t.match(byName.get('alice_smith'), { source: 'identity-center', externalId: ids['Alice.Smith@uni.edu'], email: 'alice.smith@uni.edu', uid: 300_000 })
  t.ok(byName.has('bob_jones'), 'capitals lower-cased')
  t.ok(byName.has('zed'), 'a name without a domain')
  t.ok(byName.has('student_149'))
  t.equal(first.summary.added.length, 153)
  const refused = new Map(first.summary.refused.map((r) => [r.user, r.reason]))
  t.match(refused.get('j.doe@uni.edu'), /"j_doe" is also the name of J.Doe@other.org/)
  t.match(refused.get('J.Doe@other.org'), /"j_doe" is also the name of j.doe@uni.edu/)
  t.match(refused.get('9lives@uni.edu'), /not a POSIX user name/)
  t.match(refused.get('root@uni.edu'), /system account/)
  t.match(refused.get('carol@uni.edu'), /written by hand/)
  t.equal(refused.size, 5)
  const smith = first.spec.departments.find((d) => d.name === 'nlp')!.supervisors!.find((s) => s.name === 'smith')!
  t.same(smith.users.slice(0, 2), ['alice', 'bob'], 'hand-written members stay, first')
  t.ok(smith.users.includes('alice_smith') && smith.users.includes('zed'))
  t.same(first.spec.users.filter((u) => !u.source), campus().users, 'hand-written users stay as written')
  const uids = first.spec.users.map((u) => u.uid)
  t.equal(new Set(uids).size, uids.length, 'uids unique')

  const second = await syncSpecFile(first.spec, source())
  t.notOk(second.changed, 'nothing changed')
  t.same(second.diff, [])
  t.equal(second.summary.added.length + second.summary.changed.length + second.summary.disabled.length, 0)
})

t.test('a rename keeps the uid; leaving every group disables, keeps the uid and drops the associations', async (t) => {
  const ids = seed()
  const first = await syncSpecFile(withIdentity(campus()), source())
  const uid = first.spec.users.find((u) => u.name === 'alice_smith')!.uid
  aws.identityStore.updateUser(STORE, ids['Alice.Smith@uni.edu']!, { UserName: 'Alicia.Smith@uni.edu' })
  const renamed = await syncSpecFile(first.spec, source())
  t.match(renamed.summary.changed, [{ user: 'alicia_smith', changes: ['renamed from alice_smith'] }])
  t.equal(renamed.spec.users.find((u) => u.name === 'alicia_smith')!.uid, uid)
  t.notOk(renamed.spec.users.some((u) => u.name === 'alice_smith'))

  const is = aws.identityStore
  const zed = ids.zed!
  const groups = await source().listGroups()
  for (const g of groups) is.removeMember(STORE, g.id, zed)
  const removed = await syncSpecFile(renamed.spec, source())
  t.same(removed.summary.disabled, ['zed'])
  const user = removed.spec.users.find((u) => u.name === 'zed')!
  t.equal(user.disabled, true)
  t.equal(user.uid, renamed.spec.users.find((u) => u.name === 'zed')!.uid, 'uid kept')
  t.notOk(removed.spec.departments.some((d) => d.supervisors?.some((s) => s.users.includes('zed'))), 'no association')
  t.ok(validateSpec(removed.spec).ok)
  // Back in a group: enabled again, same uid.
  is.addMember(STORE, groups.find((g) => g.name === 'Vision')!.id, zed)
  const back = await syncSpecFile(removed.spec, source())
  t.match(back.summary.changed, [{ user: 'zed', changes: ['enabled again', /supervisors: none -> cv\/chen/] }])
  t.equal(back.spec.users.find((u) => u.name === 'zed')!.uid, user.uid)
  t.notOk(back.spec.users.find((u) => u.name === 'zed')!.disabled)
})

t.test('a malformed source or a page that fails after retries writes nothing and says what failed', async (t) => {
  seed()
  const spec = withIdentity(campus())
  const noName = aws.identityStore.addUser(STORE, { DisplayName: 'nameless' })
  const vision = (await source().listGroups()).find((g) => g.name === 'Vision')!
  aws.identityStore.addMember(STORE, vision.id, noName)
  await t.rejects(syncSpecFile(spec, source()), { name: 'IdentitySourceError', message: `the directory has 1 malformed user(s): user ${noName}: the user has no user name` })
  seed()
  await t.rejects(syncSpecFile({ ...spec, identity: { ...spec.identity!, groups: [...spec.identity!.groups, { group: 'Gone', department: 'dl', supervisor: 'okafor' }] } }, source()), /the directory has no group "Gone"/)
  aws.identityStore.failNext('ListUsers', 50)
  await t.rejects(syncSpecFile(spec, source({ maxAttempts: 3, baseBackoffMs: 1 })), /Identity Store d-1234567890: ListUsers page 1 failed after 3 attempt\(s\): ThrottlingException: Rate exceeded; nothing was written/)
})

t.test('throttles are retried: a few ThrottlingExceptions cost time, not the sync', async (t) => {
  seed()
  aws.identityStore.failNext('ListGroupMemberships', 3)
  const s = source({ baseBackoffMs: 1 })
  const result = await syncSpecFile(withIdentity(campus()), s)
  t.equal(result.summary.added.length, 153)
  t.ok(s.limiter.stats.throttled >= 3)
})

t.test('on a cluster of the service: one revision per change, none for no change, the store keeps a renamed user\'s uid', async (t: Test) => {
  const ids = seed()
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-identity-')) })
  t.teardown(() => store.close())
  const revisions = createRevisionService(store, { uidBase: 200_001 })
  await seedCluster(store, revisions, withIdentity(campus()), { description: 'seed', source: 'test', message: 'seeded' })
  const options = { principal: SYSTEM_PRINCIPAL, by: { actor: 'test', source: 'test' }, cache: emptyCache() }

  const dry = await syncCluster(revisions, 'campus', source(), { ...options, dryRun: true })
  t.equal(dry.revision, 1, 'a dry run stores nothing')
  t.ok(dry.diff.some((c) => c.path === '/users/alice_smith' && c.op === 'add'))
  t.equal((await store.getCluster('campus')).latestRevision, 1)

  const first = await syncCluster(revisions, 'campus', source(), options)
  t.equal(first.revision, 2)
  const stored = (await revisions.latest('campus')).spec
  const alice = stored.users.find((u) => u.name === 'alice_smith')!
  t.ok(alice.uid >= 300_000 && alice.uid <= 300_999, `uid ${alice.uid} in the range`)

  const callsBefore = [...aws.calls.values()].reduce((a, b) => a + b, 0)
  const again = await syncCluster(revisions, 'campus', source(), options)
  t.equal(again.revision, 2, 'no change, no revision')
  t.notOk(again.changed)
  const calls = [...aws.calls.values()].reduce((a, b) => a + b, 0) - callsBefore
  t.equal(calls, 1 + 1 + 1 + 2, 'with the cache: one ListGroups page and the groups\' membership pages (two for 151 members), no user read')

  aws.identityStore.updateUser(STORE, ids['Alice.Smith@uni.edu']!, { UserName: 'Alicia.Smith@uni.edu' })
  const renamed = await syncCluster(revisions, 'campus', source(), { ...options, cache: emptyCache() })
  t.equal(renamed.revision, 3)
  t.equal((await revisions.latest('campus')).spec.users.find((u) => u.name === 'alicia_smith')!.uid, alice.uid, 'the store agrees: same uid')

  aws.identityStore.failNext('ListGroups', 50)
  await t.rejects(syncCluster(revisions, 'campus', source({ maxAttempts: 2, baseBackoffMs: 1 }), options), { name: 'IdentitySourceUnavailableError', message: /ListGroups page 1 failed after 2 attempt\(s\)/ })
  t.equal((await store.getCluster('campus')).latestRevision, 3, 'the revision is unchanged')
})

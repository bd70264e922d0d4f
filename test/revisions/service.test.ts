/**
 * The one revision path: seeding goes through it and reserves the seed's uids; a uid is
 * allocated only once a change is accepted; a cluster stores only its own spec.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { createStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { SYSTEM_PRINCIPAL, type Principal } from '../../src/auth/policy.js'
import { createRevisionService } from '../../src/revisions/service.js'
import { reserveMissingUids, seedCluster } from '../../src/revisions/seed.js'

const campus = () => parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const by = { actor: 'test', source: 'test' }
const nlp: Principal = { tokenId: 't', role: 'department-admin', departments: ['nlp'], user: null, cluster: 'campus' }

async function fresh(t: Test): Promise<Store> {
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-revisions-')) })
  t.teardown(() => store.close())
  return store
}

t.test('a seeded cluster\'s uids are reserved: the allocator never hands them out again', async (t) => {
  const store = await fresh(t)
  const revisions = createRevisionService(store, { uidBase: 200_001 })
  const revision = await seedCluster(store, revisions, campus(), { description: 'seed', source: 'start-up', message: 'seeded' })
  t.equal(revision.number, 1)
  const reserved = (await store.listUidAllocations({ limit: 50 })).items.map((a) => [a.user, a.uid])
  t.same(reserved, campus().users.map((u) => [u.name, u.uid]))
  t.equal(await store.allocateUid('newcomer', 200_001), 200_007, 'past every seeded uid')
  t.match((await store.listAudit({ action: 'cluster.seed' }, { limit: 5 })).items, [{ actor: 'system', cluster: 'campus' }])
})

t.test('a uid is allocated only for a change that is accepted', async (t) => {
  const store = await fresh(t)
  const revisions = createRevisionService(store, { uidBase: 300_000 })
  await seedCluster(store, revisions, campus(), { description: 'seed', source: 'test', message: 'seeded' })
  const addUser = (user: object) => (spec: ClusterSpec) => ({ ...spec, users: [...spec.users, { name: 'zoe', ...user } as ClusterSpec['users'][number]] })
  const options = { message: 'add zoe', action: 'user.create', resource: 'users/zoe', allocateUids: ['zoe'] }
  // Refused by the rules (422), and by what the principal may do (403): nothing allocated.
  await t.rejects(revisions.edit('campus', addUser({ defaultAccount: 'nowhere' }), by, { ...options, principal: SYSTEM_PRINCIPAL }), { name: 'SpecInvalidError' })
  await t.rejects(revisions.edit('campus', addUser({ home: '/etc/sudoers.d/x' }), by, { ...options, principal: nlp }), { name: 'ForbiddenError', path: '/users/6/home' })
  t.notOk((await store.listUidAllocations({ limit: 50 })).items.some((a) => a.user === 'zoe'), 'zoe has no uid')
  const { revision } = await revisions.edit('campus', addUser({}), by, { ...options, principal: nlp })
  t.match(revision.spec.users.at(-1), { name: 'zoe', uid: 300_000 })
  t.match((await store.listUidAllocations({ limit: 50 })).items.at(-1), { user: 'zoe', uid: 300_000 })
})

t.test('a cluster stores only a spec with its own name', async (t) => {
  const store = await fresh(t)
  const revisions = createRevisionService(store)
  await store.createCluster('lab', '')
  await t.rejects(revisions.put('lab', campus(), by, { principal: SYSTEM_PRINCIPAL, message: 'm' }), { name: 'SpecInvalidError', kind: 'semantic', problems: [{ path: '/cluster/name' }] })
  t.equal((await store.getCluster('lab')).latestRevision, 0)
})

t.test('a store seeded before seeding reserved uids gets them reserved at start-up', async (t) => {
  const store = await fresh(t)
  await store.createCluster('campus', '')
  // What the old start-up did: the revision straight into the store, no uid recorded.
  await store.appendRevision('campus', { spec: campus(), author: 'system', message: 'seeded' })
  await store.reserveUid('intruder', 200_006)
  t.same(await reserveMissingUids(store), [{ cluster: 'campus', user: 'frank', uid: 200_006, reason: 'uid 200006 belongs to intruder' }])
  t.same((await store.listUidAllocations({ limit: 50 })).items.map((a) => a.user), ['alice', 'bob', 'carol', 'dave', 'erin', 'intruder'])
  t.same(await reserveMissingUids(store), [{ cluster: 'campus', user: 'frank', uid: 200_006, reason: 'uid 200006 belongs to intruder' }], 'run again: nothing new')
  t.equal(await store.allocateUid('newcomer', 200_001), 200_007)
})

t.test('the rules run in the validator the service is given (the API passes its worker pool), and its refusal stores nothing', async (t) => {
  const store = await fresh(t)
  await store.createCluster('campus', '')
  const seen: string[] = []
  const revisions = createRevisionService(store, {
    validate: async (spec) => {
      seen.push(spec.cluster.name)
      return { ok: false, errors: [{ path: '/qos/0', message: 'refused by the validator', severity: 'error' }] }
    },
  })
  await t.rejects(revisions.put('campus', campus(), by, { principal: SYSTEM_PRINCIPAL, message: 'm' }), { name: 'SpecInvalidError', kind: 'semantic' })
  t.same(seen, ['campus'], 'the injected validator ran once')
  t.equal((await store.getCluster('campus')).latestRevision, 0, 'no revision stored')
})

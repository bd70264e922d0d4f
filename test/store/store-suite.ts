/**
 * The store's behaviour, written once and run against every implementation
 * (`store.test.ts` runs it on SQLite and on PostgreSQL): clusters, revisions and the
 * apply lock here; runs and audit in `store-suite-records.ts`; tokens and uids in
 * `store-suite-identity.ts`.
 */
import type { Test } from 'tap'
import { hostname } from 'node:os'
import { BOOT_ID } from '../../src/store/apply-lock.js'
import { specHash } from '../../src/spec/load.js'
import { campusSpec, ISO, setup, type StoreHarness } from './harness.js'
import { recordsSuite } from './store-suite-records.js'
import { identitySuite } from './store-suite-identity.js'
import { budgetSuite } from './store-suite-budgets.js'

/** Registers the shared tests on `t`. */
export function storeSuite(t: Test, harness: StoreHarness): void {
  t.test('migrations run again as a no-op and two replicas may run them at once', async (t) => {
    const { store, open } = await setup(t, harness)
    await store.migrate()
    const [a, b] = await Promise.all([open(), open()])
    await Promise.all([a.migrate(), b.migrate()])
    t.equal((await a.createCluster('campus', 'c')).name, 'campus')
    t.equal((await b.getCluster('campus')).description, 'c')
  })

  t.test('a cluster is created once, read back, and a second create with its name conflicts', async (t) => {
    const { store } = await setup(t, harness)
    const created = await store.createCluster('campus', 'Campus cluster')
    t.match(created, { name: 'campus', description: 'Campus cluster', latestRevision: 0, appliedRevision: null })
    t.match(created.createdAt, ISO)
    t.same(await store.getCluster('campus'), created)
    await t.rejects(store.createCluster('campus', 'again'), { name: 'StoreConflictError', message: /campus already exists/ })
    await t.rejects(store.getCluster('nowhere'), { name: 'StoreNotFoundError' })
  })

  t.test('clusters are listed by name, a page at a time, with no cursor after the last page', async (t) => {
    const { store } = await setup(t, harness)
    for (const name of ['delta', 'alpha', 'charlie', 'bravo', 'a-b', 'ab']) await store.createCluster(name, '')
    const first = await store.listClusters({ limit: 4 })
    const second = await store.listClusters({ limit: 4, cursor: first.nextCursor ?? undefined })
    t.same(first.items.map((c) => c.name), ['a-b', 'ab', 'alpha', 'bravo'])
    t.same(second.items.map((c) => c.name), ['charlie', 'delta'])
    t.equal(second.nextCursor, null)
    const exact = await store.listClusters({ limit: 6 })
    t.equal(exact.nextCursor, null, 'a page that ends exactly at the last item has no cursor')
    await t.rejects(store.listClusters({ limit: 2, cursor: 'bogus' }), { name: 'StoreCursorError' })
    const revisionCursor = Buffer.from(JSON.stringify(['revisions', 3])).toString('base64url')
    await t.rejects(store.listClusters({ limit: 2, cursor: revisionCursor }), { name: 'StoreCursorError' })
  })

  t.test('revisions are numbered per cluster and keep spec, hash, author and message', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    await store.createCluster('lab', '')
    const first = await store.appendRevision('campus', { spec: campusSpec(1), author: 'alice', message: 'first' })
    const second = await store.appendRevision('campus', { spec: campusSpec(2), author: 'bob', message: 'second' })
    const other = await store.appendRevision('lab', { spec: campusSpec(3), author: 'carol', message: 'lab' })
    t.same([first.number, second.number, other.number], [1, 2, 1])
    const read = await store.getRevision('campus', 2)
    t.same(read, second)
    t.same(read.spec, campusSpec(2))
    t.equal(read.specHash, specHash(campusSpec(2)))
    t.match(read, { author: 'bob', message: 'second' })
    t.match(read.createdAt, ISO)
    t.equal((await store.getCluster('campus')).latestRevision, 2)
    await t.rejects(store.getRevision('campus', 3), { name: 'StoreNotFoundError', message: /no revision 3/ })
    await t.rejects(store.getRevision('nowhere', 1), { name: 'StoreNotFoundError', message: /cluster nowhere/ })
    await t.rejects(store.appendRevision('nowhere', { spec: campusSpec(), author: 'a', message: 'm' }), { name: 'StoreNotFoundError' })
  })

  t.test('a revision based on a stale latest number is refused', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    const first = await store.appendRevision('campus', { spec: campusSpec(1), author: 'a', message: 'm', expectedLatest: 0 })
    await store.appendRevision('campus', { spec: campusSpec(2), author: 'a', message: 'm', expectedLatest: 1 })
    await t.rejects(
      store.appendRevision('campus', { spec: campusSpec(3), author: 'a', message: 'm', expectedLatest: first.number }),
      { name: 'StoreConflictError', message: /at revision 2, not 1/ },
    )
    t.equal((await store.getCluster('campus')).latestRevision, 2)
  })

  t.test('concurrent writers on two replicas get distinct consecutive revision numbers', async (t) => {
    const { store, open } = await setup(t, harness)
    const replica = await open()
    await store.createCluster('campus', '')
    const writes = Array.from({ length: 12 }, (_, i) =>
      (i % 2 === 0 ? store : replica).appendRevision('campus', { spec: campusSpec(i), author: `w${i}`, message: 'm' }))
    const numbers = (await Promise.all(writes)).map((r) => r.number).sort((a, b) => a - b)
    t.same(numbers, Array.from({ length: 12 }, (_, i) => i + 1))
  })

  t.test('of two writers expecting the same latest revision, exactly one succeeds', async (t) => {
    const { store, open } = await setup(t, harness)
    const replica = await open()
    await store.createCluster('campus', '')
    const results = await Promise.allSettled([store, replica].map((s, i) =>
      s.appendRevision('campus', { spec: campusSpec(i), author: `w${i}`, message: 'm', expectedLatest: 0 })))
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
    const failed = results.find((r) => r.status === 'rejected')
    t.match(failed?.status === 'rejected' ? failed.reason : undefined, { name: 'StoreConflictError' })
  })

  t.test('revisions are listed newest first without their specs', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    for (let i = 1; i <= 5; i++) await store.appendRevision('campus', { spec: campusSpec(i), author: 'a', message: `r${i}` })
    const first = await store.listRevisions('campus', { limit: 3 })
    const second = await store.listRevisions('campus', { limit: 3, cursor: first.nextCursor ?? undefined })
    t.same(first.items.map((r) => r.number), [5, 4, 3])
    t.same(second.items.map((r) => r.number), [2, 1])
    t.equal(second.nextCursor, null)
    t.notOk('spec' in (first.items[0] ?? {}), 'a listed revision has no spec')
    await t.rejects(store.listRevisions('nowhere', { limit: 3 }), { name: 'StoreNotFoundError' })
  })

  t.test('the applied revision is recorded and must exist', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    await store.appendRevision('campus', { spec: campusSpec(), author: 'a', message: 'm' })
    await store.setAppliedRevision('campus', 1)
    t.equal((await store.getCluster('campus')).appliedRevision, 1)
    await t.rejects(store.setAppliedRevision('campus', 2), { name: 'StoreNotFoundError' })
    await t.rejects(store.setAppliedRevision('nowhere', 1), { name: 'StoreNotFoundError' })
  })

  t.test('of two applies started at once on two replicas, exactly one gets the lock', async (t) => {
    const { store, open } = await setup(t, harness)
    const replica = await open()
    const [a, b] = await Promise.all([store.tryApplyLock('campus', 'apply-a'), replica.tryApplyLock('campus', 'apply-b')])
    t.equal([a, b].filter((lock) => lock !== null).length, 1)
    t.equal(await store.tryApplyLock('campus', 'apply-c'), null, 'the same replica is refused too')
    const other = await replica.tryApplyLock('lab', 'apply-d')
    t.ok(other, 'another cluster has its own lock')
    const held = a ?? b
    t.match(held, { cluster: 'campus' })
    await held?.release()
    await held?.release()
    const again = await replica.tryApplyLock('campus', 'apply-e')
    t.match(again, { cluster: 'campus', holder: 'apply-e' }, 'after release the lock can be taken again')
    await again?.release()
    await other?.release()
  })

  t.test('a hold whose lease ran out fails its check; the takeover gets a new fencing token', async (t) => {
    const { store, open, exec } = await setup(t, harness)
    const replica = await open()
    const first = await store.tryApplyLock('campus', 'first')
    if (!first) throw new Error('no lock')
    await t.resolves(first.check(), 'held')
    t.equal(await replica.tryApplyLock('campus', 'second'), null)
    await exec("UPDATE apply_locks SET expires_at = '2000-01-01T00:00:00.000Z'")
    await t.rejects(first.check(), { name: 'ApplyLockLostError', message: /lease ran out/ }, 'lost before anyone took it')
    const second = await replica.tryApplyLock('campus', 'second')
    if (!second) throw new Error('the expired lock was not taken over')
    t.not(second.token, first.token)
    await t.rejects(first.check(), { name: 'ApplyLockLostError', message: /no longer held by first/ })
    await first.release()
    await t.resolves(second.check(), 'a late release of the first does not free the second')
    await second.release()
    await t.rejects(second.check(), { name: 'ApplyLockLostError' }, 'a released hold is not held')
  })

  t.test('the lock of a crashed life of this process (same host and pid, another boot id) or of a failed release is taken over at once', async (t) => {
    const { store, exec } = await setup(t, harness)
    const soon = new Date(Date.now() + 3_600_000).toISOString()
    const row = (cluster: string, bootId: string) =>
      `('${cluster}', 'old', 'x', ${process.pid}, '${hostname()}', '${bootId}', '${new Date().toISOString()}', '${soon}')`
    await exec(`INSERT INTO apply_locks (cluster, holder, token, pid, hostname, boot_id, acquired_at, expires_at) VALUES
      ${row('restarted', 'a-previous-life')}, ${row('mine', BOOT_ID)}`)
    const taken = await store.tryApplyLock('restarted', 'new')
    if (!taken) throw new Error('the container restarted in place: the old holder is dead although its pid is alive, yet the lock was refused')
    await t.resolves(taken.check())
    const orphan = await store.tryApplyLock('mine', 'new')
    t.ok(orphan, 'a row of this very process with a token it does not hold (its release failed) is no one\'s')
    t.equal(await store.tryApplyLock('mine', 'newer'), null, 'a lock this process holds stays held')
    await taken.release()
    await orphan?.release()
  })

  recordsSuite(t, harness)
  identitySuite(t, harness)
  budgetSuite(t, harness)
}

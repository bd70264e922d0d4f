/**
 * Cluster records for display (src/store/cluster-reads.ts): asked of the store once per
 * lifetime, a write through the wrapped store seen by the very next read, one made
 * elsewhere within the lifetime, an answer asked for during a write never kept, and the
 * writers' own reads never cached.
 */
import t, { type Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStore, type Store } from '../../src/store/index.js'
import { CLUSTER_READS_MS, displayedCluster, hasClusterReads, withClusterReads } from '../../src/store/cluster-reads.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { specFor } from '../api/helpers.js'

const campus = () => specFor('campus') as unknown as ClusterSpec

/** A store on a temporary SQLite file whose cluster reads are counted. */
async function counted(t: Test) {
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-cluster-reads-')) })
  t.teardown(() => store.close())
  const asked = { get: 0, list: 0 }
  const getCluster = store.getCluster.bind(store)
  const listClusters = store.listClusters.bind(store)
  store.getCluster = (name) => { asked.get++; return getCluster(name) }
  store.listClusters = (page, only) => { asked.list++; return listClusters(page, only) }
  await store.createCluster('campus', 'one')
  return { store, asked }
}

t.test('each answer is asked of the store once per lifetime, frozen, from when it was asked', async (t) => {
  const { store, asked } = await counted(t)
  let clock = 1_000
  const cached = withClusterReads(store, { now: () => clock })
  const first = await cached.clusterReads.cluster('campus')
  t.equal(await cached.clusterReads.cluster('campus'), first, 'the same record')
  t.equal(await displayedCluster(cached, 'campus'), first, 'displayedCluster reads through the cache')
  t.same((await cached.clusterReads.clusters()).map((c) => c.name), ['campus'])
  await cached.clusterReads.clusters()
  t.same(asked, { get: 1, list: 1 })
  t.ok(Object.isFrozen(first), 'frozen: a caller cannot change what later reads get')
  t.throws(() => { (first as { description: string }).description = 'x' }, TypeError)
  clock += CLUSTER_READS_MS - 1
  await cached.clusterReads.cluster('campus')
  t.equal(asked.get, 1, 'still kept just before the lifetime ends')
  clock += 1
  await cached.clusterReads.cluster('campus')
  t.equal(asked.get, 2, 'asked again once it ends')
  t.same(await cached.clusterReads.clusters(['lab']), [], 'a list of other names is another answer')
  t.equal(asked.list, 2)
})

t.test('a write through the wrapped store is seen by the next read; one made elsewhere within the lifetime', async (t) => {
  const { store } = await counted(t)
  let clock = 1_000
  const cached = withClusterReads(store, { now: () => clock })
  t.equal((await cached.clusterReads.cluster('campus')).latestRevision, 0)
  t.same((await cached.clusterReads.clusters()).map((c) => c.name), ['campus'])
  await cached.appendRevision('campus', { spec: campus(), author: 'test', message: 'one' })
  t.equal((await cached.clusterReads.cluster('campus')).latestRevision, 1, 'a new revision at once')
  await cached.setAppliedRevision('campus', 1)
  t.equal((await cached.clusterReads.cluster('campus')).appliedRevision, 1, 'an apply at once')
  await cached.createCluster('lab', '')
  t.same((await cached.clusterReads.clusters()).map((c) => c.name), ['campus', 'lab'], 'a new cluster at once')

  t.equal((await cached.clusterReads.cluster('campus')).latestRevision, 1)

  // Elsewhere: the bare store stands for another process or replica on the same database.
  await store.appendRevision('campus', { spec: campus(), author: 'test', message: 'two' })
  await store.createCluster('other', '')
  t.equal((await cached.clusterReads.cluster('campus')).latestRevision, 1, 'not yet: within the lifetime')
  clock += CLUSTER_READS_MS
  t.equal((await cached.clusterReads.cluster('campus')).latestRevision, 2, 'seen once the lifetime ends')
  t.same((await cached.clusterReads.clusters()).map((c) => c.name), ['campus', 'lab', 'other'])
})

t.test('an answer asked for before a write ended is not kept; a failed read is not kept', async (t) => {
  const { store } = await counted(t)
  const cached = withClusterReads(store)
  // A read that the store answers only after a write through the cache has started and ended.
  const getCluster = store.getCluster.bind(store)
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  store.getCluster = async (name) => {
    const record = await getCluster(name)
    await gate
    return record
  }
  const slow = cached.clusterReads.cluster('campus')
  await cached.appendRevision('campus', { spec: campus(), author: 'test', message: 'one' })
  release()
  t.equal((await slow).latestRevision, 0, 'the slow answer is the old one')
  store.getCluster = getCluster
  t.equal((await cached.clusterReads.cluster('campus')).latestRevision, 1, 'but it was not kept')

  await t.rejects(cached.clusterReads.cluster('nope'), { name: 'StoreNotFoundError' })
  await store.createCluster('nope', '')
  t.equal((await cached.clusterReads.cluster('nope')).name, 'nope', 'a missing cluster is asked again')
})

t.test('writers read the store itself; wrapping twice, or with a lifetime of 0, changes nothing', async (t) => {
  const { store, asked } = await counted(t)
  const cached = withClusterReads(store)
  t.ok(hasClusterReads(cached))
  t.notOk(hasClusterReads(store))
  t.equal(withClusterReads(cached, { ttlMs: 0 }), cached, 'a store that has cluster reads is returned as it is')
  await cached.getCluster('campus')
  await cached.getCluster('campus')
  await cached.listClusters({ limit: 10 })
  await cached.listClusters({ limit: 10 })
  t.same(asked, { get: 2, list: 2 }, 'getCluster and listClusters are not cached (read-before-write checks see the truth)')
  t.equal(cached.kind, 'sqlite', 'every other member as before')
  const off = withClusterReads(store as Store, { ttlMs: 0 })
  await off.clusterReads.cluster('campus')
  await off.clusterReads.cluster('campus')
  t.equal(asked.get, 4, 'a lifetime of 0 asks every time')
})

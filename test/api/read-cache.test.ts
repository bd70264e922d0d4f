/**
 * Reads through the per-revision cache: a write through the cache is seen by the very next
 * read, one made elsewhere within the bound (LATEST_CACHE_MS), the cached
 * spec is frozen (a route cannot change what later reads get), and views of one revision
 * are serialized once per key.
 */
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStore } from '../../src/store/index.js'
import { createRevisionService } from '../../src/revisions/service.js'
import { SYSTEM_PRINCIPAL } from '../../src/auth/policy.js'
import { cachedReads, LATEST_CACHE_MS, serializedView } from '../../src/api/read-cache.js'
import { specFor } from './helpers.js'

t.test('the newest revision is read once per revision, frozen, and a new revision is seen at once', async (t) => {
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-read-cache-')) })
  t.teardown(() => store.close())
  await store.createCluster('campus', '')
  const revisions = createRevisionService(store)
  const by = { actor: 'test', source: 'test' }
  await revisions.put('campus', specFor('campus'), by, { principal: SYSTEM_PRINCIPAL, message: 'one' })
  let reads = 0
  const counted = { getCluster: store.getCluster.bind(store), getRevision: async (c: string, n: number) => { reads++; return store.getRevision(c, n) } }
  const cached = cachedReads(revisions, counted)
  const first = await cached.latest('campus')
  t.equal(await cached.latest('campus'), first, 'the same record')
  t.equal(reads, 1, 'parsed once')
  t.ok(Object.isFrozen(first.spec) && Object.isFrozen(first.spec.departments[0]), 'frozen to the leaves')
  t.throws(() => { (first.spec.departments as unknown[]).push({}) }, TypeError)
  const next = specFor('campus')
  next.departments[0] = { ...next.departments[0], description: 'changed' }
  await cached.put('campus', next, by, { principal: SYSTEM_PRINCIPAL, message: 'two' })
  const second = await cached.latest('campus')
  t.equal(second.number, 2, 'the write is visible to the next read')
  t.equal(second.spec.departments[0]?.description, 'changed')
  let made = 0
  const make = () => { made++; return second.spec.departments }
  t.equal(serializedView(second, 'a', make), serializedView(second, 'a', make))
  serializedView(second, 'b', make)
  t.equal(made, 2, 'once per key')
  t.same(JSON.parse(serializedView(second, 'a', make)), second.spec.departments)
})

t.test('the newest number: asked once per bound, a write here seen at once, one made elsewhere within the bound', async (t) => {
  t.ok(LATEST_CACHE_MS <= 1000, 'the documented bound is at most 1 s')
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-read-cache-')) })
  t.teardown(() => store.close())
  await store.createCluster('campus', '')
  // Another process on the same store (the CLI, another replica): writes past the cache.
  const elsewhere = createRevisionService(store)
  const by = { actor: 'test', source: 'test' }
  const put = (service: typeof elsewhere, description: string) => {
    const spec = specFor('campus')
    spec.departments[0] = { ...spec.departments[0], description }
    return service.put('campus', spec, by, { principal: SYSTEM_PRINCIPAL, message: description })
  }
  await put(elsewhere, 'one')
  let clock = 1_000_000
  let asked = 0
  const counted = { getCluster: async (c: string) => { asked++; return store.getCluster(c) }, getRevision: store.getRevision.bind(store) }
  const cached = cachedReads(createRevisionService(store), counted, { latestMs: 500, now: () => clock })
  t.equal((await cached.latest('campus')).number, 1)
  t.equal((await cached.latest('campus')).number, 1)
  t.equal(asked, 1, 'the store is asked once within the bound')

  await put(elsewhere, 'two')
  clock += 499
  t.equal((await cached.latest('campus')).number, 1, 'a write made elsewhere may be unseen within the bound')
  clock += 1
  t.equal((await cached.latest('campus')).number, 2, 'and is seen once the bound has passed')
  t.equal(asked, 2)

  await put(cached, 'three')
  t.equal((await cached.latest('campus')).number, 3, 'a write through this service is seen by the next read')
  t.equal((await cached.latest('campus')).spec.departments[0]?.description, 'three')

  // A read that asked before a write here ended must not keep the older number.
  let release!: () => void
  const gate = new Promise<void>((resolve) => { release = resolve })
  const slow = cachedReads(createRevisionService(store), {
    getCluster: async (c: string) => { const r = await store.getCluster(c); await gate; return r },
    getRevision: store.getRevision.bind(store),
  }, { latestMs: 500, now: () => clock })
  const early = slow.latest('campus')
  await put(slow, 'four')
  release()
  t.equal((await early).number, 3, 'the early read answers what it read')
  const after = slow.latest('campus')
  t.equal((await after).number, 4, 'but its older number was not kept')

  await t.rejects(cached.edit('campus', () => { throw new Error('refused') }, by, { principal: SYSTEM_PRINCIPAL, message: 'x', action: 'x', resource: 'x' }), /refused/)
  const off = cachedReads(createRevisionService(store), counted, { latestMs: 0, now: () => clock })
  asked = 0
  await off.latest('campus')
  await off.latest('campus')
  t.equal(asked, 2, '0 turns the cache off')
})

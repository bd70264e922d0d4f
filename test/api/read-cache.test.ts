/**
 * Reads through the per-revision cache: a write is seen by the very next read, the cached
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
import { cachedReads, serializedView } from '../../src/api/read-cache.js'
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
  await revisions.put('campus', next, by, { principal: SYSTEM_PRINCIPAL, message: 'two' })
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

/**
 * What the read caches may and may not hide, through the app: a write through the API is
 * seen by the next read; a write made by another process on the same store within
 * `latestCacheMs`; a token revoked elsewhere stops working within `tokenCacheMs`; a
 * department-admin's cached view of an item never serves another scope (404, not 403).
 */
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parse } from 'yaml'
import type { InjectOptions } from 'fastify'
import { buildApp } from '../../src/api/app.js'
import { createStore } from '../../src/store/index.js'
import { createRevisionService } from '../../src/revisions/service.js'
import { SYSTEM_PRINCIPAL } from '../../src/auth/policy.js'
import { hashTokenSecret, newTokenSecret } from '../../src/auth/tokens.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = () => parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const BOUND_MS = 300

async function setup(t: Test) {
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-fresh-')) })
  const token = async (role: 'admin' | 'department-admin', departments: string[] = [], cluster?: string) => {
    const secret = newTokenSecret()
    const record = await store.createToken({ secretHash: hashTokenSecret(secret), role, departments, user: null, description: 'test', createdBy: 'test', ...(cluster ? { cluster } : {}) })
    return { secret, id: record.id }
  }
  const admin = await token('admin')
  const app = await buildApp({ store, tokenCacheMs: BOUND_MS, latestCacheMs: BOUND_MS }, { logger: false })
  t.teardown(async () => { await app.close(); await store.close() })
  const as = (secret: string, o: InjectOptions) => app.inject({ ...o, headers: { ...(o.headers ?? {}), authorization: `Bearer ${secret}` } })
  t.equal((await as(admin.secret, { method: 'POST', url: '/v1/clusters', payload: { name: 'campus', description: '' } })).statusCode, 201)
  t.equal((await as(admin.secret, { method: 'PUT', url: '/v1/clusters/campus/spec', payload: campus() })).statusCode, 200)
  return { store, app, as, admin, token }
}

const description = (body: string) => (JSON.parse(body) as { description?: string }).description

t.test('writes: through the API seen at once, from another process within the bound', async (t) => {
  const { store, as, admin } = await setup(t)
  const get = async () => description((await as(admin.secret, { method: 'GET', url: '/v1/clusters/campus/departments/nlp' })).body)
  t.equal(await get(), 'Natural Language Processing')
  const nlp = JSON.parse((await as(admin.secret, { method: 'GET', url: '/v1/clusters/campus/departments/nlp' })).body) as Record<string, unknown>
  const replaced = await as(admin.secret, { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...nlp, description: 'through the API' } })
  t.equal(replaced.statusCode, 200, replaced.body)
  t.equal(await get(), 'through the API', 'the next read sees the write')

  // Another process (the CLI, a replica) on the same store.
  const spec = campus()
  spec.departments[0] = { ...spec.departments[0]!, description: 'elsewhere' }
  const started = Date.now()
  await createRevisionService(store).put('campus', spec, { actor: 'test', source: 'test' }, { principal: SYSTEM_PRINCIPAL, message: 'elsewhere' })
  let seen = await get()
  while (seen !== 'elsewhere' && Date.now() - started < 5 * BOUND_MS) {
    await sleep(20)
    seen = await get()
  }
  t.equal(seen, 'elsewhere', 'seen')
  t.ok(Date.now() - started <= BOUND_MS + 300, `within the bound (${Date.now() - started} ms)`)
})

t.test('a token revoked in the store (not through this app) stops working within tokenCacheMs', async (t) => {
  const { store, as, token } = await setup(t)
  const cv = await token('department-admin', ['cv'], 'campus')
  const get = async () => (await as(cv.secret, { method: 'GET', url: '/v1/clusters/campus/departments/cv' })).statusCode
  t.equal(await get(), 200)
  const started = Date.now()
  await store.revokeToken(cv.id)
  let status = await get()
  while (status === 200 && Date.now() - started < 5 * BOUND_MS) {
    await sleep(20)
    status = await get()
  }
  t.equal(status, 401, 'refused')
  t.ok(Date.now() - started <= BOUND_MS + 300, `within the lifetime (${Date.now() - started} ms)`)
})

t.test('a cached item view never serves another scope: 404, not 403, for a department not its own', async (t) => {
  const { as, admin, token } = await setup(t)
  const cv = await token('department-admin', ['cv'], 'campus')
  const nlp = await token('department-admin', ['nlp'], 'campus')
  for (let i = 0; i < 3; i++) {
    t.equal((await as(admin.secret, { method: 'GET', url: '/v1/clusters/campus/departments/nlp' })).statusCode, 200)
    t.equal((await as(nlp.secret, { method: 'GET', url: '/v1/clusters/campus/departments/nlp' })).statusCode, 200)
    const refused = await as(cv.secret, { method: 'GET', url: '/v1/clusters/campus/departments/nlp' })
    t.equal(refused.statusCode, 404, 'the department is not its own')
    t.match(refused.body, /nlp/)
    t.equal((await as(cv.secret, { method: 'GET', url: '/v1/clusters/lab/departments/cv' })).statusCode, 404, 'nor another cluster')
  }
})

import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyServerOptions, InjectOptions } from 'fastify'
import { buildApp, type AppDeps } from '../../src/api/app.js'
import { createStore } from '../../src/store/index.js'
import { hashTokenSecret, newTokenSecret } from '../../src/auth/tokens.js'
import { aliasBombYaml, deepBlockYaml, deepJson } from '../../bench/hostile.js'

const campusText = readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')
const campus = () => parse(campusText) as Record<string, unknown>

/** The app on a fresh store with one researcher token; `inject` sends it unless told not to. */
async function appWithToken(t: Test, deps: Omit<AppDeps, 'store'> = {}, options: FastifyServerOptions = {}) {
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-app-')) })
  const secret = newTokenSecret()
  await store.createToken({ secretHash: hashTokenSecret(secret), role: 'researcher', departments: [], user: 'ada', description: 'test', createdBy: 'test' })
  const app = await buildApp({ ...deps, store }, options)
  t.teardown(async () => { await app.close(); await store.close() })
  const inject = (o: InjectOptions, token: string | null = secret) =>
    app.inject({ ...o, headers: { ...(o.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) } })
  return { app, store, inject }
}

t.test('GET /healthz answers ok', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('POST /v1/validate accepts the campus spec as JSON', async (t) => {
  const { inject } = await appWithToken(t)
  const res = await inject({ method: 'POST', url: '/v1/validate', payload: campus() })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { ok: true, errors: [] })
})

t.test('POST /v1/validate reads YAML and reports every problem with its path', async (t) => {
  const { inject } = await appWithToken(t)
  const text = campusText.replace('name: nlp\n    description', 'name: "nlp\\nNodeName=evil"\n    description')
  const res = await inject({ method: 'POST', url: '/v1/validate', payload: text, headers: { 'content-type': 'application/yaml' } })
  t.equal(res.statusCode, 200)
  const body = res.json() as { ok: boolean; errors: Array<{ path: string }> }
  t.equal(body.ok, false)
  t.ok(body.errors.some((e) => e.path === '/departments/0/name'))
})

t.test('POST /v1/render returns the files of a valid spec', async (t) => {
  const { inject } = await appWithToken(t)
  const res = await inject({ method: 'POST', url: '/v1/render', payload: campus() })
  t.equal(res.statusCode, 200)
  const body = res.json() as { hash: string; files: Array<{ name: string; content: string }> }
  t.same(body.files.map((f) => f.name), ['slurm.conf', 'gres.conf', 'cgroup.conf', 'pam_slurm_adopt.conf', 'provisioning_parameters.json'])
  t.match(body.files[0]?.content, /PartitionName=nlp Nodes=gpu-h100-\[001-016\] AllowAccounts=nlp,nlp-smith,nlp-garcia/)
  t.match(body.files[0]?.content, new RegExp(`sha256:${body.hash}`))
})

t.test('POST /v1/render refuses an invalid spec with 400 and the validation errors', async (t) => {
  const { inject } = await appWithToken(t)
  const spec = campus() as { qos: Array<{ name: string }> }
  spec.qos.push({ name: 'standard' })
  const res = await inject({ method: 'POST', url: '/v1/render', payload: spec })
  t.equal(res.statusCode, 400)
  const body = res.json() as { error: string; details: Array<{ path: string }> }
  t.equal(body.error, 'SpecInvalid')
  t.same(body.details.map((d) => d.path), ['/qos/4/name'])
})

t.test('malformed input is a 400 that names the problem', async (t) => {
  const { inject } = await appWithToken(t)
  const yaml = await inject({ method: 'POST', url: '/v1/render', payload: 'a: [1,', headers: { 'content-type': 'application/yaml' } })
  t.equal(yaml.statusCode, 400)
  t.equal((yaml.json() as { error: string }).error, 'SpecUnreadable')
  const json = await inject({ method: 'POST', url: '/v1/render', payload: '{"a":', headers: { 'content-type': 'application/json' } })
  t.equal(json.statusCode, 400)
})

t.test('an unknown route is a 404 in the error format', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/v1/nothing' })
  t.equal(res.statusCode, 404)
  t.same(Object.keys(res.json() as object).sort(), ['details', 'error', 'message'])
})

t.test('a body over the size limit is refused with 413', async (t) => {
  const { inject } = await appWithToken(t, {}, { bodyLimit: 1024 })
  const res = await inject({ method: 'POST', url: '/v1/validate', payload: { pad: 'x'.repeat(2048) } })
  t.equal(res.statusCode, 413)
})

t.test('the OpenAPI document is served at /docs', async (t) => {
  const { app } = await appWithToken(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const doc = res.json() as { openapi: string; paths: Record<string, unknown> }
  t.match(doc.openapi, /^3\./)
  t.ok(doc.paths['/v1/render'])
})

t.test('validate and render need a token of any role', async (t) => {
  const { inject } = await appWithToken(t)
  for (const url of ['/v1/validate', '/v1/render']) {
    const anonymous = await inject({ method: 'POST', url, payload: campus() }, null)
    t.equal(anonymous.statusCode, 401, `${url} without a token`)
    t.equal(anonymous.headers['www-authenticate'], 'Bearer')
    const researcher = await inject({ method: 'POST', url, payload: campus() })
    t.equal(researcher.statusCode, 200, `${url} with a researcher token`)
  }
})

t.test('validate and render are rate limited per token with 429 and Retry-After', async (t) => {
  const { inject, store } = await appWithToken(t, { specRateLimits: { validate: { max: 2, windowMs: 60_000 }, render: { max: 1, windowMs: 60_000 } } })
  for (let i = 0; i < 2; i++) t.equal((await inject({ method: 'POST', url: '/v1/validate', payload: campus() })).statusCode, 200)
  const limited = await inject({ method: 'POST', url: '/v1/validate', payload: campus() })
  t.equal(limited.statusCode, 429)
  t.match(limited.headers['retry-after'], /^\d+$/)
  t.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60)
  t.match(limited.json(), { error: 'TooManyRequests', message: /at most 2 validate requests per token every 60 s/ })
  t.equal((await inject({ method: 'POST', url: '/v1/render', payload: campus() })).statusCode, 200, 'render counts apart')
  t.equal((await inject({ method: 'POST', url: '/v1/render', payload: campus() })).statusCode, 429)
  const other = newTokenSecret()
  await store.createToken({ secretHash: hashTokenSecret(other), role: 'admin', departments: [], user: null, description: 'other', createdBy: 'test' })
  t.equal((await inject({ method: 'POST', url: '/v1/validate', payload: campus() }, other)).statusCode, 200, 'another token has its own allowance')
})

t.test('a YAML alias bomb is a 400 that says why, never a 500', async (t) => {
  const { inject } = await appWithToken(t)
  for (const url of ['/v1/validate', '/v1/render']) {
    const res = await inject({ method: 'POST', url, payload: aliasBombYaml(), headers: { 'content-type': 'application/yaml' } })
    t.equal(res.statusCode, 400, url)
    t.match(res.json(), { error: 'SpecUnreadable', message: /request body expands YAML aliases \(\*name\) more than 100 times/ })
    t.notMatch(res.body, /at .*\.js:\d+/, 'no stack trace')
  }
})

t.test('a body nested a million levels deep is a 400, as JSON or YAML', async (t) => {
  const { inject } = await appWithToken(t)
  const json = await inject({ method: 'POST', url: '/v1/validate', payload: deepJson(), headers: { 'content-type': 'application/json' } })
  t.equal(json.statusCode, 400)
  t.match(json.json(), { error: 'SpecUnreadable', message: /request body is nested more than 64 levels deep/ })
  const flow = await inject({ method: 'POST', url: '/v1/render', payload: deepJson(), headers: { 'content-type': 'application/yaml' } })
  t.equal(flow.statusCode, 400)
  t.match(flow.json(), { message: /nested more than 64 levels deep/ })
  const block = await inject({ method: 'POST', url: '/v1/validate', payload: deepBlockYaml(), headers: { 'content-type': 'application/yaml' } })
  t.equal(block.statusCode, 400)
  t.match(block.json(), { message: /indented more than 256 columns/ })
})

/**
 * GET /v1/schema serves a JSON Schema that a standard validator (Ajv, as editors'
 * yaml-language-server uses) compiles in strict mode and that accepts the example spec
 * and rejects broken ones where the spec loader does.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { buildApp } from '../../../src/api/app.js'
import { parseSpecText } from '../../../src/spec/load.js'
import { SPEC_SCHEMA_ID } from '../../../src/spec/json-schema.js'

const campus = parseSpecText(readFileSync(new URL('../../../examples/campus.yaml', import.meta.url), 'utf8')) as Record<string, unknown>

async function served(t: { teardown: (fn: () => unknown) => void }) {
  const app = await buildApp()
  t.teardown(() => app.close())
  const res = await app.inject({ method: 'GET', url: '/v1/schema' })
  return { app, res, schema: res.json() as Record<string, unknown> }
}

t.test('the schema is served without a token, as a cacheable JSON Schema document', async (t) => {
  const { res, schema } = await served(t)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^application\/schema\+json/)
  t.match(res.headers.etag, /^"sha256-[\w-]+"$/)
  t.match(res.headers['cache-control'], /public/)
  t.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#')
  t.equal(schema.$id, SPEC_SCHEMA_ID)
})

t.test('a client holding the current ETag gets 304 without a body; a stale one gets the schema', async (t) => {
  const { app, res } = await served(t)
  const etag = String(res.headers.etag)
  const cached = await app.inject({ method: 'GET', url: '/v1/schema', headers: { 'if-none-match': etag } })
  t.equal(cached.statusCode, 304)
  t.equal(cached.body, '')
  t.equal(cached.headers.etag, etag)
  const stale = await app.inject({ method: 'GET', url: '/v1/schema', headers: { 'if-none-match': '"sha256-old"' } })
  t.equal(stale.statusCode, 200)
})

t.test('Ajv in strict mode compiles it and accepts examples/campus.yaml', async (t) => {
  const { schema } = await served(t)
  const ajv = new Ajv({ strict: true, allErrors: true })
  const validate = ajv.compile(schema)
  t.ok(validate(campus), JSON.stringify(validate.errors))
})

t.test('it rejects what the loader rejects structurally, at the same place', async (t) => {
  const { schema } = await served(t)
  const validate = new Ajv({ strict: true, allErrors: true }).compile(schema)
  // [what, JSON pointer to set, value, where the error must be]
  const cases: Array<[string, string, unknown, string]> = [
    ['an unknown field', '/cluster/nmae', 'x', '/cluster'],
    ['a name outside the allowlist', '/departments/0/name', 'NLP;rm', '/departments/0/name'],
    ['a uid below 1000', '/users/0/uid', 10, '/users/0/uid'],
    ['a wrong apiVersion', '/apiVersion', 'steward/v2', '/apiVersion'],
    ['GPU sharing of an unknown mode', '/nodeGroups/1/gpus/sharing/mode', 'mig', '/nodeGroups/1/gpus/sharing/mode'],
  ]
  for (const [name, pointer, value, path] of cases) {
    const spec = structuredClone(campus)
    const keys = pointer.split('/').slice(1)
    const parent = keys.slice(0, -1).reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, spec)
    parent[keys.at(-1) ?? ''] = value
    t.notOk(validate(spec), name)
    t.ok(validate.errors?.some((e) => e.instancePath === path), `${name}: an error at ${path} (${JSON.stringify(validate.errors?.map((e) => e.instancePath))})`)
  }
})

t.test('the OpenAPI document lists the route', async (t) => {
  const app = await buildApp()
  t.teardown(() => app.close())
  await app.ready()
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> }
  t.ok(doc.paths['/v1/schema'])
})

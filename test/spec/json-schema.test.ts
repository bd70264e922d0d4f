/**
 * docs/cluster-spec.schema.json is the served schema, shipped for editors that work
 * offline (examples/campus.yaml points yaml-language-server at it). It must not go stale:
 * regenerate with `UPDATE_SCHEMA=1 npx tap test/spec/json-schema.test.ts`.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { specJsonSchema, specJsonSchemaDocument } from '../../src/spec/json-schema.js'
import { ClusterSpec } from '../../src/spec/schema.js'

const shipped = fileURLToPath(new URL('../../docs/cluster-spec.schema.json', import.meta.url))

t.test('the shipped schema file is the one the service serves', async (t) => {
  const { text } = specJsonSchemaDocument()
  if (process.env.UPDATE_SCHEMA) writeFileSync(shipped, text)
  t.equal(readFileSync(shipped, 'utf8'), text, 'docs/cluster-spec.schema.json is stale: regenerate it (see this file)')
})

t.test('the schema is the TypeBox schema with $schema and $id, and nothing lost', async (t) => {
  const schema = specJsonSchema()
  t.same(Object.keys(schema.properties as object), Object.keys(ClusterSpec.properties))
  t.same(schema.required, ClusterSpec.required)
  t.equal(schema.additionalProperties, false)
})

t.test('the example tells yaml-language-server where the schema is', async (t) => {
  const example = readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')
  t.match(example, /^# yaml-language-server: \$schema=\.\.\/docs\/cluster-spec\.schema\.json$/m)
})

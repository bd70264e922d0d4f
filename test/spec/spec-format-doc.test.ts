/**
 * docs/spec-format.md is the contract people read: every field of the schema must be
 * documented there (a field added to schema.ts without a line in the document fails here).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import type { TSchema } from '@sinclair/typebox'
import { ClusterSpec } from '../../src/spec/schema.js'

const doc = readFileSync(new URL('../../docs/spec-format.md', import.meta.url), 'utf8')

/** Every property of a schema, as dotted paths (`nodeGroups[].gpus.sharing.mode`). */
function fields(schema: TSchema, prefix = ''): string[] {
  const s = schema as { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[] }
  if (s.properties) {
    return Object.entries(s.properties).flatMap(([key, child]) => [`${prefix}${key}`, ...fields(child, `${prefix}${key}.`)])
  }
  if (s.items) return fields(s.items, prefix.replace(/\.$/, '[].'))
  return (s.anyOf ?? []).flatMap((child) => fields(child, prefix))
}

t.test('every field of the schema is in docs/spec-format.md', async (t) => {
  const all = [...new Set(fields(ClusterSpec))]
  t.ok(all.length > 60, `${all.length} fields`)
  // Backticked words of the document: a field counts as documented when its last name is
  // one of them, alone or as the last part of a dotted path such as `priority.maxAge`.
  const words = new Set([...doc.matchAll(/`([^`\n]+)`/g)].flatMap((m) => (m[1] ?? '').split(/[.\s,{}:[\]]+/)))
  for (const field of all) {
    const last = field.split('.').pop()?.replace('[]', '') ?? field
    t.ok(words.has(last), `${field} is documented`)
  }
})

t.test('the document does not send readers outside the repository', async (t) => {
  t.notMatch(doc, /\.\.\/shared|\/work\//)
})

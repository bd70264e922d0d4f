/**
 * The spec's JSON Schema (draft-07), derived from the TypeBox schema in `schema.ts`, for
 * editors (yaml-language-server, VS Code) and other tools. It is the structural contract
 * only: the semantic rules of `validate.ts` (references, uniqueness, ranges across
 * fields) need `steward validate` or `POST /v1/validate`.
 */
import { createHash } from 'node:crypto'
import { ClusterSpec } from './schema.js'

/** The schema's `$id`: a stable name, not a location, so copies of the schema compare equal. */
export const SPEC_SCHEMA_ID = 'urn:hpc-steward:schema:cluster-spec:steward-v1'

/** The JSON Schema of a cluster spec, as a plain JSON value (TypeBox's symbols dropped). */
export function specJsonSchema(): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(ClusterSpec)) as Record<string, unknown>
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SPEC_SCHEMA_ID,
    title: 'HPC Steward cluster spec (apiVersion steward/v1)',
    ...plain,
  }
}

/** The schema as served and shipped: pretty JSON with a trailing newline, and its strong ETag. */
export function specJsonSchemaDocument(): { text: string; etag: string } {
  const text = `${JSON.stringify(specJsonSchema(), null, 2)}\n`
  return { text, etag: `"sha256-${createHash('sha256').update(text).digest('base64url')}"` }
}

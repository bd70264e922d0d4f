/**
 * Reading a spec from text or a file: YAML or JSON (the same structure), then
 * validation. Input that is not a document at all is `SpecUnreadableError` (the CLI's
 * exit 2); a document with errors is `SpecInvalidError` (exit 1) with every problem.
 */
import { readFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import type * as YamlLibrary from 'yaml'
import type { ClusterSpec } from './schema.js'
import { SpecInvalidError, SpecUnreadableError, type ValidationResult } from './problems.js'
import { validateSpec } from './validate.js'
import { checkJsonNesting, checkYamlNesting, MAX_NESTING, valueDepth } from './nesting.js'
import { parseYamlFast } from './yaml-fast.js'

/** Largest spec accepted: a 65,536-node cluster with 50,000 users fits well below it. */
export const MAX_SPEC_BYTES = 32 * 1024 * 1024

/** Most alias expansions a spec may make: a real spec uses a few; a "billion laughs" bomb needs millions. */
export const MAX_ALIAS_COUNT = 100

/**
 * Parses YAML or JSON text into a plain value; throws `SpecUnreadableError` when it is
 * neither, or when it is built to exhaust the parser: nested past `MAX_NESTING` levels
 * or expanding aliases past `MAX_ALIAS_COUNT` (a YAML alias bomb).
 */
export function parseSpecText(text: string, source = 'spec'): unknown {
  if (Buffer.byteLength(text) > MAX_SPEC_BYTES) throw new SpecUnreadableError(`${source} is larger than ${MAX_SPEC_BYTES} bytes`)
  // Before the parser: the YAML composer recurses and spends seconds on deep flow nesting.
  checkYamlNesting(text, source)
  const fast = parseYamlFast(text)
  const value = fast ? fast.value : parseYamlExact(text, source)
  if (valueDepth(value) > MAX_NESTING) throw new SpecUnreadableError(`${source} is nested more than ${MAX_NESTING} levels deep; a spec needs about seven`)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SpecUnreadableError(`${source} must be a mapping with apiVersion, cluster, nodeGroups, qos, departments and users`)
  }
  return value
}

/** The `yaml` library's reading: exact error positions and alias limits (the fast path's fallback). */
function parseYamlExact(text: string, source: string): unknown {
  // JSON is YAML 1.2, so one parser reads both and reports positions the same way.
  // Loaded on first use: most specs never need it (yaml-fast.ts), and it is a large module.
  const { parseDocument } = createRequire(import.meta.url)('yaml') as typeof YamlLibrary
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const first = doc.errors[0]
    throw new SpecUnreadableError(`${source} is not valid YAML or JSON: ${first?.message ?? 'parse error'}`)
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
  } catch (err) {
    // yaml throws a ReferenceError for an alias bomb ("Excessive alias count ...").
    throw new SpecUnreadableError(`${source} expands YAML aliases (*name) more than ${MAX_ALIAS_COUNT} times: write the values out or use fewer aliases`, { cause: err })
  }
}

/**
 * Parses a request body: JSON with `JSON.parse` (far faster than the YAML parser on a
 * large spec) after the nesting scan, YAML with `parseSpecText`.
 */
export function parseSpecBody(text: string, format: 'json' | 'yaml', source = 'request body'): unknown {
  if (format === 'yaml') return parseSpecText(text, source)
  checkJsonNesting(text, source)
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new SpecUnreadableError(`${source} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
}

/** A spec that passed validation, with the warnings it had and its content hash. */
export interface LoadedSpec {
  spec: ClusterSpec
  warnings: ValidationResult['errors']
  /** sha256 of the canonical JSON of the spec: the same spec always hashes the same. */
  hash: string
}

/** Validates a parsed value and returns it as a spec, or throws `SpecInvalidError`. */
export function acceptSpec(value: unknown): LoadedSpec {
  const result = validateSpec(value)
  if (!result.ok) throw new SpecInvalidError(result.errors)
  const spec = value as ClusterSpec
  return { spec, warnings: result.errors, hash: specHash(spec) }
}

/** Reads and validates a spec file. */
export async function loadSpecFile(path: string): Promise<LoadedSpec> {
  return acceptSpec(parseSpecText(await readSpecFile(path), path))
}

/** Reads a spec file's text, turning a missing or unreadable file into `SpecUnreadableError`. */
export async function readSpecFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new SpecUnreadableError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot read (${code ?? 'error'})`, { cause: err })
  }
}

/** The hash of a spec's canonical JSON (keys sorted), stamped into every rendered file. */
export function specHash(spec: unknown): string {
  return createHash('sha256').update(canonicalJson(spec)).digest('hex')
}

/** JSON with object keys sorted, so equal specs give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    }
    return v
  })
}

/**
 * Structural validation against the TypeBox schema, with messages that say how to fix
 * the value rather than echo the schema. One problem per offending value.
 */
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Errors, ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { Problem } from './problems.js'
import { precompiledCheck, type Check } from './precompiled-check.js'

const compiled = new WeakMap<TSchema, Check>()

function checker(schema: TSchema): Check {
  let check = compiled.get(schema)
  if (!check) {
    check = precompiledCheck(schema) ?? ((compiledCheck) => (value: unknown) => compiledCheck.Check(value))(TypeCompiler.Compile(schema))
    compiled.set(schema, check)
  }
  return check
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function describe(error: ValueError): string {
  const hint = typeof error.schema.description === 'string' ? error.schema.description : undefined
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = error.path.split('/').pop() ?? ''
      return `unknown field "${key.replace(/~1/g, '/').replace(/~0/g, '~')}": remove it or check its spelling`
    }
    case ValueErrorType.ObjectRequiredProperty:
      return `is required${hint ? `: ${hint}` : ''}`
    case ValueErrorType.StringPattern:
    case ValueErrorType.StringFormat:
    case ValueErrorType.Union:
      return `${show(error.value)} is not allowed here; expected ${hint ?? error.message.toLowerCase()}`
    case ValueErrorType.String:
      return `expected a string${typeof error.value === 'number' ? ' (quote it in YAML, e.g. "22.05")' : ''}, got ${show(error.value)}`
    case ValueErrorType.StringMaxLength:
      return `is longer than ${String(error.schema.maxLength)} characters`
    case ValueErrorType.ArrayMaxItems:
      return `has ${Array.isArray(error.value) ? error.value.length : 'too many'} items; at most ${String(error.schema.maxItems)} are allowed`
    case ValueErrorType.Literal:
      return `must be ${show(error.schema.const)}, got ${show(error.value)}`
    default:
      return `${error.message}${hint ? ` (${hint})` : ''}, got ${show(error.value)}`
  }
}

/** The member of a union of objects tagged by a literal `type` that `value` names, if any. */
function taggedVariant(schema: TSchema, value: unknown): TSchema | undefined {
  if (!Array.isArray(schema.anyOf) || typeof value !== 'object' || value === null) return undefined
  const tag = (value as { type?: unknown }).type
  return (schema.anyOf as TSchema[]).find((s) => s.properties?.type?.const !== undefined && s.properties.type.const === tag)
}

/** What the schema says about a value: its problems, and whether a size limit was hit. */
export interface StructuralReport {
  problems: Problem[]
  /** A list over `maxItems`: too big to check further (the semantic rules scale with lists). */
  overLimit: boolean
}

/**
 * The structural problems of `value` against `schema`, one per path (the first, most
 * specific message wins), at most `max` of them, with `prefix` prepended to each path.
 */
export function structuralReport(schema: TSchema, value: unknown, max = Number.POSITIVE_INFINITY, prefix = ''): StructuralReport {
  if (checker(schema)(value)) return { problems: [], overLimit: false }
  const byPath = new Map<string, Problem>()
  // Paths with a problem below them, so a union error on a parent is dropped in O(depth).
  const parents = new Set<string>()
  let overLimit = false
  const add = (problem: Problem): void => {
    const path = problem.path
    if (byPath.has(path) || byPath.size >= max) return
    byPath.set(path, problem)
    for (let i = path.lastIndexOf('/'); i >= 0; i = path.lastIndexOf('/', i - 1)) {
      const parent = path.slice(0, i)
      if (parents.has(parent)) break
      parents.add(parent)
      if (i === 0) break
    }
  }
  for (const error of Errors(schema, value)) {
    if (byPath.size >= max) break
    if (error.type === ValueErrorType.ArrayMaxItems) overLimit = true
    const path = `${prefix}${error.path}`
    if (byPath.has(path)) continue
    // A tagged union ({type: a, ...} | {type: b, ...}): report against the variant the value names.
    const variant = error.type === ValueErrorType.Union ? taggedVariant(error.schema, error.value) : undefined
    if (variant) {
      const inner = structuralReport(variant, error.value, max - byPath.size, path)
      overLimit ||= inner.overLimit
      inner.problems.forEach(add)
      continue
    }
    // A union error on a parent whose child already reported is noise.
    if (error.type === ValueErrorType.Union && parents.has(path)) continue
    add({ path, message: describe(error), severity: 'error' })
  }
  return { problems: [...byPath.values()], overLimit }
}

/**
 * Every structural problem of `value` against `schema`, one per path (the first, most
 * specific message wins), with `prefix` prepended to each path.
 */
export function structuralProblems(schema: TSchema, value: unknown, prefix = ''): Problem[] {
  return structuralReport(schema, value, Number.POSITIVE_INFINITY, prefix).problems
}

/**
 * Structural validation against the TypeBox schema, with messages that say how to fix
 * the value rather than echo the schema. One problem per offending value.
 */
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { Problem } from './problems.js'

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>()

function checker(schema: TSchema): TypeCheck<TSchema> {
  let check = compiled.get(schema)
  if (!check) {
    check = TypeCompiler.Compile(schema)
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

/**
 * Every structural problem of `value` against `schema`, one per path (the first, most
 * specific message wins), with `prefix` prepended to each path.
 */
export function structuralProblems(schema: TSchema, value: unknown, prefix = ''): Problem[] {
  const check = checker(schema)
  if (check.Check(value)) return []
  const byPath = new Map<string, Problem>()
  for (const error of check.Errors(value)) {
    const path = `${prefix}${error.path}`
    if (byPath.has(path)) continue
    // A tagged union ({type: a, ...} | {type: b, ...}): report against the variant the value names.
    const variant = error.type === ValueErrorType.Union ? taggedVariant(error.schema, error.value) : undefined
    if (variant) {
      for (const p of structuralProblems(variant, error.value, path)) if (!byPath.has(p.path)) byPath.set(p.path, p)
      continue
    }
    // A union error on a parent whose child already reported is noise.
    if (error.type === ValueErrorType.Union && [...byPath.keys()].some((p) => p.startsWith(`${path}/`))) continue
    byPath.set(path, { path, message: describe(error), severity: 'error' })
  }
  return [...byPath.values()]
}

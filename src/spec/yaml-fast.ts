/**
 * A fast path for reading a spec: js-yaml with a schema that resolves plain scalars
 * exactly as the `yaml` library's YAML 1.2 core schema does (the regular expressions
 * below are that schema's). It reads a large spec several times faster than the `yaml`
 * library, whose document model is built for editing and exact error positions.
 *
 * It only ever says "here is the value" or "not me": a text with anchors or aliases
 * (`&`, `*`), a directive (`%YAML`), or anything js-yaml refuses (syntax errors,
 * duplicate keys, unknown tags, nesting deeper than 100) is left to the `yaml` library,
 * which reports errors with their position and applies the alias limits. So the fast
 * path changes how quickly a spec is read, not what it means. One known difference: a
 * mapping key longer than 1024 characters is a parse error for the `yaml` library and
 * is read here; no field of the spec has such a name, so validation refuses it as an
 * unknown field instead (test/spec/yaml-fast.test.ts).
 */
import { FAILSAFE_SCHEMA, Type, load } from 'js-yaml'

const scalar = (tag: string, test: RegExp, construct: (text: string) => unknown): Type =>
  new Type(`tag:yaml.org,2002:${tag}`, { kind: 'scalar', resolve: (text: string | null) => text !== null && test.test(text), construct })

/** YAML 1.2 core schema, as `yaml` (2.x) resolves it: null, bool, int (decimal, 0o, 0x), float. */
const CORE_AS_YAML_LIB = FAILSAFE_SCHEMA.extend({
  implicit: [
    scalar('null', /^(?:~|[Nn]ull|NULL)?$/, () => null),
    scalar('bool', /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/, (text) => text[0] === 't' || text[0] === 'T'),
    scalar('int', /^(?:[-+]?\d+|0o[0-7]+|0x[0-9a-fA-F]+)$/, (text) =>
      text.startsWith('0o') ? Number.parseInt(text.slice(2), 8) : text.startsWith('0x') ? Number.parseInt(text.slice(2), 16) : Number.parseInt(text, 10)),
    scalar('float', /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.\d+|\d+(?:\.\d*)?)[eE][-+]?\d+|[-+]?(?:\.\d+|\d+\.\d*))$/, (text) =>
      /nan$/i.test(text) ? Number.NaN : /inf$/i.test(text) ? (text.startsWith('-') ? -Infinity : Infinity) : Number.parseFloat(text)),
  ],
})

/** Characters and lines the fast path leaves to the `yaml` library (anchors, aliases, directives). */
const NOT_FOR_FAST_PATH = /[&*]|^%/m

/** The value of a YAML or JSON text, or `undefined` when the `yaml` library must read it. */
export function parseYamlFast(text: string): { value: unknown } | undefined {
  if (NOT_FOR_FAST_PATH.test(text)) return undefined
  try {
    return { value: load(text, { schema: CORE_AS_YAML_LIB }) }
  } catch {
    // Any refusal (syntax, duplicate key, tag, depth, stack): the `yaml` library reads it and says why.
    return undefined
  }
}

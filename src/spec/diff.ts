/**
 * A structural diff of two specs for humans and the audit log: lists of named items
 * (departments, users, QoS, ...) are matched by name, so moving a user shows as one
 * change to that user rather than a shifted array.
 */

export interface SpecChange {
  op: 'add' | 'remove' | 'change'
  /** JSON pointer with names for named items: `/departments/nlp/supervisors/smith/users`. */
  path: string
  before?: unknown
  after?: unknown
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNamedList = (v: unknown): v is Array<{ name: string }> =>
  Array.isArray(v) && v.every((i) => isObject(i) && typeof i.name === 'string')

/** Every difference from `before` to `after`, in a stable order. */
export function diffSpecs(before: unknown, after: unknown, path = ''): SpecChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return []
  if (before === undefined) return [{ op: 'add', path, after }]
  if (after === undefined) return [{ op: 'remove', path, before }]
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
    return keys.flatMap((k) => diffSpecs(before[k], after[k], `${path}/${k}`))
  }
  if (isNamedList(before) && isNamedList(after) && (before.length > 0 || after.length > 0)) {
    const old = new Map(before.map((i) => [i.name, i]))
    const now = new Map(after.map((i) => [i.name, i]))
    const names = [...new Set([...old.keys(), ...now.keys()])]
    return names.flatMap((n) => diffSpecs(old.get(n), now.get(n), `${path}/${n}`))
  }
  return [{ op: 'change', path, before, after }]
}

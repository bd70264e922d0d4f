/**
 * The campus example (examples/campus.yaml) for the spec rules' tests: a fresh copy to
 * change, the errors the validator finds in a spec, and the check that an optional section
 * is optional.
 */
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { validateSpec } from '../../src/spec/validate.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const text = readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')

/** A fresh copy of the campus example: each caller may change its own. */
export const campus = (): ClusterSpec => parse(text) as ClusterSpec

/** The problems of severity error the validator finds in `spec`. */
export const errorsOf = (spec: unknown) => validateSpec(spec).errors.filter((p) => p.severity === 'error')

/** `spec` is valid with no problem at all, and still valid without `sections` (they are optional). */
export function validWithAndWithout(t: Test, spec: () => ClusterSpec, sections: Array<keyof ClusterSpec>): void {
  t.same(validateSpec(spec()).errors, [])
  const without = spec()
  for (const s of sections) delete without[s]
  t.equal(validateSpec(without).ok, true)
}

/**
 * The build-time check (dist/spec-check.cjs) answers exactly as TypeBox's run-time
 * compilation does, and is used only for the schema it was made from.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { precompileChecks, precompiledCheck } from '../../src/spec/precompiled-check.js'
import { ClusterSpec } from '../../src/spec/schema.js'
import { parseSpecText } from '../../src/spec/load.js'

const campus = parseSpecText(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as Record<string, unknown>
const file = join(mkdtempSync(join(tmpdir(), 'steward-check-')), 'spec-check.cjs')
writeFileSync(file, precompileChecks([ClusterSpec]))

t.test('the precompiled check agrees with the run-time compiled one', async (t) => {
  const check = precompiledCheck(ClusterSpec, file)
  t.ok(check, 'found by the schema digest')
  const compiled = TypeCompiler.Compile(ClusterSpec)
  const broken = [
    { ...campus, apiVersion: 'steward/v2' },
    { ...campus, extra: 1 },
    { ...campus, users: [{ name: 'Bad Name', uid: 5 }] },
    { ...campus, nodeGroups: 'none' },
    {},
  ]
  t.equal(check?.(campus), true)
  t.equal(compiled.Check(campus), true)
  for (const value of broken) t.equal(check?.(value), compiled.Check(value), JSON.stringify(value).slice(0, 80))
})

t.test('another schema (one changed since the build) finds no precompiled check', async (t) => {
  t.equal(precompiledCheck(Type.Object({ apiVersion: Type.String() }), file), undefined)
  t.equal(precompiledCheck(ClusterSpec, '/nonexistent/spec-check.cjs'), undefined)
})

/** The policy's `budgets` part: budget name -> department and contacts, stable text, checked by the Lambdas' schema. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { Value } from '@sinclair/typebox/value'
import { buildPolicy, Policy, PolicyBudgets, policyText } from '../../src/sessions/policy.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('without budgets the part is null; with them, sorted, contacts lower-cased and unique', async (t) => {
  t.equal(buildPolicy(spec).budgets, null)
  const a = buildPolicy(spec, { byName: { 'hpc-steward-campus': { department: null, contacts: ['Ops@Example.edu', 'ops@example.edu', 'cfo@example.edu'] }, 'campus-physics': { department: 'physics', contacts: [] } } })
  const b = buildPolicy(spec, { byName: { 'campus-physics': { department: 'physics', contacts: [] }, 'hpc-steward-campus': { department: null, contacts: ['cfo@example.edu', 'ops@example.edu'] } } })
  t.same(a.budgets, { byName: { 'campus-physics': { department: 'physics', contacts: [] }, 'hpc-steward-campus': { department: null, contacts: ['cfo@example.edu', 'ops@example.edu'] } } })
  t.equal(policyText(a), policyText(b), 'the same budgets give the same text')
  t.ok(Value.Check(Policy, a))
})

t.test('the schema refuses what the Lambda could not use', async (t) => {
  const ok = { department: null, contacts: ['x@example.org'] }
  t.ok(Value.Check(PolicyBudgets, { byName: { b: ok } }))
  t.notOk(Value.Check(PolicyBudgets, { byName: { 'a:b': ok } }), 'a name AWS Budgets refuses')
  t.notOk(Value.Check(PolicyBudgets, { byName: { b: { ...ok, department: 'Physics!' } } }))
  t.notOk(Value.Check(PolicyBudgets, { byName: { b: { ...ok, contacts: ['not an address'] } } }))
  t.notOk(Value.Check(Policy, { ...buildPolicy(spec), budgets: { anything: true } }), 'budgets is no longer free-form')
})

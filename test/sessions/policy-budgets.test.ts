/** The policy's `budgets` part: budget name -> department and contacts, stable text, checked by the Lambdas' schema. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { Value } from '@sinclair/typebox/value'
import { buildPolicy, departmentBudgetName, Policy, PolicyBudgets, policyBudgetsOf, policyText } from '../../src/sessions/policy.js'
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

t.test('from the spec: the cluster budget by its awsBudgetName, each department by <cluster>-<department>', async (t) => {
  const s = structuredClone(spec)
  s.budgets = {
    cluster: { monthly: 1000, thresholds: [80, 100], awsBudgetName: 'hpc-steward-campus', notify: ['Ops@Example.edu'] },
    departments: [{ department: 'nlp', monthly: 50, thresholds: [100], onExceeded: 'block', notify: ['pi@example.edu'] }, { department: 'cv', monthly: 10, thresholds: [100], onExceeded: 'notify' }],
  }
  t.same(policyBudgetsOf(s), { byName: {
    'hpc-steward-campus': { department: null, contacts: ['Ops@Example.edu'] },
    [departmentBudgetName(s.cluster.name, 'nlp')]: { department: 'nlp', contacts: ['pi@example.edu'] },
    [`${s.cluster.name}-cv`]: { department: 'cv', contacts: [] },
  } })
  const policy = buildPolicy(s)
  t.same(Object.keys(policy.budgets?.byName ?? {}), [`${s.cluster.name}-cv`, `${s.cluster.name}-nlp`, 'hpc-steward-campus'])
  t.same(policy.budgets?.byName['hpc-steward-campus'], { department: null, contacts: ['ops@example.edu'] })
  t.ok(Value.Check(Policy, policy))
  t.equal(buildPolicy(s, null).budgets, null, 'an explicit null still means none')
})

import t from 'tap'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { campus, errorsOf, validWithAndWithout } from '../support/campus-spec.js'
import { departmentPreemptibleQos } from '../../src/spec/budget-rules.js'

/** The campus example with prices and budgets. */
function spec(): ClusterSpec {
  const s = campus()
  s.pricing = { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } }
  s.budgets = {
    cluster: { monthly: 250000, thresholds: [80, 100], awsBudgetName: 'campus-monthly', notify: ['hpc-admins@uni.example.edu'] },
    departments: [
      { department: 'nlp', monthly: 40000, thresholds: [50, 80, 100], onExceeded: 'restrict', notify: ['pi-nlp@uni.example.edu'] },
      { department: 'cv', monthly: 12000.5, thresholds: [90, 100], onExceeded: 'block' },
      { department: 'dl', monthly: 8000, thresholds: [100], onExceeded: 'notify' },
    ],
  }
  return s
}

const errors = (s: unknown) => errorsOf(s).map((p) => `${p.path} ${p.message}`)

t.test('a spec with pricing and budgets is valid; without them it means the same as before', async (t) => {
  validWithAndWithout(t, spec, ['pricing', 'budgets'])
})

t.test('a price for an unknown node group is an error at its path', async (t) => {
  const s = spec()
  s.pricing!.nodeGroups['v100'] = 2
  t.match(errors(s).join('\n'), /^\/pricing\/nodeGroups\/v100 price for unknown node group "v100"/m)
})

t.test('thresholds above 1000 % are refused at their path; duplicates too', async (t) => {
  const s = spec()
  s.budgets!.departments![1]!.thresholds = [90, 1000.5]
  s.budgets!.cluster!.thresholds = [50, 50]
  const found = errors(s).join('\n')
  t.match(found, /^\/budgets\/departments\/1\/thresholds\/1 /m)
  t.match(found, /^\/budgets\/cluster\/thresholds\/1 threshold 50 is listed twice/m)
  const zero = spec()
  zero.budgets!.departments![0]!.thresholds = [0]
  t.match(errors(zero).join('\n'), /^\/budgets\/departments\/0\/thresholds\/0 /m)
})

t.test('a budget for an unknown department, or a second one for a department', async (t) => {
  const s = spec()
  s.budgets!.departments!.push({ department: 'physics', monthly: 10, thresholds: [100], onExceeded: 'block' })
  s.budgets!.departments!.push({ department: 'cv', monthly: 10, thresholds: [100], onExceeded: 'block' })
  const found = errors(s).join('\n')
  t.match(found, /^\/budgets\/departments\/3\/department budget for unknown department "physics"/m)
  t.match(found, /^\/budgets\/departments\/4\/department department "cv" already has a budget at \/budgets\/departments\/1/m)
})

t.test('money with more than four decimals, budgets without pricing, restrict without a preemptible QoS', async (t) => {
  const s = spec()
  s.pricing!.nodeGroups['cpu'] = 3.00001
  s.budgets!.departments![2]!.monthly = 1.123456
  const found = errors(s).join('\n')
  t.match(found, /^\/pricing\/nodeGroups\/cpu price 3.00001 has more than 4 decimals/m)
  t.match(found, /^\/budgets\/departments\/2\/monthly /m)
  const noPricing = spec()
  delete noPricing.pricing
  t.match(errors(noPricing).join('\n'), /^\/budgets\/departments department budgets need pricing/m)
  const noScavenger = spec()
  noScavenger.departments[0]!.qos = ['standard', 'long']
  noScavenger.departments[0]!.defaultQos = 'standard'
  t.match(errors(noScavenger).join('\n'), /^\/budgets\/departments\/0\/onExceeded restrict leaves department "nlp" only its preemptible QoS/m)
})

t.test('the preemptible QoS: a partition with a preemptMode, or a QoS another preempts', async (t) => {
  const s = spec()
  t.same(departmentPreemptibleQos(s, s.departments[0]!), ['scavenger'])
  s.qos[0]!.preempt = ['long']
  t.same(departmentPreemptibleQos(s, s.departments[0]!), ['long', 'scavenger'])
})

t.test('structural errors: unknown fields, a bad action, a bad currency', async (t) => {
  const s = spec() as unknown as { budgets: { departments: Record<string, unknown>[] }; pricing: Record<string, unknown> }
  s.budgets.departments[0]!['onExceeded'] = 'kill'
  s.pricing['currency'] = 'usd'
  s.budgets.departments[1]!['limit'] = 3
  const found = errors(s).join('\n')
  t.match(found, /\/budgets\/departments\/0\/onExceeded/)
  t.match(found, /\/pricing\/currency/)
  t.match(found, /\/budgets\/departments\/1/)
})

t.test('the cluster budget fits AWS Budgets quotas: at most 2 thresholds, 10 e-mail subscribers', async (t) => {
  const ok = spec()
  ok.budgets!.cluster!.thresholds = [80, 100]
  ok.budgets!.cluster!.notify = Array.from({ length: 10 }, (_, i) => `a${i}@example.edu`)
  t.same(errors(ok), [])
  const three = spec()
  three.budgets!.cluster!.thresholds = [50, 80, 100]
  t.match(errors(three).join('\n'), /^\/budgets\/cluster\/thresholds 3 thresholds make 6 AWS Budgets notifications .*at most 2 thresholds/m)
  const eleven = spec()
  eleven.budgets!.cluster!.notify = Array.from({ length: 11 }, (_, i) => `a${i}@example.edu`)
  t.match(errors(eleven).join('\n'), /^\/budgets\/cluster\/notify has 11 items; at most 10/m)
})

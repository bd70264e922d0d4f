/**
 * Budget actions in the accounting plan: `restrict` leaves a department's accounts and
 * associations only its preemptible QoS, `block` sets GrpSubmitJobs=0 GrpJobs=0 on the
 * department account; without them the plan sets everything back. Pure: states in, plan out.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { desiredAccounting, desiredState } from '../../src/accounting/desired.js'
import { planFromStates } from '../../src/accounting/plan.js'
import { associationKey } from '../../src/accounting/model.js'
import { parseLiveAccounting } from '../../src/accounting/live.js'

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const summaries = (spec: ClusterSpec, live: ReturnType<typeof desiredAccounting>, actions = new Map<string, 'restrict' | 'block'>()) =>
  planFromStates(desiredState(spec, actions), { accounting: live }).operations.map((o) => o.argv.slice(1).join(' '))

t.test('restrict: only the preemptible QoS on the department, its supervisor accounts and users', async (t) => {
  const state = desiredAccounting(campus, new Map([['nlp', 'restrict']]))
  t.match(state.accounts.get('nlp'), { qos: ['scavenger'], defaultQos: 'scavenger', blocked: false })
  t.match(state.accounts.get('nlp-smith'), { qos: ['scavenger'], defaultQos: 'scavenger' })
  t.match(state.associations.get(associationKey('alice', 'nlp-smith')), { qos: ['scavenger'], defaultQos: 'scavenger' })
  t.match(state.accounts.get('cv'), { qos: ['interactive', 'scavenger', 'standard'], defaultQos: 'standard' }, 'other departments untouched')
  const ops = summaries(campus, desiredAccounting(campus), new Map([['nlp', 'restrict']]))
  t.ok(ops.includes('-i modify user where name=alice,bob account=nlp-smith cluster=campus set QOS=scavenger DefaultQOS=scavenger'), ops.join('\n'))
  t.ok(ops.some((o) => /modify account where name=nlp-smith,nlp-garcia cluster=campus set QOS=scavenger DefaultQOS=scavenger/.test(o)), 'supervisor accounts first')
  t.ok(ops.indexOf(ops.find((o) => /name=nlp cluster/.test(o))!) > ops.indexOf(ops.find((o) => /name=nlp-smith,nlp-garcia/.test(o))!), 'then the department account')
  t.same(summaries(campus, desiredAccounting(campus, new Map([['nlp', 'restrict']]))).filter((o) => /QOS=/.test(o)).length > 0, true, 'ending it sets the QoS back')
})

t.test('block: GrpSubmitJobs=0 GrpJobs=0 on the department account; unblock sets back only what is 0', async (t) => {
  const ops = summaries(campus, desiredAccounting(campus), new Map([['cv', 'block']]))
  t.same(ops, ['-i modify account where name=cv cluster=campus set GrpSubmitJobs=0 GrpJobs=0'])
  const live = desiredAccounting(campus, new Map([['cv', 'block']]))
  live.accounts.get('cv')!.zeroLimits = ['GrpJobs', 'GrpSubmitJobs']
  t.same(summaries(campus, live, new Map([['cv', 'block']])), [], 'in force: nothing to do')
  t.same(summaries(campus, live), ['-i modify account where name=cv cluster=campus set GrpJobs=-1 GrpSubmitJobs=-1'])
  live.accounts.get('cv')!.blocked = false
  live.accounts.get('cv')!.zeroLimits = ['GrpJobs']
  t.same(summaries(campus, live, new Map([['cv', 'block']])), ['-i modify account where name=cv cluster=campus set GrpSubmitJobs=0 GrpJobs=0'], 'half a block is completed')
})

t.test('the limits read with the associations: GrpJobs and GrpSubmit of account associations of this cluster', async (t) => {
  const base = { qos: '', accounts: 'cv||\n', users: '' }
  const assocs = [
    'campus|cv||root||1|||0|0',
    'campus|cv-chen||cv||1|||5|',
    'campus|cv|dave|||1|||0|0',
    'other|cv||root||1|||0|0',
    'other|nlp||root||1|||0|0',
  ].join('\n')
  const state = parseLiveAccounting('campus', { ...base, assocs })
  t.match(state.accounts.get('cv'), { blocked: true, zeroLimits: ['GrpJobs', 'GrpSubmitJobs'] })
  t.match(state.accounts.get('cv-chen'), { blocked: false, zeroLimits: [] })
  t.equal(state.accounts.get('nlp'), undefined, "another cluster's association is not this cluster's account")
  const unblocked = parseLiveAccounting('campus', { ...base, assocs: 'campus|cv||root||1|||0|\nother|cv||root||1|||0|0\n' })
  t.match(unblocked.accounts.get('cv'), { blocked: false, zeroLimits: ['GrpJobs'] }, "another cluster's block does not count; half a block is not one")
})

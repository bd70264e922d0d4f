/**
 * Budget actions in the accounting plan: `restrict` leaves a department's accounts and
 * associations only its preemptible QoS, `block` sets GrpSubmitJobs=0 GrpJobs=0 on the
 * department account; without them the plan sets everything back. Pure: states in, plan out.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { budgetActionsInForce, desiredAccounting, desiredState } from '../../src/accounting/desired.js'
import { planOnCluster } from '../../src/accounting/cluster.js'
import type * as ClusterModule from '../../src/accounting/cluster.js'
import type { Executor } from '../../src/adapters/executor.js'
import { planFromStates } from '../../src/accounting/plan.js'
import { associationKey } from '../../src/accounting/model.js'
import { parseLiveAccounting, readCommands } from '../../src/accounting/live.js'

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
/** The campus spec with a blocking budget on cv and a restricting one on nlp. */
const campusWithBudgets: ClusterSpec = {
  ...campus,
  budgets: { departments: [
    { department: 'cv', monthly: 100, thresholds: [100], onExceeded: 'block' },
    { department: 'nlp', monthly: 100, thresholds: [100], onExceeded: 'restrict' },
  ] },
}
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

t.test('without a record of actions (the CLI), the budget actions live on the cluster that the budgets explain are kept', async (t) => {
  const spec = campusWithBudgets
  const live = desiredAccounting(spec, new Map([['cv', 'block'], ['nlp', 'restrict']]))
  live.accounts.get('cv')!.zeroLimits = ['GrpJobs', 'GrpSubmitJobs']
  t.same([...budgetActionsInForce(spec, live)], [['cv', 'block'], ['nlp', 'restrict']])
  const executor = liveExecutor(live)
  const plan = await planOnCluster(executor, spec, { posix: false })
  t.same(plan.operations.map((o) => o.argv.join(' ')), [], 'nothing undone')
  t.same(plan.warnings.map((w) => w.subject), ['department cv', 'department nlp'])
  t.match(plan.warnings[0]?.message, /block is in force and kept/)
  const lifted = await planOnCluster(executor, spec, { posix: false, budgetActions: new Map() })
  t.ok(lifted.operations.some((o) => /name=cv cluster=campus set GrpJobs=-1 GrpSubmitJobs=-1/.test(o.argv.join(' '))), 'the service, which knows none is in force, lifts them')
  t.ok(lifted.operations.some((o) => /name=nlp cluster=campus set QOS=/.test(o.argv.join(' '))))

  const noBudgets: ClusterSpec = { ...campus, budgets: { departments: [{ department: 'cv', monthly: 100, thresholds: [100], onExceeded: 'restrict' }] } }
  t.same([...budgetActionsInForce(noBudgets, live)], [], 'a block the budgets do not explain (cv restricts, nlp has no budget) is a hand edit')
  const undo = await planOnCluster(executor, noBudgets, { posix: false })
  t.ok(undo.operations.some((o) => /name=cv cluster=campus set GrpJobs=-1 GrpSubmitJobs=-1/.test(o.argv.join(' '))), 'and is undone')
})

t.test('the CLI\'s plan (no record of actions) builds the desired accounting once, kept actions included; the same plan', async (t) => {
  const spec = campusWithBudgets
  const actual = await import('../../src/accounting/desired.js')
  const built: string[] = []
  const { planOnCluster: counted } = await t.mockImport<typeof ClusterModule>('../../src/accounting/cluster.js', {
    '../../src/accounting/desired.js': {
      ...actual,
      desiredState: (...a: Parameters<typeof actual.desiredState>) => { built.push(`desiredState ${JSON.stringify([...a[1] ?? []])}`); return actual.desiredState(...a) },
      desiredAccounting: (...a: Parameters<typeof actual.desiredAccounting>) => { built.push(`desiredAccounting ${JSON.stringify([...a[1] ?? []])}`); return actual.desiredAccounting(...a) },
    },
  })
  const live = desiredAccounting(spec, new Map([['cv', 'block'], ['nlp', 'restrict']]))
  live.accounts.get('cv')!.zeroLimits = ['GrpJobs', 'GrpSubmitJobs']
  // Some of the live state differs from the spec (a fairshare), so the plan has work besides the kept actions.
  live.accounts.get('dl')!.fairshare = 7
  const executor = liveExecutor(live)
  const kept = new Map([['cv', 'block'], ['nlp', 'restrict']] as const)
  const expected = planFromStates(desiredState(spec, kept), { accounting: parseLiveAccounting(spec.cluster.name, await readLive(executor)) })
  for (const [name, budgetActions] of [['the CLI', undefined], ['the service', kept]] as const) {
    built.length = 0
    const plan = await counted(executor, spec, { posix: false, budgetActions })
    t.same(built, [`desiredAccounting ${JSON.stringify([...kept])}`], `${name}: one build, with the actions`)
    t.same(plan.operations, expected.operations, `${name}: the plan of the spec with the actions in force`)
    t.ok(plan.operations.length > 0 && plan.operations.every((o) => !/GrpJobs=-1|name=nlp cluster=campus set QOS=/.test(o.argv.join(' '))), `${name}: dl's fairshare set, the actions not undone`)
  }
})

/** The four accounting reads' outputs from `executor`, as planOnCluster reads them. */
async function readLive(executor: Executor) {
  const reads = readCommands()
  const out = async (argv: readonly string[]) => (await executor.run(argv)).stdout
  return { qos: await out(reads.qos), accounts: await out(reads.accounts), assocs: await out(reads.assocs), users: await out(reads.users) }
}

/** An executor answering the four accounting reads with `state` as sacctmgr would print it. */
function liveExecutor(state: ReturnType<typeof desiredAccounting>): Executor {
  const reads = readCommands()
  const assocs = [
    ...[...state.accounts.values()].map((a) => [state.cluster, a.name, '', a.parent, '', a.fairshare, a.qos.join(','), a.defaultQos ?? '', a.blocked ? '0' : '', a.blocked ? '0' : ''].join('|')),
    ...[...state.associations.values()].map((a) => [state.cluster, a.account, a.user, '', '', '1', a.qos.join(','), a.defaultQos ?? '', '', ''].join('|')),
  ].join('\n')
  const qos = [...state.qos.values()].map((q) => [q.name, q.priority, q.maxTresPerUser, q.maxTresPerJob, q.grpTres, q.maxWall ?? '', q.maxJobsPerUser ?? '', q.maxSubmitJobsPerUser ?? '', q.preempt.join(','), q.preemptMode, q.usageFactor, q.flags.join(','), q.description ?? ''].join('|')).join('\n')
  const accounts = [...state.accounts.values()].map((a) => [a.name, a.organization ?? '', a.description ?? ''].join('|')).join('\n')
  const users = [...state.users.values()].map((u) => `${u.name}|${u.defaultAccount}`).join('\n')
  const out: Record<string, string> = { [reads.qos.join(' ')]: qos, [reads.accounts.join(' ')]: accounts, [reads.assocs.join(' ')]: assocs, [reads.users.join(' ')]: users }
  return {
    target: 'test',
    run: async (argv) => ({ code: 0, stdout: out[argv.join(' ')] ?? '', stderr: '' }),
  } as Executor
}

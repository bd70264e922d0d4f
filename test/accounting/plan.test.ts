import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseSpecText, acceptSpec } from '../../src/spec/load.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { parseLiveAccounting, type LiveOutputs } from '../../src/accounting/live.js'
import { planSpec, type PlanOptions } from '../../src/accounting/plan.js'
import { PHASES } from '../../src/accounting/operations.js'
import { PlanClashError } from '../../src/accounting/errors.js'

// Live states are sacctmgr output captured from the sandbox's slurmdbd (22.05.8):
// fresh = a new database before `add cluster`; empty-cluster = right after it;
// campus = after applying campus.yaml; campus-changed = after applying campus-changed.yaml --prune.
// Associations are read for every cluster (Cluster first); `moreAssocs` adds other clusters' rows.
const here = (path: string): URL => new URL(path, import.meta.url)
function live(name: string, moreAssocs = ''): ReturnType<typeof parseLiveAccounting> {
  const read = (k: string): string => readFileSync(here(`./fixtures/${name}/${k}.txt`), 'utf8')
  const out: LiveOutputs = { qos: read('qos'), accounts: read('accounts'), assocs: read('assocs') + moreAssocs, users: read('users') }
  return parseLiveAccounting('campus', out)
}
function spec(name: string): ClusterSpec {
  return acceptSpec(parseSpecText(readFileSync(here(`./fixtures/specs/${name}.yaml`), 'utf8'))).spec
}
const argvs2 = (s: ClusterSpec, liveName: string, options: PlanOptions = {}): string[] =>
  planSpec(s, { accounting: live(liveName) }, options).operations.map((o) => o.argv.join(' '))
const argvs = (specName: string, liveName: string, options: PlanOptions = {}): string[] => argvs2(spec(specName), liveName, options)

t.test('a spec already applied plans nothing, with or without --prune', async (t) => {
  t.same(argvs('campus', 'campus'), [])
  t.same(argvs('campus', 'campus', { prune: true }), [], 'Slurm\'s own normal QoS and root are kept')
  t.same(argvs('campus-changed', 'campus-changed', { prune: true }), [])
})

t.test('campus.yaml on an empty accounting database plans the whole tree in order', async (t) => {
  const ops = argvs('campus', 'empty-cluster')
  t.same(ops, [
    'sacctmgr -i add qos standard Description=default research qos Priority=100 MaxTRESPerUser=cpu=256,gres/gpu=8 MaxWall=2-00:00:00 MaxJobsPerUser=20 MaxSubmitJobsPerUser=200',
    'sacctmgr -i add qos long Description=multi-day runs, few gpus Priority=10 MaxTRESPerUser=gres/gpu=2 MaxWall=7-00:00:00 MaxJobsPerUser=2',
    'sacctmgr -i add qos interactive Description=short interactive sessions Priority=1000 MaxTRESPerUser=cpu=16,gres/gpu=1 MaxWall=04:00:00 MaxJobsPerUser=1',
    'sacctmgr -i add qos scavenger Description=preemptible use of idle nodes MaxWall=1-00:00:00 UsageFactor=0',
    'sacctmgr -i add account nlp cluster=campus parent=root Fairshare=40 QOS=interactive,long,scavenger,standard DefaultQOS=standard Description=natural language processing Organization=computer-science',
    'sacctmgr -i add account cv cluster=campus parent=root Fairshare=35 QOS=interactive,scavenger,standard DefaultQOS=standard Description=computer vision Organization=computer-science',
    'sacctmgr -i add account dl cluster=campus parent=root Fairshare=25 QOS=long,scavenger,standard DefaultQOS=standard Description=deep learning lab Organization=engineering',
    'sacctmgr -i add account nlp-smith cluster=campus parent=nlp Fairshare=60 QOS=interactive,long,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add account nlp-garcia cluster=campus parent=nlp Fairshare=40 QOS=interactive,long,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add account cv-chen cluster=campus parent=cv Fairshare=100 QOS=interactive,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add account dl-okafor cluster=campus parent=dl Fairshare=100 QOS=long,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add user alice account=nlp-smith cluster=campus DefaultAccount=nlp-smith QOS=interactive,long,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add user bob,carol account=nlp-garcia cluster=campus DefaultAccount=nlp-garcia QOS=interactive,long,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add user dave,erin account=cv-chen cluster=campus DefaultAccount=cv-chen QOS=interactive,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add user frank account=dl-okafor cluster=campus DefaultAccount=dl-okafor QOS=long,scavenger,standard DefaultQOS=standard',
    'sacctmgr -i add user bob account=nlp-smith cluster=campus QOS=interactive,long,scavenger,standard DefaultQOS=standard',
  ])
})

t.test('a database that does not know the cluster gets it registered first', async (t) => {
  const ops = argvs('campus', 'fresh')
  t.equal(ops[0], 'sacctmgr -i add cluster campus')
  t.equal(ops.length, 17)
})

t.test('moving a user, changing a limit, a default account and a default QoS, and dropping a department with --prune', async (t) => {
  const plan = planSpec(spec('campus-changed'), { accounting: live('campus') }, { prune: true })
  t.same(plan.operations.map((o) => `${o.phase}: ${o.argv.join(' ')}`), [
    'qos: sacctmgr -i modify qos where name=standard set MaxTRESPerUser=cpu=256,gres/gpu=4',
    'associations: sacctmgr -i add user alice account=nlp-garcia cluster=campus QOS=interactive,long,scavenger,standard DefaultQOS=long',
    'associations: sacctmgr -i add user frank account=cv-chen cluster=campus QOS=interactive,scavenger,standard DefaultQOS=standard',
    'associations: sacctmgr -i modify user where name=bob account=nlp-smith cluster=campus set QOS=interactive,long,scavenger,standard DefaultQOS=long',
    'associations: sacctmgr -i modify user where name=bob,carol account=nlp-garcia cluster=campus set QOS=interactive,long,scavenger,standard DefaultQOS=long',
    'account-settings: sacctmgr -i modify account where name=nlp-smith,nlp-garcia cluster=campus set QOS=interactive,long,scavenger,standard DefaultQOS=long',
    'account-settings: sacctmgr -i modify account where name=nlp cluster=campus set QOS=interactive,long,scavenger,standard DefaultQOS=long',
    'defaults: sacctmgr -i modify user where name=bob cluster=campus set DefaultAccount=nlp-smith',
    'defaults: sacctmgr -i modify user where name=alice cluster=campus set DefaultAccount=nlp-garcia',
    'defaults: sacctmgr -i modify user where name=frank cluster=campus set DefaultAccount=cv-chen',
    'removals: sacctmgr -i delete user where name=frank account=dl-okafor cluster=campus',
    'removals: sacctmgr -i delete user where name=alice account=nlp-smith cluster=campus',
    'removals: sacctmgr -i delete account where name=dl-okafor cluster=campus',
    'removals: sacctmgr -i delete account where name=dl cluster=campus',
  ])
  const phases = plan.operations.map((o) => PHASES.indexOf(o.phase))
  t.same(phases, [...phases].sort((a, b) => a - b), 'phases never go backwards')
})

t.test('without --prune a dropped department stays, and so does a user association in it', async (t) => {
  const ops = argvs('campus-changed', 'campus')
  t.notOk(ops.some((o) => o.includes('delete account')), 'no account removed')
  t.notOk(ops.some((o) => o.includes('account=dl-okafor')), 'frank keeps his association in the unmanaged dl-okafor')
  t.ok(ops.includes('sacctmgr -i delete user where name=alice account=nlp-smith cluster=campus'), 'a move inside the spec still removes the old association')
  t.ok(ops.includes('sacctmgr -i modify user where name=frank cluster=campus set DefaultAccount=cv-chen'))
})

t.test('going back from the changed state re-creates the department; records that survived need no description', async (t) => {
  const ops = argvs('campus', 'campus-changed', { prune: true })
  t.ok(ops.includes('sacctmgr -i add account dl cluster=campus parent=root Fairshare=25 QOS=long,scavenger,standard DefaultQOS=standard'),
    'dl\'s record (and description) outlived its association: only the association is added')
  t.notOk(ops.some((o) => o.includes('delete qos')))
})

t.test('a QoS change clears exactly the limits the spec dropped', async (t) => {
  const s = spec('campus')
  const standard = s.qos.find((q) => q.name === 'standard')
  if (!standard) throw new Error('fixture has standard')
  delete standard.maxTresPerUser
  delete standard.maxWallDurationPerJob
  standard.maxJobsPerUser = 5
  standard.flags = ['DenyOnLimit']
  standard.preemptMode = 'off'
  const ops = planSpec(s, { accounting: live('campus') }).operations.map((o) => o.argv.join(' '))
  t.same(ops, ['sacctmgr -i modify qos where name=standard set MaxTRESPerUser=cpu=-1,gres/gpu=-1 MaxWall=-1 MaxJobsPerUser=5 Flags=DenyOnLimit'],
    'PreemptMode=off is what Slurm prints as cluster, so it is no change')
})

t.test('a QoS that preempts another new QoS is added after it', async (t) => {
  const s = spec('campus')
  s.qos.unshift({ name: 'urgent', preempt: ['bulk'] })
  s.qos.push({ name: 'bulk', preemptMode: 'requeue' })
  const adds = planSpec(s, { accounting: live('campus') }).operations.filter((o) => o.kind === 'qos').map((o) => o.targets[0])
  t.same(adds, ['bulk', 'urgent'])
})

t.test('many new users with the same settings are one batched command', async (t) => {
  const s = spec('campus')
  const names = Array.from({ length: 30 }, (_, i) => `u${String(i).padStart(3, '0')}`)
  const chen = s.departments[1]?.supervisors?.[0]
  if (!chen) throw new Error('fixture has cv/chen')
  chen.users.push(...names)
  s.users.push(...names.map((name, i) => ({ name, uid: 300_000 + i })))
  const ops = planSpec(s, { accounting: live('campus') }).operations
  t.equal(ops.length, 1)
  t.equal(ops[0]?.argv[4], names.join(','))
})

t.test('protected accounts and users are never touched, even with --prune', async (t) => {
  const state = live('campus')
  state.accounts.set('legacy', { name: 'legacy', parent: 'root', fairshare: 1, qos: ['normal'] })
  state.associations.set('ops\u0000legacy', { user: 'ops', account: 'legacy', qos: ['normal'] })
  state.users.set('ops', { name: 'ops', defaultAccount: 'legacy' })
  const plan = planSpec(spec('campus'), { accounting: state }, { prune: true, protectedAccounts: ['legacy'] })
  t.same(plan.operations, [], 'legacy and its user stay')
  const pruned = planSpec(spec('campus'), { accounting: state }, { prune: true }).operations.map((o) => o.argv.join(' '))
  t.same(pruned, [
    'sacctmgr -i delete user where name=ops account=legacy cluster=campus',
    'sacctmgr -i delete account where name=legacy cluster=campus',
  ], 'unprotected, the user goes before its account')
})

t.test('a spec that defines a protected account is a plan error', async (t) => {
  const s = spec('campus')
  const dl = s.departments[2]
  if (!dl) throw new Error('fixture has dl')
  dl.name = 'root'
  t.throws(() => planSpec(s, { accounting: live('campus') }), PlanClashError)
})

t.test('a pruned user with several associations loses the default one last', async (t) => {
  const s = spec('campus')
  s.users = s.users.filter((u) => u.name !== 'bob')
  for (const d of s.departments) for (const sup of d.supervisors ?? []) sup.users = sup.users.filter((u) => u !== 'bob')
  t.same(argvs2(s, 'campus', { prune: true }), [
    'sacctmgr -i delete user where name=bob account=nlp-smith cluster=campus',
    'sacctmgr -i delete user where name=bob account=nlp-garcia cluster=campus',
  ], 'sacctmgr refuses to delete a multi-association user in one command')
})

t.test('an account holding a protected user\'s association is kept with a warning', async (t) => {
  const state = live('campus')
  state.associations.set('root\u0000dl-okafor', { user: 'root', account: 'dl-okafor', qos: ['standard'] })
  const s = spec('campus-changed')
  const plan = planSpec(s, { accounting: state }, { prune: true })
  t.notOk(plan.operations.some((o) => o.kind === 'account' && o.action === 'delete'), 'neither dl-okafor nor its parent dl is removed')
  t.same(plan.warnings.map((w) => w.subject), ['account dl', 'account dl-okafor'])
  t.notOk(plan.operations.some((o) => o.targets.includes('root')), 'root\'s association is not touched')
})

t.test('new QoS that partitions name come with a reconfigure warning', async (t) => {
  const plan = planSpec(spec('campus'), { accounting: live('empty-cluster') })
  t.same(plan.warnings.map((w) => w.subject), ['QoS standard', 'QoS long', 'QoS interactive', 'QoS scavenger'])
  t.same(planSpec(spec('campus'), { accounting: live('campus') }).warnings, [])
})

t.test('--prune keeps QoS that associations of other clusters in the same slurmdbd use, and says which and why', async (t) => {
  const empty: ClusterSpec = { ...spec('campus'), qos: [], departments: [], sharedPartitions: [], users: [] }
  // QoS are global in slurmdbd: cluster lab uses standard as a default and long in a QOS list.
  const lab = 'lab|lab-acct||root||1|long,normal|standard||\nlab|lab-acct|zoe|||1|interactive|||\n'
  const plan = planSpec(empty, { accounting: live('campus', lab) }, { prune: true })
  const qosOps = plan.operations.filter((o) => o.kind === 'qos')
  t.same(qosOps.map((o) => o.argv.join(' ')), ['sacctmgr -i delete qos where name=scavenger'], 'only the QoS no cluster uses goes')
  t.same(plan.warnings.filter((w) => w.subject.startsWith('QoS')), [
    { subject: 'QoS interactive', message: 'is not in the spec but associations of cluster lab use it (QoS are shared by every cluster of this slurmdbd); kept' },
    { subject: 'QoS long', message: 'is not in the spec but associations of cluster lab use it (QoS are shared by every cluster of this slurmdbd); kept' },
    { subject: 'QoS standard', message: 'is not in the spec but associations of cluster lab use it (QoS are shared by every cluster of this slurmdbd); kept' },
  ])
  t.notOk(plan.operations.some((o) => o.targets.includes('lab-acct') || o.targets.includes('zoe')), 'another cluster\'s accounts and users are not campus\'s to prune')
})

/**
 * Accounting as code against the real sandbox (Slurm 22.05.8, slurmdbd + MariaDB): apply
 * campus.yaml to an empty accounting database, watch real jobs held or refused by what
 * was applied, import the result, change the spec, and clash. Needs root; boots the
 * sandbox with campus.yaml when it is not running. Starts from a known state whatever an
 * earlier run left (its second cluster removed, campus pruned to empty), and leaves the
 * sandbox with campus.yaml applied (prune) and the POSIX users it created removed.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { sandboxEnv, sandboxUp } from '../../src/sandbox/index.js'
import { acceptSpec, parseSpecText } from '../../src/spec/load.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { planOnCluster } from '../../src/accounting/cluster.js'
import { applyPlan } from '../../src/accounting/apply.js'
import { importFromCluster } from '../../src/accounting/import.js'
import { PlanClashError } from '../../src/accounting/errors.js'
import type { Plan } from '../../src/accounting/operations.js'
import { planCommand } from '../../src/cli/plan.js'

// Needs root: CI runs as root. The sandbox is booted (or found running) with campus.yaml;
// nothing here is skipped, so a broken sandbox fails the suite.
if (process.getuid?.() !== 0) throw new Error('the accounting integration test needs root (it starts the Slurm sandbox and creates POSIX users)')
const status = await sandboxUp({ spec: acceptSpec(parseSpecText(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8'))).spec })

const env = sandboxEnv()
const ex = createLocalExecutor(env)
const jobsDir = `${status.stateDir}/jobs`
const spec = (name: string): ClusterSpec =>
  acceptSpec(parseSpecText(readFileSync(new URL(`../accounting/fixtures/specs/${name}.yaml`, import.meta.url), 'utf8'))).spec
const specFile = (name: string): string => new URL(`../accounting/fixtures/specs/${name}.yaml`, import.meta.url).pathname
const campus = spec('campus')
const testUsers = campus.users.map((u) => u.name)

async function sh(argv: string[]): Promise<string> {
  const r = await ex.run(argv, { timeoutMs: 120_000 })
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`)
  return r.stdout
}
async function applyOk(plan: Plan, onStep?: () => Promise<void>): Promise<void> {
  const result = await applyPlan(ex, plan, { onDone: async () => { await onStep?.() } })
  if (!result.ok) throw new Error(`apply failed at "${result.failed?.operation.summary}": ${result.failed?.result?.stdout}${result.failed?.result?.stderr}`)
}
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '').sort()
const show = async (what: string, format: string, ...where: string[]): Promise<string[]> =>
  lines(await sh(['sacctmgr', '-n', '-P', 'show', what, ...where, `format=${format}`]))

/**
 * Submits as a user; resolves with the job id, or the error text when sbatch refuses.
 * slurmdbd pushes new associations and QoS to slurmctld asynchronously, so right after
 * an apply a submission may be refused for a moment: retried for up to 20 s unless a
 * refusal is what the test expects.
 */
async function submit(user: string, args: string[], expectRefusal = false): Promise<{ id?: string; error?: string }> {
  const end = Date.now() + 20_000
  for (;;) {
    const r = await ex.run(['runuser', '-u', user, '--', 'sbatch', '--parsable', '-o', `${jobsDir}/%j.out`, ...args])
    if (r.code === 0) return { id: r.stdout.trim().split(';')[0] ?? '' }
    if (expectRefusal || Date.now() > end) return { error: r.stderr.trim() }
    await new Promise((res) => setTimeout(res, 1000))
  }
}
/** The id of an accepted submission; a refusal fails the test with sbatch's reason. */
function idOf(r: { id?: string; error?: string }): string {
  if (!r.id) throw new Error(`sbatch refused the job: ${r.error ?? 'no id'}`)
  return r.id
}

/** A job's fields from `scontrol -o show job` (slurmctld keeps finished jobs for MinJobAge, 300 s). */
async function job(id: string): Promise<Record<string, string>> {
  const out = (await ex.run(['scontrol', '-o', 'show', 'job', id])).stdout.trim()
  return Object.fromEntries(out.split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
}
/** Polls until the job's state (and reason, if given) match (bounded): a new job pends with reason None first. */
async function waitJob(id: string, states: RegExp, reason?: string, timeoutMs = 90_000): Promise<{ state: string; reason: string; account: string }> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const j = await job(id)
    const now = { state: j.JobState ?? '', reason: j.Reason ?? '', account: j.Account ?? '' }
    if (states.test(now.state) && (reason === undefined || now.reason === reason)) return now
    if (Date.now() > end) throw new Error(`job ${id} still ${now.state} (${now.reason}) after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const createdPosix: string[] = []
/**
 * root's associations outside the root account (the sandbox's own test adds them). root
 * is protected, so the planner would keep them and the accounts and default QoS they
 * hold; for a truly empty database the test removes them while the queue is idle and
 * puts them back in teardown.
 */
let rootAssocs: string[] = []

/** Waits (bounded) until no job of another test is queued: the sandbox is shared. */
async function idleQueue(timeoutMs = 300_000): Promise<boolean> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    // By uid: a leftover job of a deleted test user shows as "nobody".
    const uids = lines((await ex.run(['squeue', '-h', '-o', '%U'])).stdout)
    if (uids.every((u) => campus.users.some((c) => String(c.uid) === u))) return true
    await new Promise((r) => setTimeout(r, 3000))
  }
  return false
}

/** Cancels the test users' jobs and waits until slurmctld has let go of them: a completing job still blocks removals. */
async function cancelTestJobs(): Promise<void> {
  // By uid, job by job: a job outlives its POSIX user if a failed run deleted it (squeue
  // shows "nobody"), and scancel -u takes one existing user only.
  const uids = new Set(campus.users.map((u) => String(u.uid)))
  const ours = async (): Promise<string[]> => lines((await ex.run(['squeue', '-h', '-o', '%i %U'])).stdout)
    .map((l) => l.split(' ')).filter(([, uid]) => uids.has(uid ?? '')).map(([id]) => id ?? '')
  const ids = await ours()
  if (ids.length > 0) await ex.run(['scancel', ...ids])
  const end = Date.now() + 60_000
  while (Date.now() < end && (await ours()).length > 0) await new Promise((r) => setTimeout(r, 1000))
  // slurmdbd hears of a job's end asynchronously; until then it refuses to remove the association.
  const inDb = async (): Promise<boolean> => lines((await ex.run(['sacct', '-a', '-n', '-X', '-P', '-s', 'R,PD', '-o', 'JobID,UID'])).stdout)
    .some((l) => uids.has(l.split('|')[1] ?? ''))
  while (Date.now() < end && (await inDb())) await new Promise((r) => setTimeout(r, 1000))
  // Jobs slurmctld lost in a restart stay "running" in slurmdbd and block removals forever.
  await ex.run(['sacctmgr', '-i', 'show', 'runawayjobs'])
}

/** A second cluster registered in the sandbox's slurmdbd, as another site sharing it would. */
const SECOND = 'stewardtwo'
const SECOND_ACCOUNT = 'twoacct'

/** Removes the second cluster and its account, whatever an earlier run left (absent is fine). */
async function dropSecondCluster(): Promise<void> {
  if ((await show('account', 'Account', 'where', `name=${SECOND_ACCOUNT}`)).length > 0) {
    await sh(['sacctmgr', '-i', 'delete', 'account', 'where', `name=${SECOND_ACCOUNT}`])
  }
  if ((await show('cluster', 'Cluster')).includes(SECOND)) await sh(['sacctmgr', '-i', 'delete', 'cluster', SECOND])
}

async function resetToEmpty(): Promise<void> {
  await cancelTestJobs()
  await dropSecondCluster()
  rootAssocs = (await show('assoc', 'Account,QOS,DefaultQOS', 'where', 'users=root', 'cluster=campus')).filter((a) => !a.startsWith('root|'))
  const rootAccounts = rootAssocs.map((l) => l.split('|')[0])
  if (rootAccounts.length > 0) await sh(['sacctmgr', '-i', 'delete', 'user', 'where', 'name=root', `account=${rootAccounts.join(',')}`, 'cluster=campus'])
  const empty: ClusterSpec = { ...campus, qos: [], departments: [], sharedPartitions: [], users: [] }
  await applyOk(await planOnCluster(ex, empty, { prune: true, posix: false }))
  for (const u of campus.users) {
    const pw = (await ex.run(['getent', 'passwd', u.name])).stdout.split(':')
    if (pw[2] === String(u.uid)) await sh(['userdel', '--remove', u.name])
  }
}

if (!(await idleQueue())) throw new Error('the sandbox stayed busy with another test\'s jobs for 5 minutes')
t.before(resetToEmpty)
t.teardown(async () => {
  await cancelTestJobs()
  await dropSecondCluster()
  await applyPlan(ex, await planOnCluster(ex, campus, { prune: true, posix: false }))
  for (const line of rootAssocs) {
    const [account = '', qos = '', def = ''] = line.split('|')
    await ex.run(['sacctmgr', '-i', 'add', 'user', 'root', `account=${account}`, 'cluster=campus'])
    await ex.run(['sacctmgr', '-i', 'modify', 'user', 'where', 'name=root', `account=${account}`, 'cluster=campus', 'set', `QOS=${qos}`, `DefaultQOS=${def || -1}`])
  }
  for (const name of createdPosix) await ex.run(['userdel', '--remove', name])
  await ex.run(['scontrol', 'reconfigure'])
})

t.test('campus.yaml applied to an empty accounting database creates exactly what the spec says', async (t) => {
  t.same(await show('assoc', 'Account,User', 'where', 'cluster=campus'), ['root|', 'root|root'], 'the database starts empty')
  t.same(await show('qos', 'Name'), ['normal'])
  const plan = await planOnCluster(ex, campus)
  t.match(plan.warnings.map((w) => w.subject), ['QoS standard', 'QoS long', 'QoS interactive', 'QoS scavenger'])
  await applyOk(plan)
  createdPosix.push(...testUsers)
  // The QoS were deleted and re-created with new ids: partitions' AllowQos must be re-read.
  await sh(['scontrol', 'reconfigure'])
  t.same(await show('qos', 'Name'), ['interactive', 'long', 'normal', 'scavenger', 'standard'])
  t.same(await show('qos', 'Name,MaxTRESPU,MaxWall,MaxJobsPU,Priority', 'where', 'name=standard,interactive'), [
    'interactive|cpu=16,gres/gpu=1|04:00:00|1|1000',
    'standard|cpu=256,gres/gpu=8|2-00:00:00|20|100',
  ])
  t.same((await show('assoc', 'Account,User,ParentName,Fairshare,QOS,DefaultQOS', 'where', 'cluster=campus')).filter((l) => l.split('|')[1] === '').map((l) => l.split('|').filter((_, i) => i !== 1).join('|')), [
    'cv-chen|cv|100|interactive,scavenger,standard|standard',
    'cv|root|35|interactive,scavenger,standard|standard',
    'dl-okafor|dl|100|long,scavenger,standard|standard',
    'dl|root|25|long,scavenger,standard|standard',
    'nlp-garcia|nlp|40|interactive,long,scavenger,standard|standard',
    'nlp-smith|nlp|60|interactive,long,scavenger,standard|standard',
    'nlp|root|40|interactive,long,scavenger,standard|standard',
    'root||1|normal|',
  ].sort())
  t.same((await show('assoc', 'User,Account', 'where', 'cluster=campus')).filter((l) => !l.startsWith('|') && !l.startsWith('root|')), [
    'alice|nlp-smith', 'bob|nlp-garcia', 'bob|nlp-smith', 'carol|nlp-garcia', 'dave|cv-chen', 'erin|cv-chen', 'frank|dl-okafor',
  ])
  t.same(await show('user', 'User,DefaultAccount'), ['alice|nlp-smith', 'bob|nlp-garcia', 'carol|nlp-garcia', 'dave|cv-chen', 'erin|cv-chen', 'frank|dl-okafor', 'root|root'])
  t.equal((await sh(['getent', 'passwd', 'erin'])).trim(), 'erin:x:200005:200005::/home/erin:/bin/bash')
  t.same((await planOnCluster(ex, campus)).operations, [], 'a second plan is empty')
  t.equal(await planCommand([specFile('campus'), '--sandbox', '--detailed-exitcode']), 0, 'steward plan --detailed-exitcode says 0')
  t.equal(await planCommand([specFile('campus-changed'), '--sandbox', '--detailed-exitcode']), 2, 'and 2 when changes are pending')
})

t.test('real jobs are held, refused and accepted by what was applied', async (t) => {
  const overGpu = await submit('alice', ['-A', 'nlp-smith', '-p', 'nlp', '-N', '2', '--gres=gpu:5', '-t', '10', '--wrap', 'sleep 5'])
  t.match(await waitJob(idOf(overGpu), /PENDING/, 'QOSMaxGRESPerUser'), { reason: 'QOSMaxGRESPerUser' }, '10 GPUs over standard\'s 8 per user pend')
  const overWall = await submit('alice', ['-A', 'nlp-smith', '-p', 'nlp', '--qos=interactive', '-t', '05:00:00', '--wrap', 'sleep 5'])
  t.match(await waitJob(idOf(overWall), /PENDING/, 'QOSMaxWallDurationPerJobLimit'), { reason: 'QOSMaxWallDurationPerJobLimit' }, '5 h over interactive\'s 4 h pends')
  await ex.run(['scancel', idOf(overGpu), idOf(overWall)])
  const own = await submit('alice', ['-A', 'nlp-smith', '-p', 'nlp', '-t', '5', '--wrap', 'id -un'])
  t.match(await waitJob(idOf(own), /COMPLETED|FAILED|CANCELLED|TIMEOUT/), { state: 'COMPLETED' }, 'a supervisor account runs in its department\'s partition')
  t.equal(readFileSync(`${jobsDir}/${own.id}.out`, 'utf8').trim(), 'alice', 'as the real POSIX user')
  const foreign = await submit('dave', ['-A', 'cv-chen', '-p', 'nlp', '-t', '5', '--wrap', 'true'], true)
  t.match(foreign.error, /Invalid account or account\/partition combination/, 'another department is refused')
  for (const account of ['nlp-smith', 'nlp-garcia']) {
    const bob = await submit('bob', ['-A', account, '-p', 'nlp', '-t', '5', '--wrap', 'true'])
    t.match(await waitJob(idOf(bob), /COMPLETED|FAILED|CANCELLED/), { state: 'COMPLETED', account }, `bob charges ${account}`)
  }
})

t.test('importing the cluster gives a spec that plans empty against it', async (t) => {
  const { spec: imported } = await importFromCluster(ex, { cluster: 'campus' })
  t.same((await planOnCluster(ex, imported, { prune: true })).operations.map((o) => o.summary), [])
  t.same(imported.departments.map((d) => d.name), ['cv', 'dl', 'nlp'])
})

t.test('a changed spec applies in order, nobody loses their last association, and the next plan is empty', async (t) => {
  const changed = spec('campus-changed')
  const plan = await planOnCluster(ex, changed, { prune: true })
  t.same(plan.operations.map((o) => o.phase), ['qos', 'associations', 'associations', 'associations', 'associations', 'account-settings', 'account-settings', 'defaults', 'defaults', 'defaults', 'removals', 'removals', 'removals', 'removals'])
  await applyOk(plan, async () => {
    const assocs = (await show('assoc', 'User,Account', 'where', 'cluster=campus')).map((l) => l.split('|'))
    const defaults = await show('user', 'User,DefaultAccount')
    for (const line of defaults.filter((l) => testUsers.includes(l.split('|')[0] ?? ''))) {
      const [user, account] = line.split('|')
      t.ok(assocs.some(([u, a]) => u === user && a === account), `${user}'s default ${account} has an association at every step`)
    }
  })
  t.same(await show('user', 'User,DefaultAccount', 'where', 'name=alice,bob,frank'), ['alice|nlp-garcia', 'bob|nlp-smith', 'frank|cv-chen'])
  t.same(await show('qos', 'MaxTRESPU', 'where', 'name=standard'), ['cpu=256,gres/gpu=4'])
  t.same(await show('account', 'Account', 'where', 'name=dl'), ['dl'], 'dl\'s record stays; its association is gone')
  t.notOk((await show('assoc', 'Account', 'where', 'cluster=campus')).includes('dl'))
  t.same((await planOnCluster(ex, changed, { prune: true })).operations, [], 'the next plan is empty')
})

t.test('a running job blocks removing its association: apply stops there and a later plan continues', async (t) => {
  const job = await submit('alice', ['-A', 'nlp-garcia', '-p', 'nlp', '-t', '5', '--wrap', 'sleep 300'])
  await waitJob(idOf(job), /RUNNING/)
  const result = await applyPlan(ex, await planOnCluster(ex, campus, { prune: true }))
  t.notOk(result.ok)
  t.match(`${result.failed?.result?.stdout}${result.failed?.result?.stderr}`, /Job\(s\) active/)
  t.match(result.failed?.operation.summary, /remove alice from account nlp-garcia/)
  t.equal((await waitJob(idOf(job), /RUNNING|COMPLETED/)).state, 'RUNNING', 'the job was not disturbed')
  await cancelTestJobs()
  await applyOk(await planOnCluster(ex, campus, { prune: true }))
  t.same((await planOnCluster(ex, campus, { prune: true })).operations, [])
})

t.test('a uid or name clash is a plan error and nothing is applied', async (t) => {
  await sh(['useradd', '--uid', '200099', '--no-create-home', 'zed'])
  createdPosix.push('zed')
  const before = await show('assoc', 'User,Account,QOS', 'where', 'cluster=campus')
  const uidClash = structuredClone(campus)
  uidClash.users.push({ name: 'yara', uid: 200099 })
  uidClash.departments[0]?.supervisors?.[0]?.users.push('yara')
  await t.rejects(planOnCluster(ex, uidClash), PlanClashError, 'uid 200099 belongs to zed')
  const nameClash = structuredClone(campus)
  const alice = nameClash.users.find((u) => u.name === 'alice')
  if (alice) alice.uid = 200777
  await t.rejects(planOnCluster(ex, nameClash), new PlanClashError([{ subject: 'user alice', message: 'exists with uid 200001, the spec says 200777; HPC Steward never changes a uid: fix the spec or the user by hand' }]))
  t.same(await show('assoc', 'User,Account,QOS', 'where', 'cluster=campus'), before, 'accounting is unchanged')
  t.equal(await planCommand([specFile('campus'), '--sandbox']), 0, 'the unchanged spec still plans fine')
  t.equal((await ex.run(['getent', 'passwd', 'yara'])).code, 2, 'no POSIX user was created')
})

t.test('--prune keeps a QoS that another cluster of the same slurmdbd uses as a default, says why, and finishes', async (t) => {
  await cancelTestJobs()
  await sh(['sacctmgr', '-i', 'add', 'cluster', SECOND])
  await sh(['sacctmgr', '-i', 'add', 'account', SECOND_ACCOUNT, `cluster=${SECOND}`, 'QOS=normal,standard', 'DefaultQOS=standard'])
  t.same(await show('assoc', 'Cluster,Account,DefaultQOS', 'where', `cluster=${SECOND}`, `account=${SECOND_ACCOUNT}`), [`${SECOND}|${SECOND_ACCOUNT}|standard`])
  const empty: ClusterSpec = { ...campus, qos: [], departments: [], sharedPartitions: [], users: [] }
  const plan = await planOnCluster(ex, empty, { prune: true, posix: false })
  t.notOk(plan.operations.some((o) => o.kind === 'qos' && o.targets.includes('standard')), 'standard is not removed')
  t.ok(plan.operations.some((o) => o.kind === 'qos' && o.targets.includes('long')), 'QoS no cluster uses are')
  t.same(plan.warnings.filter((w) => w.subject === 'QoS standard'), [
    { subject: 'QoS standard', message: `is not in the spec but associations of cluster ${SECOND} use it (QoS are shared by every cluster of this slurmdbd); kept` },
  ])
  t.notOk(plan.operations.some((o) => o.targets.includes(SECOND_ACCOUNT)), 'the other cluster\'s account is not campus\'s to prune')
  await applyOk(plan)
  t.same(await show('qos', 'Name'), ['normal', 'standard'])
  t.same(await show('assoc', 'Account,User', 'where', 'cluster=campus'), ['root|', 'root|root'], 'campus was pruned to empty')
  t.same(await show('assoc', 'Account,DefaultQOS', 'where', `cluster=${SECOND}`, `account=${SECOND_ACCOUNT}`), [`${SECOND_ACCOUNT}|standard`], 'the other cluster keeps its default')
  await dropSecondCluster()
  const after = await planOnCluster(ex, empty, { prune: true, posix: false })
  t.same(after.operations.map((o) => o.summary), ['remove QoS standard (not in the spec, --prune)'], 'once no cluster uses it, it goes')
  await applyOk(after)
  t.same(await show('qos', 'Name'), ['normal'])
})

/**
 * Accounting as code against the real sandbox (Slurm 22.05.8, slurmdbd + MariaDB): apply
 * campus.yaml to an empty accounting database, watch real jobs held or refused by what
 * was applied, import the result, change the spec, and clash. Needs root and a running
 * sandbox (`npm run sandbox:up`); skipped otherwise. Leaves the sandbox with campus.yaml
 * applied (prune) and removes the POSIX users it created.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { sandboxEnv, sandboxStatus } from '../../src/sandbox/index.js'
import { acceptSpec, parseSpecText } from '../../src/spec/load.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { planOnCluster } from '../../src/accounting/cluster.js'
import { applyPlan } from '../../src/accounting/apply.js'
import { importFromCluster } from '../../src/accounting/import.js'
import { PlanClashError } from '../../src/accounting/errors.js'
import type { Plan } from '../../src/accounting/operations.js'

/** The sandbox's own test restarts it; give a configured sandbox two minutes to be running. */
async function runningSandbox(): Promise<Awaited<ReturnType<typeof sandboxStatus>> | undefined> {
  for (let i = 0; i < 60; i++) {
    const s = await sandboxStatus().catch(() => undefined)
    if (!s?.configured || s.running) return s
    await new Promise((r) => setTimeout(r, 2000))
  }
  return undefined
}
const status = await runningSandbox()
if (process.getuid?.() !== 0 || !status?.running || status.clusterName !== 'campus') {
  t.plan(0, 'needs root and the sandbox running campus.yaml (npm run sandbox:up)')
  process.exit(0)
}

const env = sandboxEnv()
const ex = createLocalExecutor(env)
const jobsDir = `${status.stateDir}/jobs`
const spec = (name: string): ClusterSpec =>
  acceptSpec(parseSpecText(readFileSync(new URL(`../accounting/fixtures/specs/${name}.yaml`, import.meta.url), 'utf8'))).spec
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

/** Submits as a user; resolves with the job id, or the error text when sbatch refuses. */
async function submit(user: string, args: string[]): Promise<{ id?: string; error?: string }> {
  const r = await ex.run(['runuser', '-u', user, '--', 'sbatch', '--parsable', '-o', `${jobsDir}/%j.out`, ...args])
  return r.code === 0 ? { id: r.stdout.trim().split(';')[0] ?? '' } : { error: r.stderr.trim() }
}
/** Polls squeue/sacct until the job reaches one of `states` (bounded). */
async function waitJob(id: string, states: RegExp, timeoutMs = 90_000): Promise<{ state: string; reason: string }> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const q = (await ex.run(['squeue', '-h', '-j', id, '-o', '%T|%r'])).stdout.trim()
    const [state = '', reason = ''] = q ? q.split('|') : [(await ex.run(['sacct', '-n', '-X', '-P', '-j', id, '-o', 'State'])).stdout.trim().split(' ')[0] ?? '']
    if (states.test(state)) return { state, reason }
    if (Date.now() > end) throw new Error(`job ${id} still ${state} (${reason}) after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

const createdPosix: string[] = []
/** root's associations outside the root account (the sandbox's own tests add them), restored at the end. */
let rootAssocs: string[] = []
async function resetToEmpty(): Promise<void> {
  await ex.run(['scancel', '-u', testUsers.join(',')])
  // Test preparation only: root is protected, so its associations would keep their
  // accounts alive through the prune below; they are put back in teardown.
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

t.before(resetToEmpty)
t.teardown(async () => {
  await ex.run(['scancel', '-u', testUsers.join(',')])
  await ex.run(['sleep', '2'])
  await applyPlan(ex, await planOnCluster(ex, campus, { prune: true, posix: false }))
  for (const line of rootAssocs) {
    const [account = '', qos = '', def = ''] = line.split('|')
    await ex.run(['sacctmgr', '-i', 'add', 'user', 'root', `account=${account}`, 'cluster=campus', `QOS=${qos}`, ...(def ? [`DefaultQOS=${def}`] : [])])
  }
  for (const name of createdPosix) await ex.run(['userdel', '--remove', name])
})

t.test('campus.yaml applied to an empty accounting database creates exactly what the spec says', async (t) => {
  t.same(await show('assoc', 'Account,User', 'where', 'cluster=campus'), ['root|', 'root|root'], 'the database starts empty')
  const plan = await planOnCluster(ex, campus)
  await applyOk(plan)
  createdPosix.push(...testUsers)
  t.same(await show('qos', 'Name'), ['interactive', 'long', 'normal', 'scavenger', 'standard'])
  t.same(await show('qos', 'Name,MaxTRESPU,MaxWall,MaxJobsPU,Priority', 'where', 'name=standard,interactive'), [
    'interactive|cpu=16,gres/gpu=1|04:00:00|1|1000',
    'standard|cpu=256,gres/gpu=8|2-00:00:00|20|100',
  ])
  t.same(await show('assoc', 'Account,ParentName,Fairshare,QOS,DefaultQOS', 'where', 'cluster=campus', 'users='), [
    'cv-chen|cv|100|interactive,scavenger,standard|standard',
    'cv|root|35|interactive,scavenger,standard|standard',
    'dl-okafor|dl|100|long,scavenger,standard|standard',
    'dl|root|25|long,scavenger,standard|standard',
    'nlp-garcia|nlp|40|interactive,long,scavenger,standard|standard',
    'nlp-smith|nlp|60|interactive,long,scavenger,standard|standard',
    'nlp|root|40|interactive,long,scavenger,standard|standard',
    'root||1|normal|',
  ].sort())
  t.same((await show('assoc', 'User,Account', 'where', 'cluster=campus')).filter((l) => !l.startsWith('|')), [
    'alice|nlp-smith', 'bob|nlp-garcia', 'bob|nlp-smith', 'carol|nlp-garcia', 'dave|cv-chen', 'erin|cv-chen', 'frank|dl-okafor', 'root|root',
  ])
  t.same(await show('user', 'User,DefaultAccount'), ['alice|nlp-smith', 'bob|nlp-garcia', 'carol|nlp-garcia', 'dave|cv-chen', 'erin|cv-chen', 'frank|dl-okafor', 'root|root'])
  t.equal((await sh(['getent', 'passwd', 'erin'])).trim(), 'erin:x:200005:200005::/home/erin:/bin/bash')
  t.same((await planOnCluster(ex, campus)).operations, [], 'a second plan is empty')
})

t.test('real jobs are held, refused and accepted by what was applied', async (t) => {
  const overGpu = await submit('alice', ['-A', 'nlp-smith', '-p', 'nlp', '-N', '2', '--gres=gpu:5', '-t', '10', '--wrap', 'sleep 5'])
  t.match(await waitJob(overGpu.id ?? '', /PENDING/), { reason: 'QOSMaxGRESPerUser' }, '10 GPUs over standard\'s 8 per user pend')
  const overWall = await submit('alice', ['-A', 'nlp-smith', '-p', 'nlp', '--qos=interactive', '-t', '05:00:00', '--wrap', 'sleep 5'])
  t.match(await waitJob(overWall.id ?? '', /PENDING/), { reason: 'QOSMaxWallDurationPerJobLimit' }, '5 h over interactive\'s 4 h pends')
  await ex.run(['scancel', overGpu.id ?? '', overWall.id ?? ''])
  const own = await submit('alice', ['-A', 'nlp-smith', '-p', 'nlp', '-t', '5', '--wrap', 'id -un'])
  t.match(await waitJob(own.id ?? '', /COMPLETED|FAILED|CANCELLED|TIMEOUT/), { state: 'COMPLETED' }, 'a supervisor account runs in its department\'s partition')
  t.equal(readFileSync(`${jobsDir}/${own.id}.out`, 'utf8').trim(), 'alice', 'as the real POSIX user')
  const foreign = await submit('dave', ['-A', 'cv-chen', '-p', 'nlp', '-t', '5', '--wrap', 'true'])
  t.match(foreign.error, /Invalid account or account\/partition combination/, 'another department is refused')
  for (const account of ['nlp-smith', 'nlp-garcia']) {
    const bob = await submit('bob', ['-A', account, '-p', 'nlp', '-t', '5', '--wrap', 'true'])
    t.match(await waitJob(bob.id ?? '', /COMPLETED|FAILED|CANCELLED/), { state: 'COMPLETED' }, `bob charges ${account}`)
    t.equal((await sh(['sacct', '-n', '-X', '-P', '-j', bob.id ?? '', '-o', 'Account'])).trim(), account)
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
    const assocs = new Set((await show('assoc', 'User,Account', 'where', 'cluster=campus')).map((l) => l.split('|')))
    const defaults = await show('user', 'User,DefaultAccount')
    for (const line of defaults.filter((l) => testUsers.includes(l.split('|')[0] ?? ''))) {
      const [user, account] = line.split('|')
      t.ok([...assocs].some(([u, a]) => u === user && a === account), `${user}'s default ${account} has an association at every step`)
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
  await waitJob(job.id ?? '', /RUNNING/)
  const result = await applyPlan(ex, await planOnCluster(ex, campus, { prune: true }))
  t.notOk(result.ok)
  t.match(`${result.failed?.result?.stdout}${result.failed?.result?.stderr}`, /Job\(s\) active/)
  t.match(result.failed?.operation.summary, /remove alice from account nlp-garcia/)
  t.equal((await waitJob(job.id ?? '', /RUNNING|COMPLETED/)).state, 'RUNNING', 'the job was not disturbed')
  await sh(['scancel', job.id ?? ''])
  await waitJob(job.id ?? '', /CANCELLED|COMPLETED/)
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
  t.equal((await ex.run(['getent', 'passwd', 'yara'])).code, 2, 'no POSIX user was created')
})

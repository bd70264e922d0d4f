/**
 * Budgets on the real sandbox (Slurm 22.05 by default; STEWARD_BUDGETS_RELEASES=22.05,24.11
 * runs both): campus.yaml with prices and department budgets is applied by the engine;
 * real jobs with known GPU, CPU and memory allocations run for a few seconds; the usage and
 * cost the service reports equal what follows from `sacct` and the prices, to the cent.
 * Then the budget check: cv (block) has a new sbatch refused with Slurm's message while
 * its running job finishes; nlp (restrict) keeps only the preemptible QoS; each
 * notification is sent once; an admin's lift and a new month restore both. Leaves the
 * sandbox with campus.yaml applied as it was.
 *
 * Needs root; run it under `flock /tmp/steward-sandbox.lock`.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Executor } from '../../src/adapters/executor.js'
import { createApplyEngine } from '../../src/apply/engine.js'
import { sandboxProfile } from '../../src/apply/controllers.js'
import type { ControllerProfile } from '../../src/apply/profile.js'
import { parseScontrolRecords } from '../../src/slurm/conf-parse.js'
import { loadSpecFile } from '../../src/spec/load.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { createStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'
import { SANDBOX_RELEASES, sandboxExecutor, sandboxTarget, sandboxUp } from '../../src/sandbox/index.js'
import { createBudgetService } from '../../src/budgets/service.js'
import type { BudgetNotification } from '../../src/budgets/notify.js'
import { monthOf, monthWindow } from '../../src/usage/read.js'

if (process.getuid?.() !== 0) throw new Error('the budgets integration test needs root (it starts the Slurm sandbox and creates POSIX users)')

const { spec: campus } = await loadSpecFile(new URL('../../examples/campus.yaml', import.meta.url).pathname)
const quiet = { info: () => undefined, error: () => undefined }
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/**
 * Prices chosen so that one unit of share for one second costs exactly 1.00: a GPU on
 * h100 (8 a node) or a10g (4 a node), a CPU on a cpu node (96 a node).
 */
const PRICES = { h100: 28_800, a10g: 14_400, cpu: 345_600 }

function pricedCampus(release: string): ClusterSpec {
  return {
    ...campus,
    cluster: { ...campus.cluster, slurmVersion: release },
    pricing: { currency: 'USD', nodeGroups: PRICES },
    budgets: {
      departments: [
        { department: 'nlp', monthly: 1, thresholds: [100], onExceeded: 'restrict', notify: ['pi-nlp@example.edu'] },
        { department: 'cv', monthly: 1, thresholds: [50, 100], onExceeded: 'block', notify: ['pi-cv@example.edu'] },
        { department: 'dl', monthly: 1, thresholds: [50, 100], onExceeded: 'notify', notify: ['pi-dl@example.edu'] },
      ],
    },
  }
}

async function records(ex: Executor, what: 'job', id: string): Promise<Map<string, Map<string, string>>> {
  const r = await ex.run(['scontrol', '-o', 'show', what, id], { timeoutMs: 30_000 })
  if (r.code !== 0) throw new Error(`scontrol show ${what} ${id}: ${r.stderr.trim()}`)
  return parseScontrolRecords(r.stdout, 'JobId')
}

async function waitJob(ex: Executor, id: string, states: RegExp, timeoutMs = 90_000): Promise<string> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const state = (await records(ex, 'job', id)).get(id)?.get('JobState') ?? ''
    if (states.test(state)) return state
    if (Date.now() > end) throw new Error(`job ${id} still ${state} after ${timeoutMs} ms`)
    await sleep(500)
  }
}

/** sbatch as a user: the job id, or Slurm's refusal. Accepted submissions are retried while slurmdbd pushes associations. */
async function sbatch(ex: Executor, jobs: string, user: string, args: string[], expectRefusal = false): Promise<{ id?: string; error?: string }> {
  const end = Date.now() + 20_000
  for (;;) {
    const r = await ex.run(['runuser', '-u', user, '--', 'sbatch', '--parsable', '-o', `${jobs}/%j.out`, ...args])
    if (r.code === 0) return { id: r.stdout.trim().split(';')[0] ?? '' }
    if (expectRefusal || Date.now() > end) return { error: r.stderr.trim() }
    await sleep(1000)
  }
}

/** Until `check` passes (slurmdbd pushes association changes to slurmctld asynchronously). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > end) return false
    await sleep(1000)
  }
}

/** What the prices make of sacct's own record of the jobs: cents per user, independently of src/usage. */
function expectedCents(sacct: string, from: number, to: number): Map<string, number> {
  const exact = new Map<string, number>()
  for (const line of sacct.split('\n').filter((l) => l !== '')) {
    const [, user, start, end, tres, nodes] = line.split('|') as [string, string, string, string, string, string]
    const s = Math.max(Date.parse(`${start}Z`) / 1000, from)
    const e = Math.min(end === 'Unknown' ? to : Date.parse(`${end}Z`) / 1000, to)
    if (!(e > s)) continue
    const get = (k: string) => Number((tres.split(',').find((p) => p.startsWith(`${k}=`)) ?? '=0').split('=')[1])
    const memMiB = (() => {
      const m = tres.split(',').find((p) => p.startsWith('mem='))?.slice(4) ?? '0'
      return m.endsWith('G') ? Number(m.slice(0, -1)) * 1024 : Number(m.replace(/M$/, ''))
    })()
    const group = nodes.startsWith('gpu-h100') ? 'h100' : nodes.startsWith('gpu-a10g') ? 'a10g' : 'cpu'
    const share = group === 'h100' ? get('gres/gpu') / 8 : group === 'a10g' ? get('gres/gpu') / 4 : Math.max(get('cpu') / 96, memMiB / 180_000)
    exact.set(user, (exact.get(user) ?? 0) + share * (e - s) * PRICES[group] / 3600 * 100)
  }
  return new Map([...exact].map(([u, c]) => [u, Math.round(c)]))
}

const releases = SANDBOX_RELEASES.filter((r) => (process.env.STEWARD_BUDGETS_RELEASES ?? '22.05').split(',').includes(r))
for (const release of releases) {
  t.test(`budgets on Slurm ${release}`, async (t) => {
    const target = sandboxTarget({ release })
    const ex = sandboxExecutor(target)
    const jobs = target.paths.jobs
    const profiles: ControllerProfile[] = []
    await sandboxUp({ spec: { ...campus, cluster: { ...campus.cluster, slurmVersion: release } }, release, log: (m) => t.comment(`sandbox ${release}: ${m}`) })

    const store: Store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), `steward-budgets-${release}-`)) })
    t.teardown(async () => {
      for (const p of profiles) await p.close?.()
      await store.close()
    })
    await store.createCluster('campus', 'budgets test')
    const clock = { offset: 0 }
    const now = () => Math.floor(Date.now() / 1000) + clock.offset
    const sent: BudgetNotification[] = []
    const profileFor = async (cluster: string) => {
      const p = sandboxProfile(cluster, undefined, { release })
      profiles.push(p)
      return p
    }
    const late: { budgets?: ReturnType<typeof createBudgetService> } = {}
    const engine = createApplyEngine({ store, log: quiet, profileFor, budgetActions: async (c) => late.budgets!.actionsFor(c) })
    const budgets = createBudgetService({ store, engine, profileFor, log: quiet, now, notifier: { send: async (n) => { sent.push(n) } } })
    late.budgets = budgets
    const assoc = async (account: string, user: string) => {
      const [qos = '', def = ''] = (await ex.run(['sacctmgr', '-n', '-P', 'show', 'assoc', 'where', `account=${account}`, `user=${user}`, 'cluster=campus', 'format=QOS,DefaultQOS'])).stdout.trim().split('|')
      return `${qos.split(',').sort().join(',')}|${def}`
    }
    const accountLimits = async (account: string) =>
      (await ex.run(['sacctmgr', '-n', '-P', 'show', 'assoc', 'where', `account=${account}`, 'cluster=campus', 'format=Account,User,GrpJobs,GrpSubmit'])).stdout.trim().split('\n').find((l) => l.startsWith(`${account}||`)) ?? ''

    const revision = await store.appendRevision('campus', { spec: pricedCampus(release), author: 'test', message: 'prices and budgets' })
    const first = await engine.wait((await engine.start('campus', revision.number, 'test')).id)
    t.equal(first.status, 'succeeded', first.error ?? 'applied')
    const conf = (await ex.run(['scontrol', 'show', 'partition', 'cv'])).stdout
    t.match(conf, /TRESBillingWeights=GRES\/gpu=3600/, 'slurmctld runs cv with the chargeback rule as billing weights')

    const from = now() - 1
    t.test('usage and cost of real jobs equal what sacct and the prices give, to the cent', async (t) => {
      const a = await sbatch(ex, jobs, 'dave', ['-A', 'cv-chen', '-p', 'cv', '--gres=gpu:2', '-c', '1', '-t', '5', '--wrap', 'sleep 4'])
      const b = await sbatch(ex, jobs, 'frank', ['-A', 'dl-okafor', '-p', 'dl', '--constraint=cpu', '-c', '1', '--mem=7500', '-t', '5', '--wrap', 'sleep 3'])
      const c = await sbatch(ex, jobs, 'alice', ['-A', 'nlp-smith', '-p', 'nlp', '--gres=gpu:1', '-c', '2', '-t', '5', '--wrap', 'sleep 3'])
      for (const j of [a, b, c]) t.ok(j.id, j.error ?? `job ${j.id}`)
      for (const j of [a, b, c]) await waitJob(ex, j.id!, /COMPLETED/)
      const to = now() + 1
      // slurmctld sends the end records to slurmdbd asynchronously.
      let sacct = ''
      await eventually(async () => {
        sacct = (await ex.run(['env', 'LC_ALL=C', 'TZ=UTC', 'sacct', '-P', '-n', '-X', '-j', `${a.id},${b.id},${c.id}`, '--format=JobID,User,Start,End,AllocTRES,NodeList'])).stdout
        return sacct.split('\n').filter((l) => l !== '' && !l.includes('|Unknown|')).length === 3
      })
      t.match(sacct, new RegExp(`^${a.id}\\|dave\\|.*gres/gpu=2.*\\|gpu-a10g-0\\d$`, 'm'), 'sacct: 2 GPUs on an a10g node')
      t.match(sacct, new RegExp(`^${b.id}\\|frank\\|.*cpu=1,.*mem=7500M.*\\|cpu-00\\d$`, 'm'), 'sacct: 1 CPU and 7500 MiB on a cpu node')
      t.match(sacct, new RegExp(`^${c.id}\\|alice\\|.*gres/gpu=1.*\\|gpu-h100-00\\d$`, 'm'), 'sacct: 1 GPU on an h100 node')
      const { usage } = await budgets.usage('campus', { from, to })
      const byUser = new Map(usage.lines('user').map((l) => [l.key, l]))
      const expected = expectedCents(sacct, from, to)
      t.same(new Map([...byUser].map(([u, l]) => [u, l.costCents])), expected, 'cost per user in cents')
      t.ok((expected.get('dave') ?? 0) >= 800, 'dave: 2 GPUs x >= 4 s x 1.00')
      t.ok((expected.get('frank') ?? 0) >= 1200, 'frank: the memory share (7500 of 180000 MiB: 4.00/s) over the CPU share (1.00/s)')
      t.equal(byUser.get('dave')?.jobs, 1)
      t.equal(usage.garbledCount, 0)
      const cv = usage.lines('department').find((l) => l.key === 'cv')
      t.equal(cv?.costCents, expected.get('dave'))
    })

    const month = monthOf(now())
    t.test('block: a new sbatch is refused with Slurm\'s message while the running job finishes; restrict: only the preemptible QoS', async (t) => {
      const running = await sbatch(ex, jobs, 'dave', ['-A', 'cv-chen', '-p', 'cv', '--gres=gpu:1', '-t', '5', '--wrap', 'sleep 25'])
      await waitJob(ex, running.id!, /RUNNING/)
      const check = await budgets.check('campus', 'test')
      t.same(check.started.sort((x, y) => x.department.localeCompare(y.department)), [{ department: 'cv', action: 'block' }, { department: 'nlp', action: 'restrict' }])
      t.equal(check.apply?.status, 'succeeded', check.pending ?? 'applied through the engine')
      const applied = await store.getApply(check.apply!.id)
      t.ok(applied.steps.some((s) => /GrpSubmitJobs=0 GrpJobs=0/.test(s.name)), 'the block is a step of the apply')
      t.match(await accountLimits('cv'), /^cv\|\|0\|0$/, 'GrpJobs=0 GrpSubmit=0 on the department account')
      t.equal(await waitJob(ex, running.id!, /RUNNING|COMPLETED/), 'RUNNING', 'the running job keeps running')
      let refusal = ''
      t.ok(await eventually(async () => {
        const r = await sbatch(ex, jobs, 'dave', ['-A', 'cv-chen', '-p', 'cv', '--gres=gpu:1', '-t', '5', '--wrap', 'true'], true)
        if (r.id) await ex.run(['scancel', r.id])
        refusal = r.error ?? ''
        return r.id === undefined
      }), 'a new job of cv is refused')
      t.match(refusal, /Job violates accounting\/QOS policy|AssocGrpSubmitJobsLimit/, `Slurm's message: ${refusal}`)
      t.equal(await waitJob(ex, running.id!, /COMPLETED|FAILED|CANCELLED|TIMEOUT/), 'COMPLETED', 'and it finishes')

      t.equal(await assoc('nlp-smith', 'alice'), 'scavenger|scavenger', 'nlp keeps only its preemptible QoS')
      const standard = await sbatch(ex, jobs, 'alice', ['-A', 'nlp-smith', '-p', 'nlp', '--qos=standard', '-t', '5', '--wrap', 'true'], true)
      t.match(standard.error ?? `accepted ${standard.id}`, /Invalid qos specification|invalid qos/i, 'standard is refused')
      const scavenger = await sbatch(ex, jobs, 'alice', ['-A', 'nlp-smith', '-p', 'scavenger', '-t', '5', '--wrap', 'true'])
      t.ok(scavenger.id, scavenger.error ?? 'a scavenger job is accepted')
      if (scavenger.id) t.equal((await records(ex, 'job', scavenger.id)).get(scavenger.id)?.get('QOS'), 'scavenger')

      const keys = sent.map((n) => n.key).sort()
      t.same(keys, [`campus/cv/${month}/100`, `campus/cv/${month}/50`, `campus/dl/${month}/100`, `campus/dl/${month}/50`, `campus/nlp/${month}/100`].sort())
      t.same(sent.find((n) => n.department === 'cv')?.recipients, ['pi-cv@example.edu'])
      const again = await budgets.check('campus', 'test')
      t.same([again.started, again.ended, again.notified, again.apply], [[], [], [], null], 'a second check changes nothing and sends nothing')
      t.equal(sent.length, 5, 'each notification once')
      const drift = await engine.drift('campus')
      t.equal(drift.accounting?.operations.length, 0, 'no drift: every apply plans the actions in force')
    })

    t.test('an admin\'s lift and a new month restore the department the same way', async (t) => {
      const lift = await budgets.lift('campus', 'cv', 'test-admin', 'test')
      t.equal(lift.apply?.status, 'succeeded')
      t.match(await accountLimits('cv'), /^cv\|\|\|$/, 'the block limits are gone')
      t.ok(await eventually(async () => {
        const r = await sbatch(ex, jobs, 'dave', ['-A', 'cv-chen', '-p', 'cv', '--gres=gpu:1', '-t', '5', '--wrap', 'true'], true)
        if (r.id) await ex.run(['scancel', r.id])
        return r.id !== undefined
      }), 'cv submits again')
      const held = await budgets.check('campus', 'test')
      t.same(held.started, [], 'a lift holds for the rest of the month')
      clock.offset = monthWindow(month).to - Math.floor(Date.now() / 1000) + 3600
      const next = await budgets.check('campus', 'test')
      t.same(next.ended, [{ department: 'nlp', reason: 'new month' }])
      t.equal(next.apply?.status, 'succeeded')
      t.equal(await assoc('nlp-smith', 'alice'), 'interactive,long,scavenger,standard|standard', 'nlp has its QoS back')
      t.equal(sent.length, 5, 'nothing spent in the new month: no notification')
    })

    t.test('back to campus.yaml', async (t) => {
      const rev = await store.appendRevision('campus', { spec: { ...campus, cluster: { ...campus.cluster, slurmVersion: release } }, author: 'test', message: 'campus' })
      const done = await engine.wait((await engine.start('campus', rev.number, 'test')).id)
      t.equal(done.status, 'succeeded', done.error ?? '')
    })
  })
}

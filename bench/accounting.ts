/**
 * Accounting benchmarks.
 * 1. Planning 50,000 users in 2,000 supervisor accounts, in memory: from an empty
 *    database, against an equal state (no-op), and with 1 % of users moved.
 * 2. Applying 5,000 users to the sandbox's real slurmdbd: HPC Steward's batched plan
 *    versus one `sacctmgr add user` per user (the pattern of HyperPod's sample setup
 *    scripts), as a ratio measured in the same run. The per-user loop takes ~0.8 s a user
 *    on the sandbox, so by default it runs on the first STEWARD_BENCH_PER_USER (250) users
 *    and is extrapolated to 5,000; the output says so. Set it to 5000 for the full loop.
 * Run alone: node --import @tapjs/typescript/import bench/accounting.ts
 */
import { pathToFileURL } from 'node:url'
import type { ClusterSpec, Department } from '../src/spec/schema.js'
import { desiredState } from '../src/accounting/desired.js'
import { planFromStates } from '../src/accounting/plan.js'
import { emptyAccountingState, type AccountingState } from '../src/accounting/model.js'
import { applyPlan } from '../src/accounting/apply.js'
import { readLiveAccounting } from '../src/accounting/live.js'
import { chunks } from '../src/accounting/operations.js'
import { createLocalExecutor, type Executor } from '../src/adapters/executor.js'
import { sandboxEnv, sandboxStatus } from '../src/sandbox/index.js'

export type Report = (name: string, fields: Record<string, number | string>) => void

const QOS = [{ name: 'standard', maxTresPerUser: { cpu: 256, gpu: 8 }, maxWallDurationPerJob: '2-00:00:00' }, { name: 'scavenger' }]

/** A spec with `users` users spread over `departments` x `perDept` supervisor accounts; every tenth user has two. */
export function syntheticSpec(users: number, departments: number, perDept: number, prefix = 'u'): ClusterSpec {
  const depts: Department[] = Array.from({ length: departments }, (_, d) => ({
    name: `dept${d}`, qos: ['standard', 'scavenger'], defaultQos: 'standard',
    supervisors: Array.from({ length: perDept }, (_, s) => ({ name: `sup${s}`, users: [] as string[] })),
  }))
  const accounts = departments * perDept
  const names = Array.from({ length: users }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`)
  names.forEach((name, i) => {
    const place = (k: number): void => { depts[Math.floor(k / perDept) % departments]?.supervisors?.[k % perDept]?.users.push(name) }
    place(i % accounts)
    if (i % 10 === 0 && accounts > 1) place((i + 7) % accounts)
  })
  return {
    apiVersion: 'steward/v1',
    cluster: { name: 'campus', slurmVersion: '22.05', controller: { host: 'head-1' } },
    nodeGroups: [], qos: QOS, departments: depts,
    users: names.map((name, i) => ({ name, uid: 300_000 + i })),
  }
}

function cloneState(s: AccountingState): AccountingState {
  return { ...s, qos: new Map(s.qos), accounts: new Map(s.accounts), accountRecords: new Map(s.accountRecords), associations: new Map(s.associations), users: new Map(s.users) }
}

function time<T>(fn: () => T): [T, number] {
  const start = performance.now()
  const value = fn()
  return [value, performance.now() - start]
}

/** Part 1: pure planning at 50,000 users. */
export function benchPlanInMemory(report: Report): void {
  const spec = syntheticSpec(50_000, 20, 100)
  const [desired, buildMs] = time(() => desiredState(spec))
  const empty = emptyAccountingState('campus')
  empty.clusterExists = true
  const [fromEmpty, emptyMs] = time(() => planFromStates(desired, { accounting: empty }))
  const same = cloneState(desired.accounting)
  const [noop, noopMs] = time(() => planFromStates(desired, { accounting: same }, { prune: true }))
  // 1 % of users moved: live still has them in their old account.
  const moved = cloneState(desired.accounting)
  let n = 0
  for (const [key, a] of desired.accounting.associations) {
    if (n++ % 100 !== 0) continue
    moved.associations.delete(key)
    moved.associations.set(`${a.user}\u0000dept0-sup0`, { ...a, account: 'dept0-sup0' })
  }
  const [delta, deltaMs] = time(() => planFromStates(desired, { accounting: moved }, { prune: true }))
  report('accounting plan, 50,000 users / 2,000 supervisor accounts (in memory)', {
    associations: desired.accounting.associations.size,
    'desired state ms': Math.round(buildMs),
    'from empty ms': Math.round(emptyMs), 'from empty steps': fromEmpty.operations.length,
    'no-op ms': Math.round(noopMs), 'no-op steps': noop.operations.length,
    '1% moved ms': Math.round(deltaMs), '1% moved steps': delta.operations.length,
  })
}

/**
 * Removes the bench's accounts and users. Bench-only shortcut: deleting an account
 * cascades to its user associations in one call, but leaves the user records behind,
 * so those are deleted by name afterwards.
 */
async function removeBenchTree(ex: Executor, prefix: string): Promise<void> {
  const live = await readLiveAccounting(ex, 'campus')
  const accounts = [...live.accounts.keys()].filter((a) => a.startsWith(prefix))
  if (accounts.length > 0) await ex.run(['sacctmgr', '-i', 'delete', 'account', 'where', `name=${accounts.join(',')}`, 'cluster=campus'], { timeoutMs: 900_000 })
  const users = [...(await readLiveAccounting(ex, 'campus')).users.values()]
    .filter((u) => /^b[us]\d{6}$/.test(u.name) && u.defaultAccount === '').map((u) => u.name)
  for (const batch of chunks(users)) await ex.run(['sacctmgr', '-i', 'delete', 'user', 'where', `name=${batch.join(',')}`], { timeoutMs: 900_000 })
  // Account records outlive their associations; without cluster= the records go too.
  const records = [...(await readLiveAccounting(ex, 'campus')).accountRecords.keys()].filter((a) => a.startsWith(prefix))
  if (records.length > 0) await ex.run(['sacctmgr', '-i', 'delete', 'account', 'where', `name=${records.join(',')}`])
}

/** Part 2: batched apply vs one sacctmgr per user, on the sandbox's slurmdbd. */
export async function benchApplySandbox(report: Report, users = 5_000, perUser = Number(process.env.STEWARD_BENCH_PER_USER ?? 250)): Promise<void> {
  const name = `accounting apply, ${users} users to the sandbox's slurmdbd: batched vs per-user sacctmgr`
  const status = await sandboxStatus().catch(() => undefined)
  if (!status?.running || status.clusterName !== 'campus') {
    report(name, { status: 'SKIPPED: the sandbox is not running campus.yaml (npm run sandbox:up)' })
    return
  }
  const ex = createLocalExecutor(sandboxEnv())
  await removeBenchTree(ex, 'bench')
  // The bench tree lives beside campus's: department `bench` with one supervisor account.
  const spec = syntheticSpec(users, 1, 1, 'bu')
  const dept = spec.departments[0] as Department
  dept.name = 'bench'
  const desired = desiredState(spec)
  const live = await readLiveAccounting(ex, 'campus')
  // The bench adds accounts and users only; campus's QoS stay as they are.
  desired.accounting.qos = new Map(live.qos)
  const plan = planFromStates(desired, { accounting: live })
  const start = performance.now()
  const result = await applyPlan(ex, plan, {}, 900_000)
  const batchedMs = performance.now() - start
  if (!result.ok) throw new Error(`batched apply failed at ${result.failed?.operation.summary}: ${result.failed?.result?.stderr}`)
  const addSteps = plan.operations.filter((o) => o.kind === 'association').length
  await ex.run(['sacctmgr', '-i', 'add', 'account', 'bench-single', 'cluster=campus', 'parent=bench', 'QOS=scavenger,standard', 'DefaultQOS=standard'])
  const loopUsers = Math.min(perUser, users)
  const loopStart = performance.now()
  for (let i = 0; i < loopUsers; i++) {
    const r = await ex.run(['sacctmgr', '-i', 'add', 'user', `bs${String(i).padStart(6, '0')}`, 'account=bench-single', 'cluster=campus', 'QOS=scavenger,standard', 'DefaultQOS=standard'])
    if (r.code !== 0) throw new Error(`per-user add failed: ${r.stdout}${r.stderr}`)
  }
  const loopMs = performance.now() - loopStart
  const perUserMs = loopMs / loopUsers
  const loopTotal = perUserMs * users
  await removeBenchTree(ex, 'bench')
  report(name, {
    'batched s': +(batchedMs / 1000).toFixed(1),
    'batched steps': plan.operations.length,
    'user-add commands': addSteps,
    'per-user measured on': loopUsers === users ? `all ${users} users` : `${loopUsers} users, extrapolated to ${users}`,
    'per-user ms/user': Math.round(perUserMs),
    [loopUsers === users ? 'per-user s' : 'per-user s (extrapolated)']: +(loopTotal / 1000).toFixed(1),
    'ratio per-user/batched': +(loopTotal / batchedMs).toFixed(1),
  })
}

/** Both accounting benchmarks; `bench/index.ts` calls this. */
export async function benchAccounting(report: Report): Promise<void> {
  benchPlanInMemory(report)
  await benchApplySandbox(report)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchAccounting((name, fields) => {
    console.log(name)
    for (const [k, v] of Object.entries(fields)) console.log(`  ${k}: ${v}`)
  })
}

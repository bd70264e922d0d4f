/**
 * The campus example booted on real Slurm 22.05 (the sandbox, src/sandbox): every
 * partition, its AllowAccounts/AllowQos/limits and every emulated node's GRES are what the
 * spec says, read back with scontrol and sinfo; GPU and shard jobs run to completion on
 * the right partitions and see the devices Slurm says it allocated. Then the sandbox's
 * own promises: `up` again is a fast no-op, a killed session comes back, a changed node
 * set restarts slurmctld (22.05 cannot reconfigure it), `down` twice is fine.
 *
 * Needs root (the sandbox starts daemons and creates /dev/nvidia* stand-ins) and installs
 * Debian's Slurm packages when they are missing. The sandbox is left running at the end
 * for the other integration tests (STEWARD_SANDBOX_TEARDOWN=down stops it).
 */
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { createLocalExecutor, type Executor } from '../../src/adapters/executor.js'
import { loadSpecFile } from '../../src/spec/load.js'
import type { ClusterSpec, Department, NodeGroup } from '../../src/spec/schema.js'
import { expandHostlist } from '../../src/slurm/hostlist.js'
import { timeToSeconds } from '../../src/slurm/time.js'
import { writeFilesAtomically } from '../../src/adapters/atomic-files.js'
import { renderCluster } from '../../src/slurm/render.js'
import {
  DEFAULT_PORTS, type SandboxUpResult, emulatedNodes, parseRecord, parseRecords, resolveStateDir, sandboxDown, sandboxEnv, sandboxPaths,
  sandboxReload, sandboxStatus, sandboxUp, nodeUsable,
} from '../../src/sandbox/index.js'
import { nodeAddresses, sandboxSite } from '../../src/sandbox/layout.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const specFile = join(root, 'examples', 'campus.yaml')
const isRoot = process.getuid?.() === 0
const { spec } = await loadSpecFile(specFile)
const PER_GROUP = 2
const log = (m: string) => t.comment(`sandbox: ${m}`)
// Every command of the test talks to the sandbox (SLURM_CONF), also the accounting set-up
// that runs inside sandboxUp.
const exec: Executor = createLocalExecutor(sandboxEnv())
let up: SandboxUpResult

// ---------------------------------------------------------------------------------------
// What the spec says, computed here from the spec itself (spec-format.md), not from the
// renderer's view model, so the test checks the renderer rather than repeating it.

function supervisorAccounts(d: Department): string[] {
  return (d.supervisors ?? []).map((s) => s.account ?? `${d.name}-${s.name}`)
}
const departmentAccounts = (d: Department) => [d.name, ...supervisorAccounts(d)]

interface ExpectedPartition {
  name: string
  nodes: string[]
  allowAccounts: string[]
  allowQos: string[]
  qos?: string
  isDefault: boolean
  maxTime?: string | number
  defaultTime?: string | number
  priorityTier?: number
  preemptMode?: string
  groups: NodeGroup[]
}

function expectedPartitions(s: ClusterSpec): ExpectedPartition[] {
  const groups = new Map(s.nodeGroups.map((g) => [g.name, g]))
  const make = (p: NonNullable<Department['partitions']>[number], departments: Department[]): ExpectedPartition => {
    const members = p.nodeGroups.map((n) => groups.get(n)).filter((g): g is NodeGroup => g !== undefined)
    return {
      name: p.name,
      nodes: members.flatMap((g) => expandHostlist(g.nodes)),
      allowAccounts: [...new Set(departments.flatMap(departmentAccounts))],
      allowQos: [...new Set(departments.flatMap((d) => d.qos))],
      ...(p.qos ? { qos: p.qos } : {}),
      isDefault: p.default === true,
      ...(p.maxTime !== undefined ? { maxTime: p.maxTime } : {}),
      ...(p.defaultTime !== undefined ? { defaultTime: p.defaultTime } : {}),
      ...(p.priorityTier !== undefined ? { priorityTier: p.priorityTier } : {}),
      ...(p.preemptMode ? { preemptMode: p.preemptMode } : {}),
      groups: members,
    }
  }
  return [
    ...s.departments.flatMap((d) => (d.partitions ?? []).map((p) => make(p, [d]))),
    ...(s.sharedPartitions ?? []).map((p) => make(p, p.departments === 'all' ? s.departments : s.departments.filter((d) => (p.departments as string[]).includes(d.name)))),
  ]
}

const sorted = (values: Iterable<string>) => [...values].sort()
const list = (value: string | undefined) => (value === undefined || value === '' ? [] : value.split(','))

// ---------------------------------------------------------------------------------------
// Commands against the sandbox.

async function run(argv: string[], timeoutMs = 60_000): Promise<string> {
  const r = await exec.run(argv, { timeoutMs })
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`)
  return r.stdout
}

async function sacctmgr(...args: string[]): Promise<void> {
  const r = await exec.run(['sacctmgr', '-i', ...args], { timeoutMs: 60_000 })
  // Adding what exists already is "Nothing new added" (exit 1): fine, setup is idempotent.
  if (r.code !== 0 && !/nothing new added|nothing modified|already exists/i.test(r.stdout + r.stderr)) {
    throw new Error(`sacctmgr ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`)
  }
}

/**
 * Minimal accounting so root can run jobs under AccountingStorageEnforce=associations,
 * limits,qos,safe: the partitions' accounts (supervisor accounts under their department)
 * and root's associations with every QoS. Accounting as code replaces this later; it runs
 * before slurmctld starts, as slurmctld reads AllowQos against slurmdbd.
 */
async function minimalAccounting(): Promise<void> {
  const qos = spec.qos.map((q) => q.name)
  const present = new Set((await run(['sacctmgr', '-n', '-P', 'show', 'qos', 'format=name'])).split('\n').map((l) => l.trim()))
  const missingQos = qos.filter((q) => !present.has(q))
  if (missingQos.length > 0) await sacctmgr('add', 'qos', missingQos.join(','))
  // Accounts that have an association on this cluster (an account can exist without one).
  const rows = (await run(['sacctmgr', '-n', '-P', 'show', 'assoc', `cluster=${spec.cluster.name}`, 'format=account,user'])).split('\n')
  const accounts = new Set(rows.map((l) => l.split('|')).filter(([, user]) => user === '').map(([account]) => account))
  for (const d of spec.departments) {
    if (!accounts.has(d.name)) await sacctmgr('add', 'account', d.name, `cluster=${spec.cluster.name}`, `description=${d.name}`, `organization=${d.organization ?? d.name}`)
    const subs = supervisorAccounts(d).filter((a) => !accounts.has(a))
    if (subs.length > 0) await sacctmgr('add', 'account', subs.join(','), `parent=${d.name}`, `cluster=${spec.cluster.name}`)
  }
  const assocs = new Set(rows.map((l) => l.split('|')).filter(([, user]) => user === 'root').map(([account]) => account))
  const missing = spec.departments.map((d) => d.name).filter((a) => !assocs.has(a))
  if (missing.length > 0) await sacctmgr('add', 'user', 'root', `account=${missing.join(',')}`, `cluster=${spec.cluster.name}`)
  await sacctmgr('modify', 'user', 'root', 'where', `account=${spec.departments.map((d) => d.name).join(',')}`, 'set', `qos=${qos.join(',')}`, 'defaultqos=standard')
}

async function bootCampus(nodesPerGroup = PER_GROUP): Promise<SandboxUpResult> {
  return sandboxUp({ spec, nodesPerGroup, log, beforeController: minimalAccounting })
}

async function controllerUp(): Promise<boolean> {
  return /is UP/.test((await exec.run(['scontrol', 'ping'], { timeoutMs: 30_000 })).stdout)
}

async function showJob(id: string): Promise<Map<string, string>> {
  return parseRecord((await run(['scontrol', '-o', '-d', 'show', 'job', id])).trim())
}

const FINAL = /^(?:COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)/

/** Submits a batch job and waits (bounded) for it to end; returns its id, final record and output. */
async function runJob(args: string[], script: string): Promise<{ id: string; job: Map<string, string>; output: string }> {
  const out = join(up.jobsDir, 'job-%j.out')
  const id = (await run(['sbatch', '--parsable', '--time=5', `--output=${out}`, `--chdir=${up.jobsDir}`, ...args, `--wrap=${script}`])).trim().split(';')[0] as string
  let job = await showJob(id)
  const deadline = Date.now() + 90_000
  while (!FINAL.test(job.get('JobState') ?? '')) {
    if (Date.now() > deadline) throw new Error(`job ${id} did not end in 90 s: JobState=${job.get('JobState')} Reason=${job.get('Reason')}`)
    await new Promise((r) => setTimeout(r, 500))
    job = await showJob(id)
  }
  const output = await readFile(join(up.jobsDir, `job-${id}.out`), 'utf8').catch(() => '')
  return { id, job, output }
}

/** `IDX:0-1,3` -> [0, 1, 3] */
function indexList(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number)
    if (a === undefined || Number.isNaN(a)) return []
    return b === undefined ? [a] : Array.from({ length: b - a + 1 }, (_, i) => a + i)
  })
}

// ---------------------------------------------------------------------------------------

function registerTests(): void {
  t.before(async () => {
    up = await bootCampus()
    t.comment(`sandbox ${up.action} in ${up.durationMs} ms: ${up.nodes.map((n) => n.name).join(' ')}`)
  })

  if (process.env.STEWARD_SANDBOX_TEARDOWN === 'down') t.teardown(async () => void (await sandboxDown({ log })))

  t.test('up reports the emulated nodes and the environment', async (t) => {
    t.equal(up.clusterName, spec.cluster.name)
    t.equal(up.env.SLURM_CONF, join(up.stateDir, 'etc', 'slurm.conf'))
    t.match(up.slurmVersion, /^\d+\.\d+\.\d+$/)
    const expected = spec.nodeGroups.flatMap((g) => expandHostlist(g.nodes).slice(0, PER_GROUP))
    t.same(up.nodes.map((n) => n.name), expected)
    t.equal(new Set(up.nodes.map((n) => n.port)).size, up.nodes.length, 'every slurmd has its own port')
    const total = spec.nodeGroups.reduce((sum, g) => sum + expandHostlist(g.nodes).length, 0)
    t.equal(up.downNodes, total - expected.length)
    t.equal((await run(['scontrol', 'show', 'config'])).match(/^ClusterName\s*=\s*(\S+)/m)?.[1], spec.cluster.name)
  })

  t.test('every partition is what the spec says', async (t) => {
    const live = new Map(parseRecords(await run(['scontrol', '-o', 'show', 'partition'])).map((r) => [r.get('PartitionName') ?? '', r]))
    const expected = expectedPartitions(spec)
    t.same(sorted(live.keys()), sorted(expected.map((p) => p.name)), 'the partitions, no more, no less')
    for (const p of expected) {
      t.test(`partition ${p.name}`, async (t) => {
        const r = live.get(p.name)
        if (!r) return t.fail(`partition ${p.name} missing`)
        t.same(sorted(list(r.get('AllowAccounts'))), sorted(p.allowAccounts), 'AllowAccounts: department and every supervisor account')
        t.same(sorted(list(r.get('AllowQos'))), sorted(p.allowQos), 'AllowQos: the departments\' QoS (all resolved in slurmdbd)')
        t.equal(r.get('QoS'), p.qos ?? 'N/A', 'partition QoS')
        t.equal(r.get('Default'), p.isDefault ? 'YES' : 'NO', 'Default')
        t.equal(timeToSeconds(r.get('MaxTime') ?? ''), p.maxTime === undefined ? null : timeToSeconds(p.maxTime), 'MaxTime')
        if (p.defaultTime !== undefined) t.equal(timeToSeconds(r.get('DefaultTime') ?? ''), timeToSeconds(p.defaultTime), 'DefaultTime')
        else t.equal(r.get('DefaultTime'), 'NONE', 'no DefaultTime')
        if (p.priorityTier !== undefined) t.equal(Number(r.get('PriorityTier')), p.priorityTier, 'PriorityTier')
        if (p.preemptMode) t.equal(r.get('PreemptMode'), p.preemptMode.toUpperCase(), 'PreemptMode')
        t.equal(r.get('State'), 'UP')
        t.same(sorted(expandHostlist(r.get('Nodes') ?? '')), sorted(p.nodes), 'Nodes: every node of its groups')
        t.equal(Number(r.get('TotalNodes')), p.nodes.length)
        const gpus = p.groups.reduce((sum, g) => sum + expandHostlist(g.nodes).length * (g.gpus?.count ?? 0), 0)
        const shards = p.groups.reduce((sum, g) => sum + expandHostlist(g.nodes).length * (g.gpus?.sharing?.mode === 'shard' ? g.gpus.count * g.gpus.sharing.perGpu : 0), 0)
        const tres = r.get('TRES') ?? ''
        if (gpus > 0) t.match(tres, new RegExp(`(^|,)gres/gpu=${gpus}(,|$)`), `TRES counts ${gpus} GPUs`)
        else t.notMatch(tres, /gres\/gpu=/, 'no GPUs')
        if (shards > 0) t.match(tres, new RegExp(`(^|,)gres/shard=${shards}(,|$)`), `TRES counts ${shards} shards`)
        // sinfo agrees on how many of its nodes are up (the emulated ones) and down (the rest).
        const up2 = p.nodes.filter((n) => up.nodes.some((e) => e.name === n)).length
        const counts = (await run(['sinfo', '-h', '-p', p.name, '-o', '%t %D'])).trim().split('\n')
        // Up is idle, or busy with a job of another test using the same sandbox.
        const count = (states: RegExp) => counts.map((l) => l.split(' ')).filter(([st]) => states.test(st ?? '')).reduce((sum, [, n]) => sum + Number(n), 0)
        t.equal(count(/^(?:idle|mix|alloc|comp)$/), up2, 'sinfo: the emulated nodes are up')
        t.equal(count(/^down\*?$/), p.nodes.length - up2, 'sinfo: the others are down')
      })
    }
  })

  t.test('every emulated node has the spec\'s hardware and GRES; the others are down', async (t) => {
    const live = new Map(parseRecords(await run(['scontrol', '-o', 'show', 'node'])).map((r) => [r.get('NodeName') ?? '', r]))
    const emulated = new Set(up.nodes.map((n) => n.name))
    for (const g of spec.nodeGroups) {
      for (const name of expandHostlist(g.nodes)) {
        const r = live.get(name)
        if (!r) {
          t.fail(`node ${name} missing`)
          continue
        }
        if (!emulated.has(name)) {
          t.match(r.get('State'), /^DOWN/, `${name} is down`)
          t.equal(r.get('Reason'), 'not_emulated', `${name} says why`)
          continue
        }
        t.ok(nodeUsable(r.get('State') ?? ''), `${name} is usable (${r.get('State')})`)
        t.equal(Number(r.get('CPUTot')), g.cpus, `${name} CPUs`)
        t.equal(Number(r.get('RealMemory')), g.realMemoryMiB, `${name} RealMemory`)
        t.equal(r.get('NodeAddr'), '127.0.0.1', `${name} NodeAddr`)
        t.equal(Number(r.get('Port')), up.nodes.find((n) => n.name === name)?.port, `${name} Port`)
        if (g.features) t.same(sorted(list(r.get('AvailableFeatures'))), sorted(g.features), `${name} features`)
        if (g.weight !== undefined) t.equal(Number(r.get('Weight')), g.weight, `${name} Weight`)
        const cfg = r.get('CfgTRES') ?? ''
        const gres = r.get('Gres') ?? ''
        // sinfo reads the same GRES from slurmctld: check it through both.
        const sinfoGres = (await run(['sinfo', '-h', '-N', '-n', name, '-o', '%G'])).trim().split('\n')[0]
        if (!g.gpus) {
          t.equal(gres, '(null)', `${name} has no GRES`)
          t.notMatch(cfg, /gres\//, `${name} has no GRES TRES`)
          continue
        }
        t.match(gres, new RegExp(`(^|,)gpu:${g.gpus.type}:${g.gpus.count}(\\(|,|$)`), `${name} Gres has gpu:${g.gpus.type}:${g.gpus.count}`)
        t.match(cfg, new RegExp(`(^|,)gres/gpu=${g.gpus.count}(,|$)`), `${name} CfgTRES has ${g.gpus.count} GPUs`)
        t.equal(sinfoGres, gres, `${name}: sinfo %G is scontrol's Gres`)
        const sharing = g.gpus.sharing
        if (sharing) {
          const count = g.gpus.count * sharing.perGpu
          // Slurm 22.05 types the shards after the GPUs they share: shard:a10g:16.
          t.match(gres, new RegExp(`(^|,)${sharing.mode}(:${g.gpus.type})?:${count}(\\(|,|$)`), `${name} Gres has ${sharing.mode}:${count}`)
          t.match(cfg, new RegExp(`(^|,)gres/${sharing.mode}=${count}(,|$)`), `${name} CfgTRES has ${count} ${sharing.mode}s`)
        } else {
          t.notMatch(gres, /shard|mps/, `${name} has no shared GPUs`)
        }
      }
    }
  })

  t.test('GPU and shard jobs run to completion where the spec puts them', async (t) => {
    const groupOf = new Map(spec.nodeGroups.flatMap((g) => expandHostlist(g.nodes).map((n) => [n, g] as const)))
    const script = 'echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"; echo "NODE=$SLURMD_NODENAME"; scontrol -o -d show job "$SLURM_JOB_ID"'
    const cases = [
      { title: 'gpu:1 on nlp (H100)', args: ['--account=nlp', '--partition=nlp', '--qos=standard', '--gres=gpu:1'], tres: 'gres/gpu=1', gres: 'gpu', groups: ['h100'], count: 1 },
      { title: 'shard:1 on cv (A10G shared)', args: ['--account=cv', '--partition=cv', '--qos=standard', '--gres=shard:1'], tres: 'gres/shard=1', gres: 'shard', groups: ['a10g'], count: 1 },
      { title: 'gpu:2 on dl lands on H100, not CPU nodes', args: ['--account=dl', '--partition=dl', '--qos=standard', '--gres=gpu:2'], tres: 'gres/gpu=2', gres: 'gpu', groups: ['h100'], count: 2 },
      { title: 'gpu:1 on scavenger with the scavenger QoS', args: ['--account=cv', '--partition=scavenger', '--qos=scavenger', '--gres=gpu:1', '--constraint=a10g'], tres: 'gres/gpu=1', gres: 'gpu', groups: ['a10g'], count: 1 },
    ]
    // All submitted at once (one scheduling pass starts them), then checked one by one.
    const jobs = cases.map((c) => runJob(c.args, script))
    // Awaited in their subtests; this only keeps an early failure from being "unhandled".
    for (const j of jobs) j.catch(() => undefined)
    for (const [i, c] of cases.entries()) {
      t.test(c.title, async (t) => {
        const { id, job, output } = await (jobs[i] as ReturnType<typeof runJob>)
        t.equal(job.get('JobState'), 'COMPLETED', `job ${id} completed (Reason=${job.get('Reason')}); output:\n${output}`)
        t.equal(job.get('ExitCode'), '0:0')
        t.equal(job.get('Partition'), c.args.find((a) => a.startsWith('--partition='))?.split('=')[1])
        const node = job.get('NodeList') ?? ''
        t.ok(c.groups.includes(groupOf.get(node)?.name ?? ''), `ran on ${node}, a node of ${c.groups.join('/')}`)
        t.match(job.get('TRES') ?? '', new RegExp(`(^|,)${c.tres.replace('/', '\\/')}(,|$)`), `allocated ${c.tres}`)
        // What the job saw against what Slurm said it allocated (printed by the job itself,
        // while it ran: the detailed GRES index is cleared once a job ends).
        const visible = /^CUDA_VISIBLE_DEVICES=(.*)$/m.exec(output)?.[1]
        const inside = parseRecord(output.split('\n').find((l) => l.startsWith('JobId=')) ?? '')
        const idx = /\(IDX:([0-9,-]+)\)/.exec(inside.get('GRES') ?? '')?.[1]
        t.match(inside.get('GRES') ?? '', new RegExp(`^${c.gres}(:[a-z0-9]+)?:${c.count}\\(IDX:`), `scontrol -d shows the ${c.gres} allocation: ${inside.get('GRES')}`)
        t.ok(idx !== undefined, 'Slurm reports the device index')
        t.ok(visible !== undefined && visible !== 'unset', `CUDA_VISIBLE_DEVICES is set (${visible})`)
        if (c.gres === 'gpu') {
          t.equal(indexList(idx ?? '').length, c.count, `${c.count} GPU(s) allocated`)
          t.same((visible ?? '').split(',').map(Number), indexList(idx ?? ''), 'CUDA_VISIBLE_DEVICES lists the GPUs Slurm allocated')
        } else {
          t.same((visible ?? '').split(',').map(Number), indexList(idx ?? ''), 'CUDA_VISIBLE_DEVICES is the GPU the shard belongs to')
        }
        t.match(output, new RegExp(`^NODE=${node}$`, 'm'), 'the job ran on the node Slurm reports')
        // Accounting recorded it. slurmdbd lags a moment behind slurmctld, and fills the
        // record in several updates (seen: State COMPLETED with Partition still empty).
        const recorded = new RegExp(`^COMPLETED\\|${job.get('Partition')}\\|.*${c.tres.replace('/', '\\/')}`, 'm')
        let sacct = ''
        for (let i = 0; i < 60 && !recorded.test(sacct); i++) {
          sacct = await run(['sacct', '-n', '-P', '-X', '-j', id, '-o', 'State,Partition,AllocTRES'])
          if (!recorded.test(sacct)) await new Promise((r) => setTimeout(r, 250))
        }
        t.match(sacct, recorded, `sacct: ${sacct.trim()}`)
      })
    }
  })

  t.test('a job without a usable account is refused (associations enforced)', async (t) => {
    const r = await exec.run(['sbatch', '--parsable', '--account=nosuchaccount', '--partition=nlp', '--wrap=true'], { timeoutMs: 30_000 })
    t.not(r.code, 0, 'sbatch refuses it')
    t.match(r.stderr, /account|association/i)
  })

  t.test('up again with the same spec changes nothing and is fast', async (t) => {
    const again = await bootCampus()
    t.equal(again.action, 'unchanged')
    t.same(again.started, [])
    t.ok(again.durationMs < 15_000, `took ${again.durationMs} ms`)
  })

  t.test('up after a killed session starts what died', async (t) => {
    const before = await sandboxStatus()
    const victims = before.daemons.filter((d) => d.alive && (d.name === 'slurmctld' || d.name === 'slurmdbd' || d.node === up.nodes[0]?.name))
    t.equal(victims.length, 3)
    for (const d of victims) process.kill(d.pid as number, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 500))
    t.notOk((await sandboxStatus()).running, 'status sees the dead daemons')
    const again = await bootCampus()
    t.equal(again.action, 'started')
    t.same(sorted(again.started), sorted(['slurmctld', 'slurmdbd', `slurmd:${up.nodes[0]?.name}`]))
    const after = await sandboxStatus()
    t.ok(after.running, 'everything runs again')
    const states = parseRecords(await run(['scontrol', '-o', 'show', 'node', up.nodes[0]?.name ?? '']))
    t.ok(nodeUsable(states[0]?.get('State') ?? ''), `the node is back: ${states[0]?.get('State')}`)
  })

  t.test('a changed node set restarts slurmctld (22.05 cannot reconfigure it)', async (t) => {
    const three = await bootCampus(3)
    t.equal(three.action, 'restarted')
    t.equal(three.nodes.length, spec.nodeGroups.length * 3)
    const slurmctldLog = await readFile(join(three.stateDir, 'log', 'slurmctld.log'), 'utf8')
    t.notMatch(slurmctldLog, /MaxNodeCount has changed/, 'no fatal reconfigure')
    const usable = parseRecords(await run(['scontrol', '-o', 'show', 'node'])).filter((r) => nodeUsable(r.get('State') ?? '')).map((r) => r.get('NodeName') ?? '')
    t.same(sorted(usable), sorted(three.nodes.map((n) => n.name)), 'exactly the 3 nodes per group are up')
    const two = await bootCampus(2)
    t.equal(two.action, 'restarted')
    const third = three.nodes.filter((n) => !two.nodes.some((m) => m.name === n.name)).map((n) => n.name)
    for (const r of parseRecords(await run(['scontrol', '-o', 'show', 'node', third.join(',')]))) {
      t.match(r.get('State'), /^DOWN/, `${r.get('NodeName')} is down again`)
      t.equal(r.get('Reason'), 'not_emulated')
    }
    up = two
  })

  t.test('reload takes installed files; a node-set change restarts even when a reconfigure was asked', async (t) => {
    // What `apply` does: install freshly rendered files in the sandbox's etc/, then reload.
    const paths = sandboxPaths(resolveStateDir())
    const renderFor = (perGroup: number) => renderCluster(spec, {
      site: sandboxSite(paths, spec, hostname(), DEFAULT_PORTS),
      nodeAddresses: nodeAddresses(emulatedNodes(spec, perGroup, DEFAULT_PORTS.firstNode), hostname()),
    })
    const same = await sandboxReload({ log })
    t.equal(same.action, 'reconfigured', 'unchanged files: a plain reconfigure')
    await writeFilesAtomically(paths.etc, renderFor(3))
    const three = await sandboxReload({ log })
    t.equal(three.action, 'restarted', 'the node set changed: restart, not the fatal reconfigure')
    t.match(three.reason ?? '', /cannot take this change with scontrol reconfigure/)
    t.equal(three.nodes.length, spec.nodeGroups.length * 3)
    t.ok((await controllerUp()), 'slurmctld is up')
    const usable = parseRecords(await run(['scontrol', '-o', 'show', 'node'])).filter((r) => nodeUsable(r.get('State') ?? '')).map((r) => r.get('NodeName') ?? '')
    t.same(sorted(usable), sorted(three.nodes), 'the newly emulated nodes joined')
    const forced = await sandboxReload({ restart: true, log })
    t.equal(forced.action, 'restarted')
    const back = await bootCampus()
    t.equal(back.action, 'restarted', 'up brings it back to 2 per group')
    up = back
  })

  t.test('down twice, then up again', async (t) => {
    const first = await sandboxDown({ log })
    t.ok(first.stopped.includes('slurmctld') && first.stopped.includes('munged'), `stopped ${first.stopped.join(', ')}`)
    const status = await sandboxStatus()
    t.ok(status.daemons.every((d) => !d.alive), 'nothing runs')
    t.same(status.devices, [], 'the GPU stand-ins it made are gone')
    const second = await sandboxDown({ log })
    t.same(second.stopped, [], 'the second down has nothing to stop')
    const again = await bootCampus()
    t.equal(again.action, 'started')
    t.ok((await sandboxStatus()).running)
    const { job } = await runJob(['--account=nlp', '--partition=nlp', '--qos=standard', '--gres=gpu:1'], 'true')
    t.equal(job.get('JobState'), 'COMPLETED', 'jobs run after the restart (state and accounting kept)')
    up = again
  })
}

// Never skipped: CI runs as root, and a sandbox that cannot start must fail the suite.
if (!isRoot) throw new Error('the sandbox integration test needs root (it starts Slurm daemons and creates /dev/nvidia* stand-ins)')
registerTests()

/**
 * The core of the real-Slurm suite on each release the sandbox runs: 22.05 (the host's
 * Debian 12 packages) and 24.11 (what HyperPod runs; Debian 13's packages inside a
 * debootstrapped root, src/sandbox/release.ts). For each: campus.yaml (its slurmVersion
 * set to the release) boots with every partition and GRES; the apply engine applies it
 * (POSIX users, QoS, accounts, files) through the sandbox's own Executor; a job over its
 * QoS GPU limit pends with QOSMaxGRESPerUser; GPU and shard jobs run; a node-set change
 * is applied with a reconfigure on 24.11 and a restart on 22.05 and checked live; a failed
 * health check rolls back and Slurm runs the previous files.
 *
 * Needs root. The 24.11 root is made on first use (about a minute) and kept in its state
 * directory. Both sandboxes are left running with campus.yaml (the 22.05 one is shared
 * with the other integration tests); STEWARD_SANDBOX_TEARDOWN=down stops the 24.11 one.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Executor } from '../../src/adapters/executor.js'
import { createApplyEngine } from '../../src/apply/engine.js'
import { sandboxProfile } from '../../src/apply/controllers.js'
import type { ControllerProfile } from '../../src/apply/profile.js'
import { parseScontrolRecords } from '../../src/slurm/conf-parse.js'
import { resolvePartitions } from '../../src/spec/model.js'
import { loadSpecFile } from '../../src/spec/load.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { createStore } from '../../src/store/index.js'
import type { ApplyRecord, Store } from '../../src/store/types.js'
import {
  SANDBOX_RELEASES, type SandboxRelease, sandboxDown, sandboxExecutor, sandboxStatus, sandboxTarget, sandboxUp,
} from '../../src/sandbox/index.js'

if (process.getuid?.() !== 0) throw new Error('the release suite needs root (it starts Slurm sandboxes and creates POSIX users)')

const { spec: campus } = await loadSpecFile(new URL('../../examples/campus.yaml', import.meta.url).pathname)
const quiet = { info: () => undefined, error: () => undefined }
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** campus.yaml on `release`, and with the cpu group grown by `extraCpuNodes` nodes. */
function campusOn(release: SandboxRelease, extraCpuNodes = 0): ClusterSpec {
  const nodeGroups = campus.nodeGroups.map((g) => (g.name === 'cpu' && extraCpuNodes > 0 ? { ...g, nodes: `cpu-[001-${String(32 + extraCpuNodes).padStart(3, '0')}]` } : g))
  return { ...campus, cluster: { ...campus.cluster, slurmVersion: release }, nodeGroups }
}

async function records(ex: Executor, what: 'node' | 'partition' | 'job', key: string, id?: string): Promise<Map<string, Map<string, string>>> {
  const r = await ex.run(['scontrol', '-o', 'show', what, ...(id ? [id] : [])], { timeoutMs: 30_000 })
  if (r.code !== 0) throw new Error(`scontrol show ${what} ${id ?? ''}: ${r.stderr.trim()}`)
  return parseScontrolRecords(r.stdout, key)
}

/** Submits as a POSIX user inside the sandbox; retried briefly while slurmdbd pushes new associations. */
async function submit(ex: Executor, jobs: string, user: string, args: string[]): Promise<string> {
  const end = Date.now() + 20_000
  for (;;) {
    const r = await ex.run(['runuser', '-u', user, '--', 'sbatch', '--parsable', '-o', `${jobs}/%j.out`, ...args])
    if (r.code === 0) return r.stdout.trim().split(';')[0] ?? ''
    if (Date.now() > end) throw new Error(`sbatch as ${user} refused: ${r.stderr.trim()}`)
    await sleep(1000)
  }
}

async function waitJob(ex: Executor, id: string, states: RegExp, reason?: string, timeoutMs = 90_000): Promise<{ state: string; reason: string }> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const j = (await records(ex, 'job', 'JobId', id)).get(id)
    const now = { state: j?.get('JobState') ?? '', reason: j?.get('Reason') ?? '' }
    if (states.test(now.state) && (reason === undefined || now.reason === reason)) return now
    if (Date.now() > end) throw new Error(`job ${id} still ${now.state} (${now.reason}) after ${timeoutMs} ms`)
    await sleep(500)
  }
}

// STEWARD_TEST_RELEASES=24.11 runs one release while working on it; CI runs both.
const releases = SANDBOX_RELEASES.filter((r) => (process.env.STEWARD_TEST_RELEASES ?? SANDBOX_RELEASES.join(',')).split(',').includes(r))
for (const release of releases) {
  t.test(`Slurm ${release}`, async (t) => {
    const target = sandboxTarget({ release })
    const ex = sandboxExecutor(target)
    const jobs = target.paths.jobs
    const profiles: ControllerProfile[] = []

    const up = await sandboxUp({ spec: campusOn(release), release, log: (m) => t.comment(`sandbox ${release}: ${m}`) })
    t.equal(up.release, release)
    t.match(up.slurmVersion, new RegExp(`^${release.replace('.', '\\.')}\\.`), `the daemons are Slurm ${release}`)
    const status = await sandboxStatus({ release })
    t.ok(status.running, 'status says it runs')
    t.equal(status.release, release, 'status says which release')

    t.test('every partition and the emulated nodes\' GRES are what the spec says', async (t) => {
      const partitions = await records(ex, 'partition', 'PartitionName')
      const expected = resolvePartitions(campus)
      t.same([...partitions.keys()].sort(), expected.map((r) => r.partition.name).sort(), 'the spec\'s partitions, no others')
      for (const r of expected) {
        const live = partitions.get(r.partition.name)
        t.same(live?.get('AllowAccounts')?.split(',').sort(), [...r.allowAccounts].sort(), `${r.partition.name}: AllowAccounts`)
        t.same(live?.get('AllowQos')?.split(',').sort(), [...r.allowQos].sort(), `${r.partition.name}: AllowQos`)
      }
      const nodes = await records(ex, 'node', 'NodeName')
      for (const n of up.nodes) {
        const group = campus.nodeGroups.find((g) => g.name === n.group)
        const gres = nodes.get(n.name)?.get('Gres') ?? ''
        if (!group?.gpus) {
          t.match(gres, /^\(null\)$|^$/, `${n.name}: no GRES`)
          continue
        }
        t.match(gres, new RegExp(`(^|,)gpu:${group.gpus.type}:${group.gpus.count}(\\(|,|$)`), `${n.name}: gpu:${group.gpus.type}:${group.gpus.count}`)
        if (group.gpus.sharing) t.match(gres, new RegExp(`(^|,)shard:(${group.gpus.type}:)?${group.gpus.count * group.gpus.sharing.perGpu}(\\(|,|$)`), `${n.name}: shards`)
      }
    })

    const store: Store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), `steward-release-${release}-`)) })
    t.teardown(async () => {
      for (const p of profiles) await p.close?.()
      await store.close()
    })
    await store.createCluster('campus', `campus on Slurm ${release}`)
    let healthCheck: string[] | undefined
    const engine = createApplyEngine({
      store,
      log: quiet,
      profileFor: async (cluster) => {
        const p = sandboxProfile(cluster, undefined, { release })
        profiles.push(p)
        return healthCheck ? { ...p, healthCheck } : p
      },
    })
    const applyRevision = async (spec: ClusterSpec, message: string): Promise<ApplyRecord> => {
      const revision = await store.appendRevision('campus', { spec, author: 'test', message })
      const started = await engine.start('campus', revision?.number, 'test')
      return engine.wait(started.id)
    }

    t.test('the engine applies the spec and QoS limits hold real jobs', async (t) => {
      const apply = await applyRevision(campusOn(release), 'campus')
      t.equal(apply.status, 'succeeded', apply.error ?? '')
      const over = await submit(ex, jobs, 'alice', ['-A', 'nlp-smith', '-p', 'nlp', '-N', '2', '--gres=gpu:5', '-t', '10', '--wrap', 'sleep 5'])
      t.match(await waitJob(ex, over, /PENDING/, 'QOSMaxGRESPerUser'), { reason: 'QOSMaxGRESPerUser' }, '10 GPUs over standard\'s 8 per user pend with QOSMaxGRESPerUser')
      await ex.run(['scancel', over])
    })

    t.test('GPU and shard jobs run and see what Slurm gave them', async (t) => {
      const gpu = await submit(ex, jobs, 'alice', ['-A', 'nlp-smith', '-p', 'nlp', '--gres=gpu:2', '-t', '5', '--wrap', 'echo gpus=$CUDA_VISIBLE_DEVICES'])
      t.match(await waitJob(ex, gpu, /COMPLETED|FAILED|CANCELLED|TIMEOUT/), { state: 'COMPLETED' }, 'the GPU job completed')
      t.match(readFileSync(`${jobs}/${gpu}.out`, 'utf8'), /^gpus=\d+,\d+$/m, 'it saw two GPUs')
      const shard = await submit(ex, jobs, 'dave', ['-A', 'cv-chen', '-p', 'cv', '--gres=shard:2', '-t', '5', '--wrap', 'echo shard-ok'])
      t.match(await waitJob(ex, shard, /COMPLETED|FAILED|CANCELLED|TIMEOUT/), { state: 'COMPLETED' }, 'the shard job completed')
      t.match(readFileSync(`${jobs}/${shard}.out`, 'utf8'), /shard-ok/)
    })

    t.test(`a node-set change is applied with ${release === '24.11' ? 'a reconfigure' : 'a restart'} and holds live`, async (t) => {
      const apply = await applyRevision(campusOn(release, 2), 'two more cpu nodes')
      t.equal(apply.status, 'succeeded', apply.error ?? '')
      const steps = apply.steps.map((s) => s.name)
      if (release === '24.11') {
        t.ok(steps.includes('reconfigure') && !steps.includes('restart slurmctld'), `reconfigured, not restarted (${steps.join(', ')})`)
      } else {
        t.ok(steps.includes('restart slurmctld'), `restarted (${steps.join(', ')})`)
      }
      const nodes = await records(ex, 'node', 'NodeName')
      t.ok(nodes.has('cpu-033') && nodes.has('cpu-034'), 'the new nodes are in the running slurmctld')
      const cpu = await submit(ex, jobs, 'alice', ['-A', 'nlp-smith', '-p', 'scavenger', '--qos=scavenger', '-t', '5', '--wrap', 'true'])
      t.match(await waitJob(ex, cpu, /COMPLETED|FAILED|CANCELLED|TIMEOUT/), { state: 'COMPLETED' }, 'jobs still run after it')
    })

    t.test('a failed health check rolls back and Slurm runs the previous files', async (t) => {
      healthCheck = ['false']
      const apply = await applyRevision(campusOn(release), 'back to 32 cpu nodes, with a failing health check')
      healthCheck = undefined
      t.equal(apply.status, 'rolled-back', apply.error ?? '')
      const nodes = await records(ex, 'node', 'NodeName')
      t.ok(nodes.has('cpu-034'), 'slurmctld runs the previous node set again')
      t.match((await ex.run(['scontrol', 'ping'])).stdout, /is UP/)
    })

    t.test('back to campus.yaml', async (t) => {
      const apply = await applyRevision(campusOn(release), 'campus')
      t.equal(apply.status, 'succeeded', apply.error ?? '')
      t.notOk((await records(ex, 'node', 'NodeName')).has('cpu-034'), 'the extra nodes are gone')
    })

    if (release !== '22.05' && process.env.STEWARD_SANDBOX_TEARDOWN === 'down') t.teardown(async () => { await sandboxDown({ release }) })
  })
}

/**
 * The service for the read benchmark, in its own process (bench/reads.ts starts it):
 * a store in a temporary directory with examples/campus.yaml seeded and one admin
 * token; prints `{"address", "secret"}` on one line once it listens, stops on SIGTERM.
 * With the argument `dashboard` (bench/dashboard.ts) it also reads the cluster's live
 * state, from the local sandbox's slurmctld when it answers, else from a replay of
 * captured scontrol output (always with STEWARD_BENCH_SLURM=replay), and says which as
 * `source`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { buildApp } from '../src/api/app.js'
import { createRevisionService } from '../src/revisions/service.js'
import { seedCluster } from '../src/revisions/seed.js'
import { createStore } from '../src/store/index.js'
import { hashTokenSecret, newTokenSecret } from '../src/auth/tokens.js'
import { projectRoot } from '../src/project-root.js'
import type { ClusterSpec } from '../src/spec/schema.js'
import type { Executor } from '../src/adapters/executor.js'
import { createClusterStateService } from '../src/cluster-state/read.js'
import { sandboxExecutor, sandboxTarget } from '../src/sandbox/index.js'

function replayExecutor(): Executor {
  const nodes = readFileSync(join(projectRoot(), 'test', 'cluster-state', 'fixtures', 'scontrol-nodes-22.05.txt'), 'utf8')
  return {
    target: 'replay',
    async run(argv) { return { argv, code: 0, stdout: argv.includes('scontrol') ? nodes : '', stderr: '' } },
    async readFile() { return undefined },
    async writeFileAtomic() {},
  }
}

/** The sandbox's executor when its slurmctld answers, else the replay (always with STEWARD_BENCH_SLURM=replay). */
async function slurmSource(): Promise<{ executor: Executor; name: string }> {
  if (process.env.STEWARD_BENCH_SLURM === 'replay') return { executor: replayExecutor(), name: 'replayed scontrol output (STEWARD_BENCH_SLURM=replay)' }
  try {
    const executor = sandboxExecutor(sandboxTarget())
    const r = await executor.run(['scontrol', 'ping'], { timeoutMs: 10_000 })
    if (r.code === 0 && /UP/.test(r.stdout)) return { executor, name: 'sandbox slurmctld' }
  } catch { /* not installed or not running */ }
  return { executor: replayExecutor(), name: 'replayed scontrol output (sandbox not running)' }
}

const dashboard = process.argv[2] === 'dashboard'
const slurm = dashboard ? await slurmSource() : undefined
const dir = mkdtempSync(join(tmpdir(), 'steward-bench-reads-'))
const store = await createStore({ dataDir: dir })
const app = await buildApp({ store, ...(slurm ? { clusterState: createClusterStateService({ executorFor: async () => slurm.executor }) } : {}) }, { logger: false })
const secret = newTokenSecret()
await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'bench', createdBy: 'bench' })
const spec = parse(readFileSync(join(projectRoot(), 'examples', 'campus.yaml'), 'utf8')) as ClusterSpec
await seedCluster(store, createRevisionService(store), spec, { description: 'bench', source: 'bench', message: 'bench' })
const address = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ address, secret, ...(slurm ? { source: slurm.name } : {}) })}\n`)
process.once('SIGTERM', () => {
  void app.close().then(() => store.close()).finally(() => {
    rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  })
})

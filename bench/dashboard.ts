/**
 * The dashboard's overview page and GET /v1/clusters/{c}/gpus at 10 concurrent clients,
 * as ratios to GET /healthz of the same app in the same run. The GPU figures come from
 * the local sandbox's slurmctld when it runs (`steward sandbox up`; run the bench under
 * flock /tmp/steward-sandbox.lock), else from a replay of captured scontrol output; the
 * service reuses a read for 5 s either way (DEFAULT_CACHE_MS), which is what makes the
 * page cheap: the report says which source was used. STEWARD_BENCH_SLURM=replay uses the
 * replay without touching the sandbox (no lock needed).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { parse } from 'yaml'
import { buildApp } from '../src/api/app.js'
import { createRevisionService } from '../src/revisions/service.js'
import { seedCluster } from '../src/revisions/seed.js'
import { createStore } from '../src/store/index.js'
import { hashTokenSecret, newTokenSecret } from '../src/auth/tokens.js'
import type { Executor } from '../src/adapters/executor.js'
import { createClusterStateService } from '../src/cluster-state/read.js'
import { sandboxExecutor, sandboxTarget } from '../src/sandbox/index.js'
import type { ClusterSpec } from '../src/spec/schema.js'
import type { Report } from './timing.js'

const DURATION_S = 5
const CONNECTIONS = 10

function replayExecutor(): Executor {
  const nodes = readFileSync(new URL('../../test/cluster-state/fixtures/scontrol-nodes-22.05.txt', import.meta.url), 'utf8')
  return {
    target: 'replay',
    async run(argv) { return { argv, code: 0, stdout: argv.includes('scontrol') ? nodes : '', stderr: '' } },
    async readFile() { return undefined },
    async writeFileAtomic() {},
  }
}

/** The sandbox's executor when its slurmctld answers, else the replay (always with STEWARD_BENCH_SLURM=replay). */
async function source(): Promise<{ executor: Executor; name: string }> {
  if (process.env.STEWARD_BENCH_SLURM === 'replay') return { executor: replayExecutor(), name: 'replayed scontrol output (STEWARD_BENCH_SLURM=replay)' }
  try {
    const executor = sandboxExecutor(sandboxTarget())
    const r = await executor.run(['scontrol', 'ping'], { timeoutMs: 10_000 })
    if (r.code === 0 && /UP/.test(r.stdout)) return { executor, name: 'sandbox slurmctld' }
  } catch { /* not installed or not running */ }
  return { executor: replayExecutor(), name: 'replayed scontrol output (sandbox not running)' }
}

export async function benchDashboard(report: Report): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-'))
  const store = await createStore({ dataDir: dir })
  const { executor, name } = await source()
  const app = await buildApp({ store, clusterState: createClusterStateService({ executorFor: async () => executor }) }, { logger: false })
  try {
    const secret = newTokenSecret()
    await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'bench', createdBy: 'bench' })
    const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
    await seedCluster(store, createRevisionService(store), spec, { description: 'bench', source: 'bench', message: 'bench' })
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    // Sign in once, as a browser would: the session cookie is all the page requests carry.
    const form = await fetch(`${address}/ui/login`)
    const loginCookie = /stw_login=([^;]+)/.exec(form.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? ''
    const signIn = await fetch(`${address}/ui/login`, {
      method: 'POST', redirect: 'manual', body: new URLSearchParams({ token: secret, _csrf: csrf }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `stw_login=${loginCookie}` },
    })
    const session = /stw_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1]
    if (!session) throw new Error(`bench: signing in to the dashboard failed (${signIn.status})`)
    const load = (url: string, headers: Record<string, string>) => autocannon({ url, headers, duration: DURATION_S, connections: CONNECTIONS, pipelining: 1 })
    const baseline = await load(`${address}/healthz`, {})
    const page = await load(`${address}/ui/clusters/campus`, { cookie: `stw_session=${session}` })
    const gpus = await load(`${address}/v1/clusters/campus/gpus`, { authorization: `Bearer ${secret}` })
    const b = baseline.requests.average
    for (const [label, r] of [['dashboard overview /ui/clusters/campus', page], ['GET /v1/clusters/campus/gpus', gpus]] as const) {
      report(`Dashboard ${label} (${DURATION_S} s, ${CONNECTIONS} connections, loopback; GPUs from ${name}, reads cached 5 s)`, {
        'baseline GET /healthz req/s': b.toFixed(0),
        'req/s': r.requests.average.toFixed(0),
        'req/s / baseline (goal >= 0.5)': (r.requests.average / b).toFixed(2),
        'p50 ms (baseline)': `${r.latency.p50} (${baseline.latency.p50})`,
        'p99 ms (baseline)': `${r.latency.p99} (${baseline.latency.p99})`,
        'errors or non-2xx': r.errors + r.non2xx,
      })
    }
  } finally {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

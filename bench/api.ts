/**
 * API throughput and latency over loopback with autocannon, bounded in time and
 * connections: the spec GET and a department list, next to a trivial route of the same
 * app (GET /healthz) measured in the same run, reported as ratios to it.
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
import type { ClusterSpec } from '../src/spec/schema.js'
import type { Report } from './timing.js'

const DURATION_S = 5
const CONNECTIONS = 10

async function load(url: string, headers: Record<string, string>): Promise<autocannon.Result> {
  return autocannon({ url, headers, duration: DURATION_S, connections: CONNECTIONS, pipelining: 1 })
}

export async function benchApi(report: Report): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-'))
  const store = await createStore({ dataDir: dir })
  const app = await buildApp({ store }, { logger: false })
  try {
    const secret = newTokenSecret()
    await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'bench', createdBy: 'bench' })
    const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
    await seedCluster(store, createRevisionService(store), spec, { description: 'bench', source: 'bench', message: 'bench' })
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const auth = { authorization: `Bearer ${secret}` }
    const baseline = await load(`${address}/healthz`, {})
    const specGet = await load(`${address}/v1/clusters/campus/spec`, auth)
    const departments = await load(`${address}/v1/clusters/campus/departments`, auth)
    const row = (r: autocannon.Result) => ({
      rps: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      errors: r.errors + r.non2xx,
    })
    const b = row(baseline)
    for (const [name, r] of [['GET /v1/clusters/campus/spec', specGet], ['GET /v1/clusters/campus/departments', departments]] as const) {
      const x = row(r)
      report(`API ${name} (${DURATION_S} s, ${CONNECTIONS} connections, loopback)`, {
        'baseline GET /healthz req/s': b.rps.toFixed(0),
        'req/s': x.rps.toFixed(0),
        'req/s / baseline': (x.rps / b.rps).toFixed(2),
        'p50 ms (baseline)': `${x.p50} (${b.p50})`,
        'p99 ms (baseline)': `${x.p99} (${b.p99})`,
        'errors or non-2xx': x.errors,
      })
    }
  } finally {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

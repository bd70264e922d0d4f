/**
 * The dashboard's overview page and GET /v1/clusters/{c}/gpus at 10 concurrent clients,
 * as ratios to GET /healthz of the same app in the same run, the service in its own
 * process (bench/read-server.ts). The GPU figures come from
 * the local sandbox's slurmctld when it runs (`steward sandbox up`; run the bench under
 * flock /tmp/steward-sandbox.lock), else from a replay of captured scontrol output; the
 * service reuses a read for 5 s either way (DEFAULT_CACHE_MS), which is what makes the
 * page cheap: the report says which source was used. STEWARD_BENCH_SLURM=replay uses the
 * replay without touching the sandbox (no lock needed).
 */
import autocannon from 'autocannon'
import { startReadServer } from './reads.js'
import type { Report } from './timing.js'

const DURATION_S = 5
const CONNECTIONS = 10

export async function benchDashboard(report: Report): Promise<void> {
  // The service in its own process (bench/read-server.ts), as in bench/reads.ts: the load
  // generator does not share its event loop.
  const { address, secret, source: name, stop } = await startReadServer(['dashboard'])
  try {
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
    const load = (url: string, headers: Record<string, string>, duration = DURATION_S) => autocannon({ url, headers, duration, connections: CONNECTIONS, pipelining: 1 })
    // A short warm-up of each route first (the JIT), so the baseline is not measured cold.
    await load(`${address}/healthz`, {}, 1)
    await load(`${address}/ui/clusters/campus`, { cookie: `stw_session=${session}` }, 1)
    await load(`${address}/v1/clusters/campus/gpus`, { authorization: `Bearer ${secret}` }, 1)
    const baseline = await load(`${address}/healthz`, {})
    const page = await load(`${address}/ui/clusters/campus`, { cookie: `stw_session=${session}` })
    const gpus = await load(`${address}/v1/clusters/campus/gpus`, { authorization: `Bearer ${secret}` })
    const b = baseline.requests.average
    for (const [label, r] of [['dashboard overview /ui/clusters/campus', page], ['GET /v1/clusters/campus/gpus', gpus]] as const) {
      report(`Dashboard ${label} (${DURATION_S} s, ${CONNECTIONS} connections, loopback; GPUs from ${name ?? 'unknown'}, reads cached 5 s)`, {
        'baseline GET /healthz req/s': b.toFixed(0),
        'req/s': r.requests.average.toFixed(0),
        'req/s / baseline (goal >= 0.5)': (r.requests.average / b).toFixed(2),
        'p50 ms (baseline)': `${r.latency.p50} (${baseline.latency.p50})`,
        'p99 ms (baseline)': `${r.latency.p99} (${baseline.latency.p99})`,
        'errors or non-2xx': r.errors + r.non2xx,
      })
    }
  } finally {
    await stop()
  }
}

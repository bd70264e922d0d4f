/**
 * The dashboard's overview page and GET /v1/clusters/{c}/gpus at 10 concurrent clients,
 * as ratios to GET /healthz of the same app in the same run, the service in its own
 * process (bench/read-server.ts). The GPU figures come from
 * the local sandbox's slurmctld when it runs (`steward sandbox up`; run the bench under
 * flock /tmp/steward-sandbox.lock), else from a replay of captured scontrol output; the
 * service reuses a read for 5 s either way (DEFAULT_CACHE_MS), and with it the view, the
 * JSON and the page made from it: the report says which source was used.
 * STEWARD_BENCH_SLURM=replay uses the replay without touching the sandbox (no lock needed).
 * The routes are loaded in interleaved rounds with their baseline (the machine is shared):
 * the report gives the whole-run ratio and the median ratio of the rounds.
 */
import autocannon from 'autocannon'
import { startReadServer } from './reads.js'
import type { Report } from './timing.js'

/** Seconds of load per route, in `ROUNDS` interleaved rounds. */
const DURATION_S = 6
const ROUNDS = 6
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
    const load = (url: string, headers: Record<string, string>, duration: number) => autocannon({ url, headers, duration, connections: CONNECTIONS, pipelining: 1 })
    const routes = {
      baseline: { url: `${address}/healthz`, headers: {} },
      page: { url: `${address}/ui/clusters/campus`, headers: { cookie: `stw_session=${session}` } },
      gpus: { url: `${address}/v1/clusters/campus/gpus`, headers: { authorization: `Bearer ${secret}` } },
    }
    // A short warm-up of each route first (the JIT), so the baseline is not measured cold.
    for (const r of Object.values(routes)) await load(r.url, r.headers, 1)
    // Interleaved rounds (baseline, page, /gpus, again): other work on the machine then
    // weighs on a route and its baseline alike, and each round gives its own ratios.
    const rounds: Array<Record<keyof typeof routes, autocannon.Result>> = []
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push({
        baseline: await load(routes.baseline.url, routes.baseline.headers, DURATION_S / ROUNDS),
        page: await load(routes.page.url, routes.page.headers, DURATION_S / ROUNDS),
        gpus: await load(routes.gpus.url, routes.gpus.headers, DURATION_S / ROUNDS),
      })
    }
    const sum = (f: (r: autocannon.Result) => number, key: keyof typeof routes) => rounds.reduce((a, r) => a + f(r[key]), 0)
    const b = sum((r) => r.requests.total, 'baseline') / DURATION_S
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0
    for (const [label, key] of [['dashboard overview /ui/clusters/campus', 'page'], ['GET /v1/clusters/campus/gpus', 'gpus']] as const) {
      const rps = sum((r) => r.requests.total, key) / DURATION_S
      const ratios = rounds.map((r) => r[key].requests.average / r.baseline.requests.average)
      report(`Dashboard ${label} (${DURATION_S} s in ${ROUNDS} rounds interleaved with the baseline, ${CONNECTIONS} connections, loopback; GPUs from ${name ?? 'unknown'}, reads cached 5 s)`, {
        'baseline GET /healthz req/s': b.toFixed(0),
        'req/s': rps.toFixed(0),
        'req/s / baseline (goal >= 0.5)': (rps / b).toFixed(2),
        'ratio per round: median (min-max)': `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
        'p50 ms (baseline), last round': `${rounds.at(-1)?.[key].latency.p50} (${rounds.at(-1)?.baseline.latency.p50})`,
        'p99 ms (baseline), last round': `${rounds.at(-1)?.[key].latency.p99} (${rounds.at(-1)?.baseline.latency.p99})`,
        'errors or non-2xx': sum((r) => r.errors + r.non2xx, key),
      })
    }
  } finally {
    await stop()
  }
}

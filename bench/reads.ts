/**
 * Authenticated reads out of process (issue 13): the service runs in a child process
 * (bench/read-server.ts) and autocannon loads it over loopback, bounded in time and
 * connections. The spec, the department list and one user, each as a ratio to `/healthz`
 * of the same service measured in the same run, at 10 and at 100 connections.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import type { Report } from './timing.js'

const DURATION_S = 5
const WARMUP_S = 1
const ROUTES = ['/v1/clusters/campus/spec', '/v1/clusters/campus/departments', '/v1/clusters/campus/users/alice'] as const

/** The bench service (bench/read-server.ts) in its own process, with `args`; stop it with `stop`. */
export async function startReadServer(args: readonly string[] = []): Promise<{ address: string; secret: string; source?: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./read-server.js', import.meta.url)), ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const stop = async () => {
    child.kill('SIGTERM')
    if (child.exitCode === null) await once(child, 'exit')
  }
  try {
    const [line] = (await Promise.race([
      once(createInterface({ input: child.stdout }), 'line'),
      once(child, 'exit').then(([code]) => { throw new Error(`the read server exited ${String(code)}`) }),
    ])) as [string]
    return { ...(JSON.parse(line) as { address: string; secret: string; source?: string }), stop }
  } catch (err) {
    await stop()
    throw err
  }
}

export async function benchReads(report: Report): Promise<void> {
  const { address, secret, stop } = await startReadServer()
  try {
    const auth = { authorization: `Bearer ${secret}` }
    for (const connections of [10, 100]) {
      const load = (path: string, headers: Record<string, string>) =>
        autocannon({ url: `${address}${path}`, headers, duration: DURATION_S, connections, pipelining: 1 })
      // A short warm-up of every route first (the JIT), so the baseline is not measured cold.
      for (const path of ['/healthz', ...ROUTES]) await autocannon({ url: `${address}${path}`, headers: auth, duration: WARMUP_S, connections, pipelining: 1 })
      const base = await load('/healthz', {})
      for (const path of ROUTES) {
        const r = await load(path, auth)
        report(`GET ${path}, out of process (${DURATION_S} s, ${connections} connections, loopback)`, {
          'baseline GET /healthz req/s': base.requests.average.toFixed(0),
          'req/s': r.requests.average.toFixed(0),
          'req/s / baseline': (r.requests.average / base.requests.average).toFixed(2),
          'p50 ms (baseline)': `${r.latency.p50} (${base.latency.p50})`,
          'p99 ms (baseline)': `${r.latency.p99} (${base.latency.p99})`,
          'errors or non-2xx': r.errors + r.non2xx,
        })
      }
    }
  } finally {
    await stop()
  }
}

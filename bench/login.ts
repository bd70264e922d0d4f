/**
 * Login nodes and the session-limit Lambda:
 * - the Lambda bundle's size (goal <= 1 MB) and its cold import time in a fresh Node
 *   process, as a ratio to importing @aws-sdk/client-ssm alone (the baseline, same run);
 * - plan + apply of an HAProxy pool change (a node added or removed: render, haproxy -c,
 *   reload through the master CLI) against a real HAProxy, as a ratio to one `haproxy -c`.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { projectRoot } from '../src/project-root.js'
import { createLocalExecutor } from '../src/adapters/executor.js'
import { createHaproxyBalancer, masterCliReload, unixSocketRuntime } from '../src/adapters/haproxy.js'
import { renderHaproxyConfig } from '../src/login-nodes/haproxy-config.js'
import { desiredPools, type DesiredPool } from '../src/login-nodes/model.js'
import { planPool } from '../src/login-nodes/plan.js'
import type { ClusterSpec } from '../src/spec/schema.js'
import { medianMs, type Report } from './timing.js'

const run = promisify(execFile)

async function coldImportMs(specifier: string): Promise<number> {
  const code = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t))`
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: projectRoot(), env: { ...process.env, NODE_NO_WARNINGS: '1', AWS_REGION: 'eu-west-1' } })
  return Number(stdout)
}

async function median(fn: () => Promise<number>, runs = 7): Promise<number> {
  await fn()
  const values: number[] = []
  for (let i = 0; i < runs; i++) values.push(await fn())
  values.sort((a, b) => a - b)
  return values[Math.floor(values.length / 2)] ?? 0
}

async function benchLambda(report: Report): Promise<void> {
  const bundle = join(projectRoot(), 'dist', 'lambdas', 'session-limit', 'index.mjs')
  const bytes = statSync(bundle).size
  const sdk = await median(() => coldImportMs('@aws-sdk/client-ssm'))
  const lambda = await median(() => coldImportMs(new URL(`file://${bundle}`).href))
  report('session-limit Lambda bundle', {
    'bundle bytes': bytes,
    'bundle <= 1 MB': bytes <= 1024 * 1024 ? 'yes' : 'NO',
    'baseline import client-ssm ms': sdk.toFixed(1),
    'cold import bundle ms': lambda.toFixed(1),
    'bundle / baseline': (lambda / sdk).toFixed(2),
  })
}

async function benchPool(report: Report): Promise<void> {
  const dir = mkdtempSync('/tmp/steward-bench-login-')
  const spec = parse(readFileSync(join(projectRoot(), 'examples', 'campus.yaml'), 'utf8')) as ClusterSpec
  const socket = join(dir, 'rt.sock')
  const listen = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
  const poolWith = (count: number): DesiredPool => {
    spec.loginNodes = { pools: [{ name: 'bench', nodes: `blogin-[1-${count}]`, balancer: { type: 'haproxy', listen: `127.0.0.1:${listen}`, runtimeSocket: socket },
      targets: Object.fromEntries(Array.from({ length: count }, (_, i) => [`blogin-${i + 1}`, `127.0.0.1:${40_001 + i}`])) }] }
    return desiredPools(spec)[0] as DesiredPool
  }
  const configPath = join(dir, 'haproxy.cfg')
  const runtime = unixSocketRuntime(socket)
  const balancer = createHaproxyBalancer({
    executor: createLocalExecutor(), configPath, runtime,
    render: (p, leaving) => renderHaproxyConfig({ spec, pool: p, leaving }),
    reload: masterCliReload(join(dir, 'master.sock'), runtime),
  })
  writeFileSync(configPath, renderHaproxyConfig({ spec, pool: poolWith(3) }))
  await run('haproxy', ['-W', '-S', join(dir, 'master.sock'), '-f', configPath, '-p', join(dir, 'pid'), '-D'])
  try {
    for (let i = 0; i < 50; i++) {
      if (await runtime.command('show info').then(() => true, () => false)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const baseline = await medianMs(() => run('haproxy', ['-c', '-q', '-f', configPath]))
    const planOnly = await medianMs(async () => planPool(poolWith(3), await balancer.members(poolWith(3)), await balancer.settings(poolWith(3))))
    let size = 3
    const change = await medianMs(async () => {
      size = size === 3 ? 4 : 3
      const pool = poolWith(size)
      const plan = planPool(pool, await balancer.members(pool), await balancer.settings(pool))
      await balancer.apply(pool, plan)
    })
    report('login pool plan + apply (HAProxy)', {
      'baseline haproxy -c ms': baseline.toFixed(1),
      'plan, no change ms': planOnly.toFixed(1),
      'plan + apply of a member change ms': change.toFixed(1),
      'change / baseline': (change / baseline).toFixed(1),
    })
  } finally {
    try {
      process.kill(Number(readFileSync(join(dir, 'pid'), 'utf8').trim()))
    } catch {
      // not started
    }
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function benchLogin(report: Report): Promise<void> {
  await benchLambda(report)
  await benchPool(report)
}

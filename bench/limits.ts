/**
 * Denial of service, measured (issue 7): validation of the largest specs the limits allow
 * and of each hostile input, as ratios to validating campus in the same run; then every
 * request of at most 1 MB through the real app in-process (`app.inject`), with the
 * longest event-loop stall it caused (perf_hooks `monitorEventLoopDelay`; the work runs
 * in the spec worker, so the answer's latency is reported apart) and the render answer's
 * size as a multiple of the request's.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/api/app.js'
import { createStore } from '../src/store/index.js'
import { hashTokenSecret, newTokenSecret } from '../src/auth/tokens.js'
import { parseSpecBody } from '../src/spec/load.js'
import { validateSpec } from '../src/spec/validate.js'
import { LIMITS } from '../src/spec/limits.js'
import type { ClusterSpec, Department, NodeGroup } from '../src/spec/schema.js'
import { aliasBombYaml, campusSpec, deepBlockYaml, deepJson, homeAttack, qosTimesPartitions } from './hostile.js'
import { medianMs, type Report } from './timing.js'

const ONE_MB = 1024 * 1024
const STALL_LIMIT_MS = 100
const RUNS = 5

/**
 * A spec at the limits: `nodes` nodes in `groups` groups (half with GPUs), `qos` QoS with
 * GPU limits, departments of one account plus `supervisors` supervisors each until
 * `accounts`, eight partitions per department, `shared` shared partitions (every fourth
 * open to all, the rest to eight departments) and `users` users spread over supervisors.
 */
export function limitSpec(o: { nodes: number; groups: number; qos: number; accounts: number; supervisors: number; users: number; shared: number }): ClusterSpec {
  const perGroup = Math.floor(o.nodes / o.groups)
  const nodeGroups: NodeGroup[] = Array.from({ length: o.groups }, (_, g) => ({
    name: `g${g}`, nodes: `r${g}n[1-${perGroup}]`, cpus: 64, realMemoryMiB: 256_000,
    ...(g % 2 === 0 ? { gpus: { type: 'h100', count: 8 } } : {}),
  }))
  const qosNames = Array.from({ length: o.qos }, (_, i) => `q${i}`)
  const departmentCount = Math.floor(o.accounts / (1 + o.supervisors))
  const supervisorCount = departmentCount * o.supervisors
  const users: ClusterSpec['users'] = Array.from({ length: o.users }, (_, i) => ({ name: `u${i}`, uid: 100_000 + i }))
  const departments: Department[] = Array.from({ length: departmentCount }, (_, d) => ({
    name: `d${d}`,
    qos: Array.from({ length: Math.min(64, o.qos) }, (_, k) => qosNames[(d * 7 + k) % o.qos]!),
    partitions: Array.from({ length: 8 }, (_, p) => ({ name: `d${d}p${p}`, nodeGroups: [0, 1, 2].map((k) => `g${(d * 8 + p + k) % o.groups}`) })),
    supervisors: Array.from({ length: o.supervisors }, (_, s) => {
      const index = d * o.supervisors + s
      return { name: `s${s}`, users: users.filter((_, u) => u % supervisorCount === index).map((u) => u.name) }
    }),
  }))
  return {
    apiVersion: 'steward/v1',
    cluster: { name: 'limits', slurmVersion: '24.11', controller: { host: 'ctl' }, accounting: { host: 'ctl' } },
    nodeGroups,
    qos: qosNames.map((name) => ({ name, maxTresPerUser: { gpu: 64 } })),
    departments,
    sharedPartitions: Array.from({ length: o.shared }, (_, i) => ({
      name: `s${i}`,
      nodeGroups: Array.from({ length: 16 }, (_, k) => `g${(i * 16 + k) % o.groups}`),
      departments: i % 4 === 0 ? 'all' as const : Array.from({ length: 8 }, (_, k) => `d${(i * 8 + k) % departmentCount}`),
    })),
    users,
  }
}

/** The largest spec the limits allow (over 1 MB: a body for the 8 MB limit). */
function largestSpec(): ClusterSpec {
  return limitSpec({ nodes: LIMITS.nodes, groups: LIMITS.nodeGroups, qos: LIMITS.qos, accounts: LIMITS.accounts, supervisors: 4, users: LIMITS.users, shared: 64 })
}

/** The largest such spec whose JSON fits in 1 MB: fewer users, the rest at the limits. */
export function largestSpecUnder1MB(): ClusterSpec {
  let users: number = LIMITS.users
  for (;;) {
    const spec = limitSpec({ nodes: LIMITS.nodes, groups: 1_024, qos: LIMITS.qos, accounts: LIMITS.accounts, supervisors: 4, users, shared: 64 })
    if (Buffer.byteLength(JSON.stringify(spec)) <= ONE_MB) return spec
    users = Math.floor(users * 0.9)
  }
}

/** Small request, big answer: 1,999 supervisor accounts and as many partitions open to all as the text budget allows. */
function amplifier(): ClusterSpec {
  const spec = campusSpec()
  const qos = spec.qos[0]!.name
  spec.departments = [{ name: 'd', qos: [qos], supervisors: Array.from({ length: LIMITS.accounts - 1 }, (_, s) => ({ name: `s${s}`, users: [] })) }]
  spec.users = []
  const group = spec.nodeGroups[0]!.name
  const perPartition = 10 * LIMITS.accounts // "d-s1234," is about ten characters an account
  const count = Math.min(LIMITS.sharedPartitions, Math.floor(LIMITS.partitionText / perPartition) - 1)
  spec.sharedPartitions = Array.from({ length: count }, (_, i) => ({ name: `s${i}`, nodeGroups: [group], departments: 'all' as const }))
  return spec
}

interface Input {
  name: string
  body: string
  contentType: string
}

const json = (name: string, spec: unknown): Input => ({ name, body: JSON.stringify(spec), contentType: 'application/json' })

function validateText(input: Input): unknown {
  try {
    return validateSpec(parseSpecBody(input.body, input.contentType === 'application/yaml' ? 'yaml' : 'json', 'bench'))
  } catch (err) {
    return err
  }
}

async function stallOf(app: FastifyInstance, input: Input, url: string, token: string | null, method: 'GET' | 'POST' | 'PUT' = 'POST'): Promise<{ status: number; maxMs: number; stallMs: number; bytes: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  let maxMs = 0
  let status = 0
  let bytes = 0
  // One warm-up request, not measured: the first call of a code path compiles it (JIT,
  // lazy modules, the worker's start), once per process, not per request.
  await app.inject({
    method, url, ...(method === 'GET' ? {} : { payload: input.body }),
    headers: { 'content-type': input.contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
  })
  for (let i = 0; i < RUNS; i++) {
    histogram.enable()
    const start = performance.now()
    const res = await app.inject({
      method, url, ...(method === 'GET' ? {} : { payload: input.body }),
      headers: { 'content-type': input.contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    })
    maxMs = Math.max(maxMs, performance.now() - start)
    status = res.statusCode
    bytes = res.rawPayload.length
    await new Promise((resolve) => setTimeout(resolve, 20)) // let the monitor take its last sample
    histogram.disable()
  }
  return { status, maxMs, stallMs: histogram.max / 1e6, bytes }
}

export async function benchLimits(report: Report): Promise<void> {
  const campus: Input = json('campus', campusSpec())
  const largest = json('largest spec the limits allow', largestSpec())
  const under1MB = json('largest spec within 1 MB', largestSpecUnder1MB())
  const hostile: Input[] = [
    json('home "/" + "a" x 250 + "!" on every user', homeAttack(250)),
    { name: 'YAML alias bomb (9^9)', body: aliasBombYaml(), contentType: 'application/yaml' },
    { name: 'JSON nested 500,000 deep (1 MB)', body: deepJson(500_000), contentType: 'application/json' },
    { name: 'YAML "- " nested 200,000 deep', body: deepBlockYaml(200_000), contentType: 'application/yaml' },
    json('2,000 QoS x 2,000 shared partitions', qosTimesPartitions(2_000, 2_000, 64)),
    json('1,000 QoS x 256 shared partitions (allowed)', qosTimesPartitions(LIMITS.qos, LIMITS.sharedPartitions, 64)),
    json('2,000 accounts x partitions open to all', amplifier()),
  ]

  // Validation, in-process, as ratios to campus.
  const baseline = await medianMs(() => validateText(campus))
  const rows: Record<string, string> = { 'campus validate ms (baseline)': baseline.toFixed(2) }
  for (const input of [largest, under1MB, ...hostile]) {
    const ms = await medianMs(() => validateText(input), 3)
    rows[`${input.name} (${(input.body.length / 1024).toFixed(0)} KB)`] = `${ms.toFixed(1)} ms = ${(ms / baseline).toFixed(0)}x campus`
  }
  report('validation at the limits and of hostile inputs (parse + validate, median)', rows)

  // Every request of at most 1 MB through the app: the longest stall of the event loop.
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-'))
  const store = await createStore({ dataDir: dir })
  // The per-token rate limit would answer 429 after a few runs; lift it to measure the work.
  const app = await buildApp({ store, specRateLimits: { validate: { max: 1e6, windowMs: 60_000 }, render: { max: 1e6, windowMs: 60_000 } } }, { logger: false })
  try {
    const token = newTokenSecret()
    await store.createToken({ secretHash: hashTokenSecret(token), role: 'researcher', departments: [], user: 'bench', description: 'bench', createdBy: 'bench' })
    // The baseline: a route that does nothing, under the same load of this machine.
    const idle = await stallOf(app, campus, '/healthz', null, 'GET')
    const stalls: Record<string, string> = { 'GET /healthz loop stall (baseline)': `${idle.stallMs.toFixed(1)} ms` }
    let worst = 0
    for (const input of [campus, under1MB, ...hostile]) {
      if (Buffer.byteLength(input.body) > ONE_MB) throw new Error(`${input.name} is over 1 MB`)
      for (const [url, who] of [['/v1/validate', token], ['/v1/render', token], ['/v1/render', null]] as const) {
        const r = await stallOf(app, input, url, who)
        worst = Math.max(worst, r.stallMs)
        const ratio = url === '/v1/render' && r.status === 200 ? `, answer ${(r.bytes / input.body.length).toFixed(1)}x the request` : ''
        stalls[`${url}${who ? '' : ' (no token)'} ${input.name}`] = `${r.status}, loop stall <= ${r.stallMs.toFixed(1)} ms (answer in <= ${r.maxMs.toFixed(0)} ms)${ratio}`
      }
    }
    // A cluster admin storing the spec: validated in the same pool, off the event loop.
    const admin = newTokenSecret()
    await store.createToken({ secretHash: hashTokenSecret(admin), role: 'admin', departments: [], user: null, description: 'bench', createdBy: 'bench' })
    const cluster = (JSON.parse(under1MB.body) as { cluster: { name: string } }).cluster.name
    await store.createCluster(cluster, 'bench')
    const put = await stallOf(app, under1MB, `/v1/clusters/${cluster}/spec`, admin, 'PUT')
    if (put.status !== 200) throw new Error(`PUT of ${under1MB.name} answered ${put.status}`)
    worst = Math.max(worst, put.stallMs)
    stalls[`PUT /v1/clusters/${cluster}/spec ${under1MB.name} (admin)`] = `${put.status}, loop stall <= ${put.stallMs.toFixed(1)} ms (answer in <= ${put.maxMs.toFixed(0)} ms)`
    stalls[`no request stalls the loop > ${STALL_LIMIT_MS} ms`] = `${worst <= STALL_LIMIT_MS ? 'yes' : 'NO'} (worst ${worst.toFixed(1)} ms = ${(worst / Math.max(idle.stallMs, 1)).toFixed(1)}x the baseline's stall)`
    report(`requests of at most 1 MB through the app in-process (${RUNS} runs each after one warm-up, max)`, stalls)
  } finally {
    await app.close()
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

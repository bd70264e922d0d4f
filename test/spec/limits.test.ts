/**
 * The spec's size limits (src/spec/limits.ts) and the rules that keep validation
 * near-linear: lists over `maxItems` are refused at their path, the account and
 * partition-text budgets hold, and the largest specs within the limits still get every
 * rule right. Times are in `npm run bench`, not here.
 */
import t from 'tap'
import { validateSpec, MAX_PROBLEMS } from '../../src/spec/validate.js'
import { LIMITS } from '../../src/spec/limits.js'
import { countHostlist } from '../../src/slurm/hostlist.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { campusSpec, qosTimesPartitions } from '../../bench/hostile.js'

const errorsOf = (spec: unknown) => validateSpec(spec).errors.filter((p) => p.severity === 'error')

t.test('2,000 QoS with GPU limits and 2,000 shared partitions are refused by size, at their paths', async (t) => {
  const errors = errorsOf(qosTimesPartitions(2_000, 2_000, 64))
  t.same(errors.map((e) => e.path).sort(), ['/qos', '/sharedPartitions'])
  t.match(errors.find((e) => e.path === '/qos')?.message, /has 2000 items; at most 1000 are allowed/)
  t.match(errors.find((e) => e.path === '/sharedPartitions')?.message, /at most 256 are allowed/)
})

t.test('every list of the spec has a maxItems', async (t) => {
  const walk = (schema: Record<string, unknown>, path: string): string[] => {
    const missing = schema.type === 'array' && typeof schema.maxItems !== 'number' ? [path] : []
    for (const [key, child] of Object.entries(schema)) {
      if (child && typeof child === 'object') missing.push(...walk(child as Record<string, unknown>, `${path}/${key}`))
    }
    return missing
  }
  const { ClusterSpec } = await import('../../src/spec/schema.js')
  t.same(walk(ClusterSpec as unknown as Record<string, unknown>, ''), [])
})

t.test('every string of the spec has a maxLength', async (t) => {
  const walk = (schema: Record<string, unknown>, path: string): string[] => {
    const missing = schema.type === 'string' && !('const' in schema) && typeof schema.maxLength !== 'number' ? [path] : []
    for (const [key, child] of Object.entries(schema)) {
      if (child && typeof child === 'object') missing.push(...walk(child as Record<string, unknown>, `${path}/${key}`))
    }
    return missing
  }
  const { ClusterSpec } = await import('../../src/spec/schema.js')
  t.same(walk(ClusterSpec as unknown as Record<string, unknown>, ''), [])
})

t.test('the largest QoS x shared-partition spec allowed validates with the right GPU warnings', async (t) => {
  // 1,000 QoS over 16 departments and 256 partitions open to all: within every limit.
  const spec = qosTimesPartitions(LIMITS.qos, LIMITS.sharedPartitions, 64)
  const result = validateSpec(spec)
  t.equal(result.ok, true, JSON.stringify(result.errors.filter((e) => e.severity === 'error').slice(0, 3)))
  const group = spec.nodeGroups[0]!
  const gpus = countHostlist(group.nodes) * (group.gpus?.count ?? 0)
  const gpuWarnings = result.errors.filter((e) => e.path.endsWith('/maxTresPerUser/gpu'))
  t.ok(gpuWarnings.length > 900, 'a warning per QoS, up to the cap on problems reported')
  t.ok(gpuWarnings.every((w, i) => w.message === `the limit of 1000000 GPUs per user is above the ${gpus} GPUs in partitions allowing QoS "q${i}"`))
})

t.test('GPU warnings count each node group once across the partitions allowing a QoS', async (t) => {
  const spec: ClusterSpec = {
    apiVersion: 'steward/v1',
    cluster: { name: 'x', slurmVersion: '22.05', controller: { host: 'ctl' } },
    nodeGroups: [
      { name: 'a', nodes: 'a[1-4]', cpus: 8, realMemoryMiB: 1000, gpus: { type: 'h100', count: 8 } },
      { name: 'b', nodes: 'b[1-2]', cpus: 8, realMemoryMiB: 1000, gpus: { type: 'a10g', count: 1 } },
      { name: 'c', nodes: 'c1', cpus: 8, realMemoryMiB: 1000 },
    ],
    qos: [{ name: 'big', maxTresPerUser: { gpu: 35 } }, { name: 'small', maxTresPerUser: { gpu: 2 } }, { name: 'other', maxTresPerUser: { gpu: 1 } }],
    departments: [
      { name: 'd1', qos: ['big', 'small'], partitions: [{ name: 'p1', nodeGroups: ['a', 'c'] }, { name: 'p2', nodeGroups: ['a', 'b'] }] },
      { name: 'd2', qos: ['other'], partitions: [{ name: 'p3', nodeGroups: ['c'] }] },
    ],
    sharedPartitions: [{ name: 's1', nodeGroups: ['b'], departments: ['d1'] }],
    users: [],
  }
  const warnings = validateSpec(spec).errors.filter((e) => e.path.endsWith('/gpu'))
  t.same(warnings.map((w) => [w.path, w.message]), [
    ['/qos/0/maxTresPerUser/gpu', 'the limit of 35 GPUs per user is above the 34 GPUs in partitions allowing QoS "big"'],
    ['/qos/2/maxTresPerUser/gpu', 'the limit of 1 GPUs per user is above the 0 GPUs in partitions allowing QoS "other"'],
  ])
})

t.test('more than 2,000 department and supervisor accounts are refused', async (t) => {
  const spec = campusSpec()
  spec.departments = Array.from({ length: 1_000 }, (_, d) => ({ name: `d${d}`, qos: [spec.qos[0]!.name], supervisors: [{ name: 's', users: [] }] }))
  spec.users = []
  t.same(errorsOf(spec), [])
  spec.departments[0]!.supervisors!.push({ name: 't', users: [] })
  t.same(errorsOf(spec).map((e) => [e.path, e.message]), [['/departments', 'the departments and supervisors make 2001 Slurm accounts; at most 2000 are allowed']])
})

t.test('partitions open to every department cannot make slurm.conf grow past the partition-text budget', async (t) => {
  const spec = campusSpec()
  const qos = spec.qos[0]!.name
  spec.departments = Array.from({ length: 2_000 }, (_, d) => ({ name: `department-with-a-long-name-${d}`, qos: [qos] }))
  spec.sharedPartitions = Array.from({ length: 256 }, (_, i) => ({ name: `s${i}`, nodeGroups: [spec.nodeGroups[0]!.name], departments: 'all' as const }))
  spec.users = []
  const errors = errorsOf(spec)
  t.equal(errors.length, 1)
  t.equal(errors[0]?.path, '/sharedPartitions')
  t.match(errors[0]?.message, /come to \d+ characters in slurm.conf; at most 2097152 are allowed/)
  spec.sharedPartitions = spec.sharedPartitions.slice(0, 8)
  t.same(errorsOf(spec), [], 'eight such partitions fit')
})

t.test('a spec with more problems than MAX_PROBLEMS reports that many and says how many more', async (t) => {
  const spec = campusSpec()
  spec.users = Array.from({ length: 3_000 }, (_, i) => ({ name: `User${i}`, uid: 100_000 + i }))
  const result = validateSpec(spec)
  t.equal(result.ok, false)
  t.equal(result.errors.length, MAX_PROBLEMS + 1)
  t.match(result.errors[MAX_PROBLEMS], { path: '', severity: 'error', message: /more problem\(s\) not shown/ })
})

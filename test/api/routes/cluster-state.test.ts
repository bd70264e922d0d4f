/**
 * GET /v1/clusters/{c}/gpus, /reliability and /v1/me through the app, on Slurm output
 * captured from the sandbox (a replaying Executor; test/integration/dashboard.test.ts
 * reads the live sandbox): each token sees only its departments' partitions and groups.
 */
import t from 'tap'
import { createClusterStateService } from '../../../src/cluster-state/read.js'
import { seeded } from '../helpers.js'
import { replayExecutor, SCONTROL_NODES } from '../../support/replay-slurm.js'

const events = [
  'gpu-h100-001|2026-12-01T02:00:00|2026-12-01T03:00:00|DOWN|root(0)|gpu xid 79',
  'gpu-a10g-01|2026-12-01T02:00:00|2026-12-01T04:00:00|DOWN*|slurm(64030)|Not responding',
  'gpu-a10g-02|2026-12-01T05:00:00|Unknown|IDLE+DRAIN|root(0)|maintenance: firmware',
].join('\n')

const calls: string[][] = []
const replay = replayExecutor((argv) => {
  calls.push([...argv])
  return argv.includes('scontrol') ? SCONTROL_NODES : argv.includes('sacctmgr') ? events : ''
})
const state = createClusterStateService({ executorFor: async () => replay, cacheMs: 60_000 })
const s = await seeded(undefined, { clusterState: state })
t.teardown(() => s.app.close())

t.test('an admin sees every partition; the reads are argv with LC_ALL=C and are cached', async (t) => {
  const r = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/gpus' })
  t.equal(r.statusCode, 200, r.body)
  const body = r.json() as { gpus: Array<{ partition: string; type: string; free: number }>; partitions: Array<{ partition: string }> }
  t.same([...new Set(body.gpus.map((g) => g.partition))], ['cv', 'dl', 'nlp', 'scavenger'])
  t.equal(body.gpus.find((g) => g.partition === 'cv')?.free, 3)
  await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/gpus' })
  const reads = calls.filter((c) => c.includes('scontrol'))
  t.equal(reads.length, 1, 'the second request used the cached read')
  t.same(reads[0]?.slice(0, 3), ['env', 'LC_ALL=C', 'TZ=UTC'])
})

t.test('a department admin and a researcher see only their departments\' partitions', async (t) => {
  const nlp = (await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/gpus' })).json() as { gpus: Array<{ partition: string }>; partitions: Array<{ partition: string }> }
  t.same(nlp.partitions.map((p) => p.partition), ['nlp', 'scavenger'])
  t.notOk(JSON.stringify(nlp).includes('"cv"'), 'no trace of cv')
  const frank = (await s.as('frank', { method: 'GET', url: '/v1/clusters/campus/gpus' })).json() as { partitions: Array<{ partition: string }> }
  t.same(frank.partitions.map((p) => p.partition), ['dl', 'scavenger'])
  const other = await s.as('labNlp', { method: 'GET', url: '/v1/clusters/campus/gpus' })
  t.equal(other.statusCode, 404, 'another cluster\'s token: the cluster does not exist for it')
})

t.test('reliability: failures, planned drains, unhealthy nodes and a job\'s risk', async (t) => {
  const r = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/reliability?since=2026-12-01T00:00:00Z&nodes=16&checkpointSeconds=600' })
  t.equal(r.statusCode, 200, r.body)
  const body = r.json() as { groups: Array<{ group: string; failures: number; planned: number; mttrHours: number; unhealthy: Array<{ node: string; kind: string }>; job?: { meanHoursBetweenFailures: number } }> }
  const h100 = body.groups.find((g) => g.group === 'h100')
  const a10g = body.groups.find((g) => g.group === 'a10g')
  t.match(h100, { failures: 1, planned: 0, mttrHours: 1 })
  t.match(a10g, { failures: 1, planned: 1, mttrHours: 2 })
  t.same(a10g?.unhealthy.map((u) => [u.node, u.kind]), [['gpu-a10g-02', 'planned'], ['gpu-a10g-03', 'failure']], 'the open event, then a node Slurm says is down without one')
  t.ok((h100?.job?.meanHoursBetweenFailures ?? 0) > 0)
  const nlp = (await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/reliability?days=7' })).json() as { groups: Array<{ group: string }> }
  t.same(nlp.groups.map((g) => g.group).sort(), ['a10g', 'cpu', 'h100'], 'the shared scavenger partition spans every group')
  const bad = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/reliability?days=0' })
  t.equal(bad.statusCode, 400)
})

t.test('/v1/me: POSIX identity, accounts with the default, QoS in plain words, partitions', async (t) => {
  const r = await s.as('alice', { method: 'GET', url: '/v1/me' })
  t.equal(r.statusCode, 200, r.body)
  const me = r.json() as Record<string, unknown> & { qos: Array<{ name: string; limits: string[] }>; accounts: unknown; usage: { available: boolean; message: string } }
  t.match(me, { cluster: 'campus', role: 'researcher', user: { name: 'alice', uid: 200001, home: '/home/alice' } })
  t.same(me.accounts, [{ name: 'nlp-smith', department: 'nlp', default: true }])
  t.same(me.qos.find((q) => q.name === 'standard')?.limits, ['at most 256 CPUs at once', 'at most 8 GPUs at once', 'jobs up to 2 days', 'at most 20 running jobs', 'at most 200 jobs queued'])
  t.same((me.partitions as Array<{ name: string }>).map((p) => p.name), ['nlp', 'scavenger'])
  t.same(me.usage, { available: false, message: 'usage and budgets are not available in this version' })
  const bob = (await s.app.inject({ method: 'GET', url: '/v1/me' })).statusCode
  t.equal(bob, 401, 'no token, no answer')
  const admin = await s.as('admin', { method: 'GET', url: '/v1/me' })
  t.equal(admin.statusCode, 400, 'a global admin token names the cluster')
  t.equal((await s.as('admin', { method: 'GET', url: '/v1/me?cluster=campus' })).statusCode, 200)
})

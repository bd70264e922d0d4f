import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { parseSacctLine, sacctArgv, SacctStream, type GarbledLine, type JobRecord } from '../../src/usage/sacct.js'
import { UsageAggregator } from '../../src/usage/aggregate.js'
import { UsagePageStream } from '../../src/usage/fused.js'
import { costCents, ExactSum, formatCents, groupRates } from '../../src/usage/chargeback.js'
import { monthWindow, pagesOf, readUsage, UsageReadError, UsageWindowError } from '../../src/usage/read.js'
import type { Executor } from '../../src/adapters/executor.js'

function spec(): ClusterSpec {
  const s = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
  s.pricing = { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } }
  return s
}
const T0 = Date.UTC(2026, 11, 1) / 1000
const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19)
const line = (id: number, account: string, user: string, partition: string, start: number, end: number | null, tres: string, nodes: string) =>
  `${id}|${account}|${user}|${partition}|standard|${end === null ? 'RUNNING' : 'COMPLETED'}|${iso(start)}|${end === null ? 'Unknown' : iso(end)}|1|${tres}|${nodes}`

t.test('sacct argv: allocations of every user in a window, UTC and C locale, argv only', async (t) => {
  t.same(sacctArgv(new Date(T0 * 1000), new Date((T0 + 86400) * 1000)), [
    'env', 'LC_ALL=C', 'TZ=UTC', 'SLURM_TIME_FORMAT=standard', 'sacct', '-P', '-n', '--allusers', '--allocations', '--duplicates',
    '--starttime=2026-12-01T00:00:00', '--endtime=2026-12-02T00:00:00',
    '--format=JobID,Account,User,Partition,QOS,State,Start,End,NNodes,AllocTRES,NodeList',
  ])
})

t.test('a line parses into a record; running and never-started jobs', async (t) => {
  const r = parseSacctLine(line(42, 'nlp-smith', 'alice', 'nlp', T0, T0 + 3600, 'billing=2,cpu=24,gres/gpu=2,mem=200G,node=1', 'gpu-h100-001'))
  t.match(r, { jobId: '42', account: 'nlp-smith', user: 'alice', partition: 'nlp', start: T0, end: T0 + 3600, cpus: 24, gpus: 2, memMiB: 204800, nodes: 1 })
  t.equal(parseSacctLine(line(43, 'cv', 'dave', 'cv', T0, null, 'cpu=1,mem=1G,node=1', 'gpu-a10g-01')).end, null)
  t.equal(parseSacctLine('44|cv|dave|cv|standard|PENDING|Unknown|Unknown|1||None assigned').start, null)
})

t.test('garbled lines are reported with their line numbers and never charged', async (t) => {
  const records: JobRecord[] = []
  const garbled: GarbledLine[] = []
  const s = new SacctStream((r) => records.push(r), (g) => garbled.push(g))
  const good = line(1, 'cv-chen', 'dave', 'cv', T0, T0 + 60, 'cpu=1,gres/gpu=1,mem=1G,node=1', 'gpu-a10g-01')
  const text = [good, 'garbage', `2|cv-chen|dave|cv|standard|COMPLETED|yesterday|${iso(T0)}|1|cpu=1|gpu-a10g-01`, '3|cv-chen|dave|cv|x|y|z', `x4${good.slice(1)}`, `5|cv-chen|dave|cv|standard|COMPLETED|${iso(T0)}|${iso(T0 + 1)}|1|cpu=one|gpu-a10g-01`, good, ''].join('\n')
  // Chunks split anywhere, even inside a line.
  for (let i = 0; i < text.length; i += 7) s.push(text.slice(i, i + 7))
  s.end()
  t.equal(records.length, 2)
  t.same(garbled.map((g) => g.line), [2, 3, 4, 5, 6])
  t.match(garbled[1]!.reason, /"yesterday" is not a time/)
  t.match(garbled[2]!.reason, /expected 11 fields/)
  t.match(garbled[3]!.reason, /is not a job id/)
  t.match(garbled[4]!.reason, /"one" is not a count/)
})

t.test('chargeback: a full node for an hour costs exactly the price; shares by GPUs or max(CPU, memory)', async (t) => {
  const s = spec()
  const agg = new UsageAggregator(s, { from: T0, to: T0 + 86400 }, T0 + 86400)
  const add = (l: string) => agg.add(parseSacctLine(l), { from: T0, to: T0 + 86400 })
  add(line(1, 'nlp-smith', 'alice', 'nlp', T0, T0 + 3600, 'cpu=192,gres/gpu=8,mem=1900000M,node=1', 'gpu-h100-001'))
  add(line(2, 'nlp-smith', 'bob', 'nlp', T0, T0 + 1800, 'cpu=2,gres/gpu=1,mem=1G,node=1', 'gpu-h100-002'))
  // CPU node: 24 of 96 CPUs (1/4) but 90000 of 180000 MiB (1/2): charged the memory share.
  add(line(3, 'dl-okafor', 'frank', 'dl', T0, T0 + 7200, 'cpu=24,mem=90000M,node=1', 'cpu-001'))
  // Two whole CPU nodes for one hour.
  add(`4|dl-okafor|frank|dl|standard|COMPLETED|${iso(T0)}|${iso(T0 + 3600)}|2|cpu=192,mem=360000M,node=2|cpu-[001-002]`)
  const byUser = new Map(agg.lines('user').map((l) => [l.key, l]))
  t.equal(byUser.get('alice')?.costCents, 9832, 'a whole h100 node for an hour: 98.32')
  // 1/8 of 98.32 for half an hour = 6.145 -> 6.15 (half up)
  t.equal(byUser.get('bob')?.costCents, 615)
  // frank: 1/2 x 3.06 x 2 h = 3.06, plus 2 nodes x 3.06 x 1 h = 6.12
  t.equal(byUser.get('frank')?.costCents, 918)
  t.match(byUser.get('alice'), { gpuHours: 8, cpuHours: 192, nodeHours: 1, billedNodeHours: 1, jobs: 1 })
  const byDepartment = new Map(agg.lines('department').map((l) => [l.key, l.costCents]))
  t.same([...byDepartment], [['dl', 918], ['nlp', 9832 + 615]])
  t.same(agg.lines('nodeGroup').map((l) => l.key), ['cpu', 'h100'])
  t.equal(formatCents(123456n), '1234.56')
  t.equal(formatCents(5n), '0.05')
})

t.test('exact sums: a million small numerators lose nothing; cents round half up', async (t) => {
  const rate = groupRates(spec()).get('a10g')!
  const sum = new ExactSum()
  for (let i = 0; i < 1_000_000; i++) sum.add(2 ** 40 + 1)
  t.equal(sum.value(), 1_000_000n * (2n ** 40n + 1n))
  // One GPU of four for one second at 5.672/h: 5.672 / 4 / 3600 = 0.000393... -> 0 cents; 1800 s -> 0.709 -> 71 cents
  t.equal(costCents(rate, 1n), 0n)
  t.equal(costCents(rate, 1800n), 71n)
})

t.test('a job spanning a window or page boundary is split at it; counted once; running jobs up to now', async (t) => {
  const s = spec()
  const window = { from: T0, to: T0 + 2 * 86400 }
  const agg = new UsageAggregator(s, window, T0 + 86400 + 3600)
  const pages = pagesOf(window)
  t.equal(pages.length, 2)
  // Started an hour before the window, ended two hours into day 2: seen on both pages.
  const spanning = parseSacctLine(line(7, 'cv-chen', 'dave', 'cv', T0 - 3600, T0 + 86400 + 7200, 'cpu=4,gres/gpu=4,mem=8G,node=1', 'gpu-a10g-01'))
  for (const p of pages) agg.add(spanning, p)
  // Still running at "now" (T0 + 1 day + 1 h): charged up to now.
  const running = parseSacctLine(line(8, 'cv-chen', 'erin', 'cv', T0 + 86400, null, 'cpu=1,gres/gpu=1,mem=1G,node=1', 'gpu-a10g-02'))
  agg.add(running, pages[1]!)
  const byUser = new Map(agg.lines('user').map((l) => [l.key, l]))
  t.match(byUser.get('dave'), { jobs: 1, gpuHours: 4 * 26, nodeHours: 26 })
  t.equal(byUser.get('dave')?.costCents, Math.round(5.672 * 26 * 100))
  t.match(byUser.get('erin'), { jobs: 1, gpuHours: 1 })
})

t.test('readUsage pages day by day through the executor and reports sacct failures', async (t) => {
  const calls: string[][] = []
  const ex: Executor = {
    target: 'fake',
    async run(argv) {
      calls.push([...argv])
      const from = argv.find((a) => a.startsWith('--starttime='))!
      const day = Date.parse(`${from.slice('--starttime='.length)}Z`) / 1000
      return { argv, code: 0, stderr: '', stdout: `${line(day, 'cv-chen', 'dave', 'cv', day, day + 3600, 'cpu=1,gres/gpu=4,mem=1G,node=1', 'gpu-a10g-01')}\nbroken line\n` }
    },
    readFile: async () => undefined,
    writeFileAtomic: async () => undefined,
  }
  const w = monthWindow('2026-12')
  const agg = await readUsage(ex, spec(), w, { now: w.to + 10 })
  t.equal(calls.length, 31)
  t.equal(agg.lines('user')[0]?.costCents, 17583, '31 x 5.672 rounded once: 175.832 -> 175.83')
  t.equal(agg.garbledCount, 31)
  t.match(agg.garbled[0], { line: 2, page: '2026-12-01T00:00:00.000Z/2026-12-02T00:00:00.000Z' })
  const failing: Executor = { ...ex, run: async (argv) => ({ argv, code: 1, stdout: '', stderr: 'sacct: error: Problem talking to the database' }) }
  await t.rejects(readUsage(failing, spec(), w), UsageReadError)
  t.throws(() => monthWindow('2026-13'), UsageWindowError)
  await t.rejects(readUsage(ex, spec(), { from: w.to, to: w.from }), UsageWindowError)
})

t.test('uncharged jobs (nodes in no node group) are all counted, the first MAX_KEPT kept, never charged', async (t) => {
  const w = { from: T0, to: T0 + 86_400 }
  const agg = new UsageAggregator(spec(), w, w.to)
  const stream = new UsagePageStream(agg, w, 'p')
  const n = UsageAggregator.MAX_KEPT + 500
  for (let i = 0; i < n; i++) stream.push(`${line(i, 'cv-chen', 'dave', 'cv', T0, T0 + 60, 'cpu=1,gres/gpu=1,mem=1G,node=1', `other-${String(i).padStart(4, '0')}`)}\n`)
  stream.end()
  t.equal(agg.unchargedCount, n)
  t.equal(agg.uncharged.length, UsageAggregator.MAX_KEPT, 'memory bounded: the rest are counted, not kept')
  t.same(agg.uncharged[0], { jobId: '0', reason: 'nodes "other-0000" are in no node group of the spec' })
  t.equal(agg.lines('department').reduce((c, l) => c + l.costCents, 0), 0, 'nothing charged')
})

/**
 * The service's usage path (sacct text parsed and aggregated in one pass, no record
 * objects) against the record path (`SacctStream` + `UsageAggregator.add`) and against
 * a golden summary written by the aggregator before the fused path existed
 * (`UPDATE_GOLDEN=1` rewrites it: review the diff), on a varied generated month.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import type { Executor } from '../../src/adapters/executor.js'
import { parseSacctLine, parseSacctTime, SacctStream } from '../../src/usage/sacct.js'
import { P_HASH, P_JOB_END, P_KEY, P_KEY_END, P_LIST, P_LIST_END, POSITIONS, scanLine, V_CPUS, V_END, V_GPUS, V_MEM, V_NODES, V_START, VALUES, viewOf } from '../../src/usage/scan.js'
import { ByteLines, MAX_LINE, UsagePageStream } from '../../src/usage/fused.js'
import { UsageAggregator, type Window } from '../../src/usage/aggregate.js'
import { monthWindow, pagesOf, readUsage } from '../../src/usage/read.js'
import { summary, variedSacct } from './varied.js'

function spec(): ClusterSpec {
  const s = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
  s.pricing = { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } }
  return s
}
const GOLDEN = new URL('./golden/varied-month.json', import.meta.url)
const WINDOW = monthWindow('2026-12')
/** Mid-month: running jobs are charged up to here, later pages are not read. */
const NOW = WINDOW.from + 17 * 86_400 + 5_000
const pageText = (page: Window, k: number) => variedSacct(page.from, 1, 250, 1000 + k)

/** An Executor answering each day's sacct with that day's varied text. */
function executor(): Executor {
  return {
    target: 'fake',
    async run(argv) {
      const from = Date.parse(`${argv.find((a) => a.startsWith('--starttime='))!.slice(12)}Z`) / 1000
      return { argv, code: 0, stderr: '', stdout: pageText({ from, to: from + 86_400 }, (from - WINDOW.from) / 86_400) }
    },
    readFile: async () => undefined,
    writeFileAtomic: async () => undefined,
  }
}

t.test('the service path gives what the aggregator gave before it was fused (golden)', async (t) => {
  const got = JSON.parse(JSON.stringify(summary(await readUsage(executor(), spec(), WINDOW, { now: NOW }))))
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, `${JSON.stringify(got, null, 1)}\n`)
  const want = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { records: number; garbledCount: number; uncharged: unknown[]; daily: unknown[] }
  t.ok(want.records > 4000 && want.garbledCount > 100 && want.uncharged.length > 50 && want.daily.length === 18, 'the golden input is varied')
  t.same(got, want)
})

t.test('the service path with an executor that streams bytes (chunks that split lines and characters) gives the same', async (t) => {
  const fake = executor()
  let streamedChunks = 0
  const streaming: Executor = {
    ...fake,
    async run(argv, options) {
      const res = await fake.run(argv)
      const bytes = Buffer.from(res.stdout)
      for (let i = 0; i < bytes.length; i += 7) { options?.onStdout?.(bytes.subarray(i, i + 7)); streamedChunks += 1 }
      return { ...res, stdout: '' }
    },
  }
  t.same(JSON.parse(JSON.stringify(summary(await readUsage(streaming, spec(), WINDOW, { now: NOW })))), JSON.parse(readFileSync(GOLDEN, 'utf8')))
  t.ok(streamedChunks > 1000)
})

t.test('the record path (SacctStream and add, text in odd chunks) gives the same', async (t) => {
  const agg = new UsageAggregator(spec(), WINDOW, NOW)
  pagesOf({ from: WINDOW.from, to: NOW + 1 }).forEach((page, k) => {
    const name = `${new Date(page.from * 1000).toISOString()}/${new Date(page.to * 1000).toISOString()}`
    const stream = new SacctStream((r) => agg.add(r, page), (g) => agg.addGarbled(name, g))
    const text = pageText(page, k)
    for (let i = 0; i < text.length; i += 997) stream.push(text.slice(i, i + 997))
    stream.end()
  })
  t.same(JSON.parse(JSON.stringify(summary(agg))), JSON.parse(readFileSync(GOLDEN, 'utf8')))
})

t.test('the service path reads text in chunks of any size the same', async (t) => {
  const page = { from: WINDOW.from, to: WINDOW.from + 86_400 }
  const whole = new UsageAggregator(spec(), WINDOW, NOW)
  const stream = new UsagePageStream(whole, page, 'p')
  stream.push(pageText(page, 0))
  stream.end()
  for (const size of [1, 13, 4096]) {
    const agg = new UsageAggregator(spec(), WINDOW, NOW)
    const s = new UsagePageStream(agg, page, 'p')
    const text = pageText(page, 0)
    for (let i = 0; i < text.length; i += size) s.push(text.slice(i, i + size))
    s.end()
    t.same(summary(agg), summary(whole), `chunks of ${size}`)
  }
  t.ok(whole.garbledCount > 0 && whole.uncharged.length > 0 && whole.records > 200)
})

t.test('times by arithmetic equal Date.UTC: month ends, leap years, roll-over, the general forms', async (t) => {
  const cases = ['1970-01-01T00:00:00', '2024-02-29T23:59:59', '2026-02-31T12:00:00', '2028-02-30T00:00:00', '2100-02-29T00:00:00', '2000-02-29T00:00:00',
    '2026-12-31T23:59:60', '2026-04-31T01:02:03', '1969-12-31T23:59:59', '0050-06-01T00:00:00', '9999-12-31T23:59:59']
  for (const c of cases) {
    const [y, mo, d, h, mi, s] = c.split(/[-T:]/).map(Number) as [number, number, number, number, number, number]
    t.equal(parseSacctTime(c), Date.UTC(y, mo - 1, d) / 1000 + h * 3600 + mi * 60 + s, c)
  }
  for (const c of ['Unknown', 'None', '']) t.equal(parseSacctTime(c), null)
  t.throws(() => parseSacctTime('2026-12-01T24:00:00'), /is not a valid time/)
  t.throws(() => parseSacctTime('2026-00-01T00:00:00'), /is not a time/)
  t.throws(() => parseSacctTime('2026-12-01 00:00:00'), /is not a time/)
})

t.test('a line scanned in place as bytes gives the record the general parser gives', async (t) => {
  const lines = variedSacct(WINDOW.from, 3, 600, 99).split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '')
  const pos = new Int32Array(POSITIONS)
  const v = new Float64Array(VALUES)
  const hashes = new Map<number, string>()
  const collisions: string[] = []
  const got: unknown[] = []
  const want: unknown[] = []
  let scanned = 0
  for (const l of lines) {
    const general = (() => { try { return parseSacctLine(l) } catch (err) { return (err as Error).message } })()
    // Inside a larger buffer, as a line of a chunk is.
    const b = Buffer.from(`x\n${l}\ny`)
    if (!scanLine(b, viewOf(b), 2, b.length - 2, pos, v)) continue
    scanned += 1
    if (typeof general === 'string') {
      t.fail(`accepted in place but the general parser says ${general}: ${l}`)
      continue
    }
    const text = (i: number, j: number) => b.toString('utf8', pos[i], pos[j])
    const nan = (x: number) => (x === x ? x : null)
    got.push({ line: l, jobId: b.toString('utf8', 2, pos[P_JOB_END]), key: text(P_KEY, P_KEY_END), nodeList: text(P_LIST, P_LIST_END), start: nan(v[V_START]!), end: nan(v[V_END]!), nodes: v[V_NODES], cpus: v[V_CPUS], memMiB: v[V_MEM], gpus: v[V_GPUS] })
    const r = general
    want.push({ line: l, jobId: r.jobId, key: `${r.account}|${r.user}|${r.partition}`, nodeList: r.nodeList, start: r.start, end: r.end, nodes: r.nodes, cpus: r.cpus, memMiB: r.memMiB, gpus: r.gpus })
    const keyed = `${r.account}|${r.user}|${r.partition}|${r.nodeList}`
    const seen = hashes.get(pos[P_HASH]!)
    if (seen === undefined) hashes.set(pos[P_HASH]!, keyed)
    else if (seen !== keyed) collisions.push(`${seen} / ${keyed}`)
  }
  t.same(got, want, 'the same values')
  t.same(collisions, [], 'one hash per key and node list in this input')
  t.ok(scanned > 500, `most lines are scanned in place (${scanned} of ${lines.length})`)
  t.ok(scanned < lines.length, 'some lines are left to the general parser')
})

t.test('keys and node lists whose hashes collide are told apart byte by byte', async (t) => {
  const agg = new UsageAggregator(spec(), WINDOW, NOW)
  const pos = new Int32Array(POSITIONS)
  const v = new Float64Array(VALUES)
  const found = (line: string) => {
    const b = Buffer.from(line)
    t.ok(scanLine(b, viewOf(b), 0, b.length, pos, v), line)
    pos[P_HASH] = 7 // every line the same hash
    return agg.targetAt(b, viewOf(b), pos)
  }
  const rest = 'standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1,gres/gpu=1,mem=1G,node=1'
  const alice = found(`1|nlp-smith|alice|nlp|${rest}|gpu-h100-001`)
  const bob = found(`2|nlp-smith|bob|nlp|${rest}|gpu-h100-001`)
  const aliceOther = found(`3|nlp-smith|alice|nlp|${rest}|gpu-h100-002`)
  t.not(alice, bob)
  t.not(alice, aliceOther)
  t.same([alice.cellKey, bob.cellKey, aliceOther.cellKey], ['nlp-smith|alice|nlp', 'nlp-smith|bob|nlp', 'nlp-smith|alice|nlp'])
  t.same([alice.nodeList, aliceOther.nodeList], ['gpu-h100-001', 'gpu-h100-002'])
  t.equal(found(`4|nlp-smith|alice|nlp|${rest}|gpu-h100-001`), alice, 'the same bytes find the same target')
  t.equal(found(`5|nlp-smith|bob|nlp|${rest}|gpu-h100-001`), bob)
  t.equal(alice.row, aliceOther.row, 'one row per account|user|partition')
})

t.test('names in UTF-8 read as text, whatever chunk boundary splits their characters', async (t) => {
  const page = { from: WINDOW.from, to: WINDOW.from + 86_400 }
  const text = ['1|nlp-smith|zoë|nlp|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1,gres/gpu=1,mem=1G,node=1|gpu-h100-001',
    '2|nlp-smith|zoë|nlp|standard|COMPLETED|2026-12-01T02:00:00|2026-12-01T03:00:00|1|cpu=1,gres/gpu=1,mem=1G,node=1|gpu-h100-001',
    '3|nlp-smith|łukasz|nlp|standard|COMPLETED|2026-12-01T02:00:00|2026-12-01T04:00:00|1|cpu=1,gres/gpu=2,mem=1G,node=1|gpu-h100-001', ''].join('\n')
  const bytes = Buffer.from(text)
  for (const size of [1, 2, 3, bytes.length]) {
    const agg = new UsageAggregator(spec(), WINDOW, NOW)
    const s = new UsagePageStream(agg, page, 'p')
    for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size))
    s.end()
    t.same(agg.lines('user').map((l) => [l.key, l.jobs, l.gpuHours]), [['zoë', 2, 2], ['łukasz', 1, 4]].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)), `chunks of ${size}`)
    t.equal(agg.garbledCount, 0)
  }
})

/** The lines `ByteLines` gives, and the over-long ones it reports, with their numbers. */
class Collect extends ByteLines {
  readonly lines: Array<[number, string]> = []
  readonly long: Array<[number, number]> = []
  protected line(b: Uint8Array, _view: DataView, s: number, e: number): void {
    this.lines.push([this.lineNo, Buffer.from(b.subarray(s, e)).toString('latin1')])
  }
  protected tooLong(lineNo: number, bytes: number): void {
    this.long.push([lineNo, bytes])
  }
}

t.test('lines are bounded: a longer one is reported with its length and dropped as it comes, the next read as usual', async (t) => {
  const max = 8
  const text = 'a\r\n12345678\r\n123456789\nb\n12345678\r\n' + 'x'.repeat(50) + '\n\nlast'
  const want: Array<[number, string]> = [[1, 'a'], [2, '12345678'], [4, 'b'], [5, '12345678'], [8, 'last']]
  for (const size of [1, 2, 3, 7, 9, text.length]) {
    const c = new Collect(max)
    for (let i = 0; i < text.length; i += size) c.push(text.slice(i, i + size))
    c.end()
    t.same(c.lines, want, `chunks of ${size}: lines up to the bound, a carriage return not counted`)
    t.same(c.long, [[3, 9], [6, 50]], `chunks of ${size}: the longer ones by number and length`)
  }

  // A line with no end, in a thousand small chunks: what is kept never grows past the bound.
  const c = new Collect(1024)
  const chunk = Buffer.alloc(1000, 0x78)
  for (let i = 0; i < 1000; i += 1) c.push(chunk)
  c.push('\nnext\n')
  c.end()
  t.same(c.long, [[1, 1_000_000]])
  t.same(c.lines, [[2, 'next']])

  // In the service: reported garbled, nothing charged, the line after it charged.
  const agg = new UsageAggregator(spec(), WINDOW, NOW)
  const s = new UsagePageStream(agg, { from: WINDOW.from, to: WINDOW.from + 86_400 }, 'p')
  s.push(`${'9'.repeat(MAX_LINE + 10)}\n`)
  s.push('1|nlp-smith|zoe|nlp|standard|COMPLETED|2026-12-01T00:00:00|2026-12-01T01:00:00|1|cpu=1,gres/gpu=1,mem=1G,node=1|gpu-h100-001\n')
  s.end()
  t.equal(agg.garbledCount, 1)
  t.match(agg.garbled[0], { line: 1, page: 'p', reason: new RegExp(`^a line of ${MAX_LINE + 10} bytes, longer than any sacct line`) })
  t.same(agg.lines('user').map((l) => [l.key, l.jobs, l.gpuHours]), [['zoe', 1, 1]])
})

t.test('an over-long line ended by CR LF is reported with the same length however the output is chunked', async (t) => {
  const text = `a\n${'x'.repeat(50)}\r\nb\r\n${'y'.repeat(20)}\r`
  for (const size of [1, 2, 3, 7, 9, 51, 52, text.length]) {
    const c = new Collect(8)
    for (let i = 0; i < text.length; i += size) c.push(text.slice(i, i + size))
    c.end()
    t.same(c.long, [[2, 50], [4, 20]], `chunks of ${size}: the carriage return is not the line's`)
    t.same(c.lines, [[1, 'a'], [3, 'b']])
  }
})

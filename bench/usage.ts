/**
 * Usage of a month of 1,000,000 job records (synthetic `sacct -P` output for the campus
 * example with prices): parsed, split at the window, aggregated per department, account,
 * user, partition, node group and day with the exact chargeback, as a ratio to reading the
 * same bytes as text (a stream that only finds the line ends), all in this run. Two paths:
 * the record path (`SacctStream` into `JobRecord`s, `UsageAggregator.add`), whose cost beyond
 * parsing into records is the aggregation's; and the service path (`UsagePageStream`, what
 * `readUsage` runs: lines scanned in place and charged with no record). Both must charge
 * the same cents (checked). Memory: the peak heap growth while aggregating, beside the size
 * of the input, shows that the month is streamed (never held as an array of records).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { campusSpec } from './hostile.js'
import { SacctStream } from '../src/usage/sacct.js'
import { UsageAggregator } from '../src/usage/aggregate.js'
import { UsagePageStream } from '../src/usage/fused.js'
import { monthWindow } from '../src/usage/read.js'
import type { ClusterSpec } from '../src/spec/schema.js'
import type { Report } from './timing.js'

const RECORDS = 1_000_000
const MONTH = '2026-11'

/** A deterministic pseudo-random sequence (xorshift32). */
function random(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4_294_967_296
  }
}

const iso = (s: number): string => new Date(s * 1000).toISOString().slice(0, 19)

/** Writes `RECORDS` lines of sacct output for jobs of the campus accounts over the month. */
async function writeSynthetic(path: string, spec: ClusterSpec): Promise<void> {
  const rand = random(12_345)
  const w = monthWindow(MONTH)
  const out = createWriteStream(path)
  const accounts = spec.departments.flatMap((d) => (d.supervisors ?? []).map((s) => ({ account: `${d.name}-${s.name}`, users: s.users, partition: d.partitions?.[0]?.name ?? 'scavenger' })))
  const nodes: Record<string, string[]> = {
    nlp: Array.from({ length: 16 }, (_, i) => `gpu-h100-${String(i + 1).padStart(3, '0')}`),
    cv: Array.from({ length: 8 }, (_, i) => `gpu-a10g-${String(i + 1).padStart(2, '0')}`),
    dl: Array.from({ length: 32 }, (_, i) => `cpu-${String(i + 1).padStart(3, '0')}`),
  }
  let batch: string[] = []
  for (let i = 0; i < RECORDS; i++) {
    const a = accounts[Math.floor(rand() * accounts.length)]!
    const user = a.users[Math.floor(rand() * a.users.length)]!
    const pool = nodes[a.partition] ?? nodes.dl!
    const node = pool[Math.floor(rand() * pool.length)]!
    const start = w.from - 3600 + Math.floor(rand() * (w.to - w.from))
    const running = rand() < 0.01
    const end = start + 60 + Math.floor(rand() * 86_400)
    const gpus = a.partition === 'dl' ? 0 : 1 + Math.floor(rand() * 4)
    const cpus = 1 + Math.floor(rand() * 32)
    const tres = `billing=${cpus},cpu=${cpus},${gpus ? `gres/gpu=${gpus},` : ''}mem=${cpus * 4}G,node=1`
    batch.push(`${1_000_000 + i}|${a.account}|${user}|${a.partition}|standard|${running ? 'RUNNING' : 'COMPLETED'}|${iso(start)}|${running ? 'Unknown' : iso(end)}|1|${tres}|${node}`)
    if (batch.length === 10_000) {
      if (!out.write(`${batch.join('\n')}\n`)) await once(out, 'drain')
      batch = []
    }
  }
  out.end(batch.length ? `${batch.join('\n')}\n` : '')
  await once(out, 'finish')
}

/** Reads the file as text and finds every line end: the baseline. */
async function readOnly(path: string): Promise<number> {
  let lines = 0
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = chunk as string
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++
  }
  return lines
}

/** Reads and parses, dropping the records: how much of the cost is the parse. */
async function parseOnly(path: string): Promise<number> {
  let records = 0
  const stream = new SacctStream(() => { records++ }, () => undefined)
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) stream.push(chunk as string)
  stream.end()
  return records
}

/**
 * Reads and aggregates, the service's way (`UsagePageStream`, as `readUsage` runs) or
 * through records (`SacctStream` and `UsageAggregator.add`); returns the aggregator and
 * the peak heap growth in bytes.
 */
async function aggregate(path: string, spec: ClusterSpec, way: 'service' | 'records'): Promise<{ agg: UsageAggregator; peakHeap: number }> {
  const w = monthWindow(MONTH)
  const agg = new UsageAggregator(spec, w, w.to)
  const stream = way === 'service' ? new UsagePageStream(agg, w, 'bench') : new SacctStream((r) => agg.add(r, w), (g) => agg.addGarbled('bench', g))
  const base = process.memoryUsage().heapUsed
  let peak = 0
  let n = 0
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    stream.push(chunk as string)
    if (++n % 8 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  }
  stream.end()
  peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  return { agg, peakHeap: peak }
}

async function median<T>(fn: () => Promise<T>, runs: number): Promise<{ ms: number; last: T }> {
  let last = await fn()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    last = await fn()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return { ms: times[Math.floor(times.length / 2)] ?? 0, last }
}

export async function benchUsage(report: Report): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-usage-'))
  try {
    const spec = campusSpec()
    spec.pricing = { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } }
    const file = join(dir, 'sacct.txt')
    await writeSynthetic(file, spec)
    const bytes = statSync(file).size
    const read = await median(() => readOnly(file), 5)
    const parsed = await median(() => parseOnly(file), 5)
    const records = await median(() => aggregate(file, spec, 'records'), 5)
    const agg = await median(() => aggregate(file, spec, 'service'), 5)
    const charged = (a: UsageAggregator) => a.lines('department').map((l) => `${l.key}=${(l.costCents / 100).toFixed(2)}`).join(' ')
    if (charged(records.last.agg) !== charged(agg.last.agg)) throw new Error(`the two paths charge differently: ${charged(records.last.agg)} / ${charged(agg.last.agg)}`)
    report('usage: a month of 1,000,000 sacct records', {
      'records': agg.last.agg.records,
      'input MB': (bytes / 1e6).toFixed(1),
      'read only (baseline), ms': read.ms.toFixed(0),
      'read + parse into records, ms': parsed.ms.toFixed(0),
      'read + parse + aggregate, record path, ms': records.ms.toFixed(0),
      'read + parse + aggregate, service path, ms': agg.ms.toFixed(0),
      'ratio to reading (service path)': (agg.ms / read.ms).toFixed(2),
      'parse beyond the read / read': ((parsed.ms - read.ms) / read.ms).toFixed(2),
      'aggregation beyond parse / read (record path)': ((records.ms - parsed.ms) / read.ms).toFixed(2),
      'service path beyond the read / read': ((agg.ms - read.ms) / read.ms).toFixed(2),
      'records per second (service path)': Math.round(RECORDS / (agg.ms / 1000)),
      'peak heap growth MB (service path)': (agg.last.peakHeap / 1e6).toFixed(1),
      'garbled lines': agg.last.agg.garbledCount,
      'departments charged (both paths)': charged(agg.last.agg),
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

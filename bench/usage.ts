/**
 * Usage of a month of 1,000,000 job records (synthetic `sacct -P` output for the campus
 * example with prices): parsed, split at the window, aggregated per department, account,
 * user, partition, node group and day with the exact chargeback, as a ratio to reading the
 * same bytes as text (a stream that only finds the line ends), all in this run. Two paths:
 * the record path (text through `SacctStream` into `JobRecord`s, `UsageAggregator.add`),
 * whose cost beyond parsing into records is the aggregation's; and the service path
 * (`UsagePageStream` on bytes, what `readUsage` runs on the executor's output: lines
 * scanned in place and charged with no record). Both must charge the same cents (checked).
 * The service path is also timed without its aggregation (the same scan of each line,
 * nothing charged), so its aggregation's own cost is the difference, and reading the bytes
 * alone is timed so the scan's own cost shows too.
 * Memory: the peak heap growth while aggregating, beside the size
 * of the input, shows that the month is streamed (never held as an array of records).
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { campusSpec } from './hostile.js'
import { random } from './random.js'
import { recordOrGarbled, SacctStream } from '../src/usage/sacct.js'
import { POSITIONS, scanLine, V_CPUS, VALUES } from '../src/usage/scan.js'
import { UsageAggregator } from '../src/usage/aggregate.js'
import { ByteLines, UsagePageStream } from '../src/usage/fused.js'
import { monthWindow } from '../src/usage/read.js'
import type { ClusterSpec } from '../src/spec/schema.js'
import type { Report } from './timing.js'

const RECORDS = 1_000_000
const MONTH = '2026-11'

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

/** Reads the file's bytes, decoding nothing: what the service path reads. */
async function readBytes(path: string): Promise<number> {
  let bytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) bytes += (chunk as Buffer).length
  return bytes
}

/**
 * The service path without its aggregation: the bytes cut into lines and each line scanned
 * in place as `UsagePageStream` does (the same functions; lines the scan does not accept go
 * to the record parser, as there), the values summed so the scan cannot be skipped.
 */
class ScanOnly extends ByteLines {
  private readonly pos = new Int32Array(POSITIONS)
  private readonly values = new Float64Array(VALUES)
  sum = 0
  protected line(b: Uint8Array, view: DataView, s: number, e: number): void {
    if (scanLine(b, view, s, e, this.pos, this.values)) this.sum += this.values[V_CPUS] as number
    else recordOrGarbled(Buffer.from(b.buffer, b.byteOffset, b.length).toString('utf8', s, e), this.lineNo, () => undefined, () => undefined)
  }
  protected tooLong(): void {}
}

/** Reads and scans (the service path's parse), aggregating nothing. */
async function scanOnly(path: string): Promise<number> {
  const stream = new ScanOnly()
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) stream.push(chunk as Buffer)
  stream.end()
  return stream.sum
}

/**
 * Reads and aggregates, the service's way (`UsagePageStream`, as `readUsage` runs) or
 * through records (`SacctStream` and `UsageAggregator.add`); returns the aggregator and
 * the peak heap growth in bytes.
 */
async function aggregate(path: string, spec: ClusterSpec, way: 'service' | 'records'): Promise<{ agg: UsageAggregator; peakHeap: number }> {
  const w = monthWindow(MONTH)
  const agg = new UsageAggregator(spec, w, w.to)
  const service = way === 'service' ? new UsagePageStream(agg, w, 'bench') : null
  const records = new SacctStream((r) => agg.add(r, w), (g) => agg.addGarbled('bench', g))
  const base = process.memoryUsage().heapUsed
  let peak = 0
  let n = 0
  // The service path reads bytes, as sacct's output arrives from the executor; the record path text.
  for await (const chunk of createReadStream(path, way === 'service' ? { highWaterMark: 1 << 20 } : { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    if (service) service.push(chunk as Buffer)
    else records.push(chunk as string)
    if (++n % 8 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  }
  if (service) service.end()
  else records.end()
  peak = Math.max(peak, process.memoryUsage().heapUsed - base)
  return { agg, peakHeap: peak }
}

interface Timed<T> {
  /** Median wall time and median CPU time (user + system) of the process, ms. */
  ms: number
  cpuMs: number
  last: T
}

/**
 * Times each of `fns` `runs` times (after one warm-up each), interleaved round by round so
 * that the load of other processes falls on all alike; medians of wall and CPU time.
 */
async function interleaved<T extends Record<string, () => Promise<unknown>>>(fns: T, runs: number): Promise<{ [K in keyof T]: Timed<Awaited<ReturnType<T[K]>>> }> {
  const names = Object.keys(fns) as Array<keyof T>
  const wall = new Map<keyof T, number[]>(names.map((n) => [n, []]))
  const cpu = new Map<keyof T, number[]>(names.map((n) => [n, []]))
  const last = new Map<keyof T, unknown>()
  for (const n of names) last.set(n, await (fns[n] as () => Promise<unknown>)())
  for (let i = 0; i < runs; i++) {
    for (const n of names) {
      const c0 = process.cpuUsage()
      const start = performance.now()
      last.set(n, await (fns[n] as () => Promise<unknown>)())
      wall.get(n)!.push(performance.now() - start)
      const c = process.cpuUsage(c0)
      cpu.get(n)!.push((c.user + c.system) / 1000)
    }
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
  return Object.fromEntries(names.map((n) => [n, { ms: mid(wall.get(n)!), cpuMs: mid(cpu.get(n)!), last: last.get(n) }])) as { [K in keyof T]: Timed<Awaited<ReturnType<T[K]>>> }
}

export async function benchUsage(report: Report): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-usage-'))
  try {
    const spec = campusSpec()
    spec.pricing = { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } }
    const file = join(dir, 'sacct.txt')
    await writeSynthetic(file, spec)
    const bytes = statSync(file).size
    // The service path is timed apart from the record path, whose garbage (an object per
    // record) would otherwise be collected on the time of whatever runs after it; each
    // group has its own baseline, read in the same rounds.
    const { read, bytesRead, scanned, agg } = await interleaved({
      read: () => readOnly(file),
      bytesRead: () => readBytes(file),
      scanned: () => scanOnly(file),
      agg: () => aggregate(file, spec, 'service'),
    }, 11)
    const { read: recordRead, parsed, records } = await interleaved({
      read: () => readOnly(file),
      parsed: () => parseOnly(file),
      records: () => aggregate(file, spec, 'records'),
    }, 3)
    const charged = (a: UsageAggregator) => a.lines('department').map((l) => `${l.key}=${(l.costCents / 100).toFixed(2)}`).join(' ')
    if (charged(records.last.agg) !== charged(agg.last.agg)) throw new Error(`the two paths charge differently: ${charged(records.last.agg)} / ${charged(agg.last.agg)}`)
    /** A ratio of wall times, then of CPU times (steadier when other processes share the machine). */
    const both = (f: (k: 'ms' | 'cpuMs') => number) => `${f('ms').toFixed(2)} (CPU ${f('cpuMs').toFixed(2)})`
    report('usage: a month of 1,000,000 sacct records (medians of 11 rounds, of 3 for the record path; ratios of wall time, of CPU time in brackets)', {
      'records': agg.last.agg.records,
      'input MB': (bytes / 1e6).toFixed(1),
      'read only (baseline), ms': `${read.ms.toFixed(0)} (CPU ${read.cpuMs.toFixed(0)})`,
      'read bytes, no text decoded (the service path reads this way), ms': `${bytesRead.ms.toFixed(0)} (CPU ${bytesRead.cpuMs.toFixed(0)})`,
      'read + parse into records, ms': `${parsed.ms.toFixed(0)} (CPU ${parsed.cpuMs.toFixed(0)})`,
      'read + parse + aggregate, record path, ms': `${records.ms.toFixed(0)} (CPU ${records.cpuMs.toFixed(0)})`,
      'read + scan, service path, ms': `${scanned.ms.toFixed(0)} (CPU ${scanned.cpuMs.toFixed(0)})`,
      'read + parse + aggregate, service path, ms': `${agg.ms.toFixed(0)} (CPU ${agg.cpuMs.toFixed(0)})`,
      'ratio to reading (service path)': both((k) => agg[k] / read[k]),
      'read only, record path\'s rounds, ms': `${recordRead.ms.toFixed(0)} (CPU ${recordRead.cpuMs.toFixed(0)})`,
      'parse beyond the read / read (record path)': both((k) => (parsed[k] - recordRead[k]) / recordRead[k]),
      'aggregation beyond parse / read (record path)': both((k) => (records[k] - parsed[k]) / recordRead[k]),
      'service path beyond the read / read': both((k) => (agg[k] - read[k]) / read[k]),
      'scan beyond reading the bytes / read (service path)': both((k) => (scanned[k] - bytesRead[k]) / read[k]),
      'aggregation beyond the scan / read (service path; goal < 1)': both((k) => (agg[k] - scanned[k]) / read[k]),
      'records per second (service path)': Math.round(RECORDS / (agg.ms / 1000)),
      'peak heap growth MB (service path)': (agg.last.peakHeap / 1e6).toFixed(1),
      'garbled lines': agg.last.agg.garbledCount,
      'departments charged (both paths)': charged(agg.last.agg),
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Reading job allocations from `sacct -P`: the argv of one page (a time window) and a
 * streaming parser of its output. The parser takes text in chunks of any size, keeps at
 * most one partial line, and turns each line into a `JobRecord` or a `GarbledLine` (with
 * its line number) without ever building an array of the whole output. Fields are cut
 * with `indexOf`, not `split`, because a month of a busy cluster is millions of lines.
 */
import { parseMemMiB, SacctmgrParseError } from '../slurm/sacctmgr.js'

/** The fields asked for, in order. None can contain `|` (names are allowlisted). */
export const SACCT_FIELDS = ['JobID', 'Account', 'User', 'Partition', 'QOS', 'State', 'Start', 'End', 'NNodes', 'AllocTRES', 'NodeList'] as const

/**
 * The argv of one page: every user's job allocations (no steps) that ran in
 * `[from, to)`, with times printed in UTC. `LC_ALL=C`, `TZ=UTC` and
 * `SLURM_TIME_FORMAT=standard` go through `env`, so the command is an argv on any Executor
 * (local or SSH) and its output does not depend on the controller's locale, zone or format.
 */
export function sacctArgv(from: Date, to: Date): string[] {
  return [
    'env', 'LC_ALL=C', 'TZ=UTC', 'SLURM_TIME_FORMAT=standard',
    'sacct', '-P', '-n', '--allusers', '--allocations', '--duplicates',
    `--starttime=${slurmTime(from)}`, `--endtime=${slurmTime(to)}`,
    `--format=${SACCT_FIELDS.join(',')}`,
  ]
}

/** `YYYY-MM-DDTHH:MM:SS` in UTC, the form sacct reads. */
export function slurmTime(d: Date): string {
  return d.toISOString().slice(0, 19)
}

/** One job allocation as sacct printed it; times are epoch seconds (UTC). */
export interface JobRecord {
  jobId: string
  account: string
  user: string
  partition: string
  qos: string
  state: string
  /** Null when the job never started (pending, cancelled before start). */
  start: number | null
  /** Null while the job runs. */
  end: number | null
  nodes: number
  cpus: number
  memMiB: number
  gpus: number
  /** The hostlist of the job's nodes (`None assigned` when it never started). */
  nodeList: string
  /** `account|user|partition` as printed: the aggregation key, cut once. */
  cellKey?: string
}

/** A line that is not a job record: never charged, reported with where it was. */
export interface GarbledLine {
  line: number
  text: string
  reason: string
}

/** Thrown for a value of a line that does not parse; the parser turns it into a `GarbledLine`. */
export class SacctParseError extends Error {
  override name = 'SacctParseError'
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/

/** Two digits at `i` of `text` as a number, or -1. */
function two(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48
  const b = text.charCodeAt(i + 1) - 48
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

/** `timeAt`'s answer for `Unknown`. */
const UNKNOWN = -2

/**
 * Epoch seconds of the plain `YYYY-MM-DDTHH:MM:SS` (a year from 1970) at `text[a, b)`, by
 * arithmetic on the char codes; `UNKNOWN` for `Unknown`; -1 for anything else (the general
 * parser decides). Days past a month's end roll over as `Date.UTC` rolls them.
 */
function timeAt(text: string, a: number, b: number): number {
  if (b - a === 7) return text.startsWith('Unknown', a) ? UNKNOWN : -1
  if (b - a !== 19 || text.charCodeAt(a + 4) !== 45 || text.charCodeAt(a + 7) !== 45 || text.charCodeAt(a + 10) !== 84 || text.charCodeAt(a + 13) !== 58 || text.charCodeAt(a + 16) !== 58) return -1
  const y1 = two(text, a)
  const y2 = two(text, a + 2)
  const mo = two(text, a + 5)
  const d = two(text, a + 8)
  const h = two(text, a + 11)
  const mi = two(text, a + 14)
  const se = two(text, a + 17)
  const y = y1 * 100 + y2
  if (y1 < 0 || y2 < 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return -1
  // Days from 1970-01-01 of a proleptic Gregorian date, years starting in March (H. Hinnant's days_from_civil).
  const ym = mo <= 2 ? y - 1 : y
  const era = Math.floor(ym / 400)
  const yoe = ym - era * 400
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1
  const days = era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468
  return days * 86_400 + h * 3600 + mi * 60 + se
}

/** A time sacct printed (`TZ=UTC`), or null for `Unknown`/`None`/empty. */
export function parseSacctTime(text: string): number | null {
  const fast = timeAt(text, 0, text.length)
  if (fast >= 0) return fast
  if (text === 'Unknown' || text === 'None' || text === '') return null
  if (!ISO_RE.test(text)) throw new SacctParseError(`"${text}" is not a time`)
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(text) as RegExpExecArray
  const [mo, d, h, mi, se] = [+m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!]
  if (mo < 1 || mo > 12 || d < 1 || d > 31) throw new SacctParseError(`"${text}" is not a time`)
  if (h < 24 && mi < 60 && se < 61) return Date.UTC(+m[1]!, mo - 1, d) / 1000 + h * 3600 + mi * 60 + se
  throw new SacctParseError(`"${text}" is not a valid time`)
}

/** CPUs, memory (MiB), GPUs and nodes of an `AllocTRES` value such as `billing=4,cpu=4,gres/gpu=1,mem=16G,node=1`. */
export function parseAllocTres(text: string): { cpus: number; memMiB: number; gpus: number; nodes: number } {
  const out = { cpus: 0, memMiB: 0, gpus: 0, nodes: 0 }
  let i = 0
  while (i < text.length) {
    let comma = text.indexOf(',', i)
    if (comma === -1) comma = text.length
    const eq = text.indexOf('=', i)
    if (eq === -1 || eq > comma) throw new SacctParseError(`"${text.slice(i, comma)}" is not a TRES setting`)
    const len = eq - i
    // Names are compared in place and counts read digit by digit: no string per pair.
    const which = len === 3 && text.startsWith('cpu', i) ? 1 : len === 8 && text.startsWith('gres/gpu', i) ? 2 : len === 4 && text.startsWith('node', i) ? 3 : len === 3 && text.startsWith('mem', i) ? 4 : 0
    if (which === 0) { i = comma + 1; continue }
    const digits = which === 4 ? -1 : digitsAt(text, eq + 1, comma)
    if (which !== 4) {
      const n = digits >= 0 ? digits : count(text.slice(eq + 1, comma))
      if (which === 1) out.cpus = n
      else if (which === 2) out.gpus = n
      else out.nodes = n
      i = comma + 1
      continue
    }
    const value = text.slice(eq + 1, comma)
    {
      const fast = memFast(value)
      if (fast >= 0) { out.memMiB = fast; i = comma + 1; continue }
      try {
        out.memMiB = parseMemMiB(value)
      } catch (err) {
        if (err instanceof SacctmgrParseError) throw new SacctParseError(err.message)
        throw err
      }
    }
    i = comma + 1
  }
  return out
}

/** The integer written in `text[from, to)` by digits only (at most 9), or -1. */
function digitsAt(text: string, from: number, to: number): number {
  if (to <= from || to - from > 9) return -1
  let n = 0
  for (let k = from; k < to; k++) {
    const d = text.charCodeAt(k) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

const MEM_SCALE: Record<string, number> = { M: 1, G: 1024, T: 1024 * 1024 }

/** `123G`-style memory in MiB by arithmetic, or -1 to take the general parser. */
function memFast(text: string): number {
  const scale = MEM_SCALE[text[text.length - 1] ?? '']
  if (scale === undefined) return -1
  let n = 0
  for (let k = 0; k < text.length - 1; k++) {
    const d = text.charCodeAt(k) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return text.length > 1 ? n * scale : -1
}

function count(text: string): number {
  const len = text.length
  if (len > 0 && len < 10) {
    let n = 0
    for (let k = 0; k < len; k++) {
      const d = text.charCodeAt(k) - 48
      if (d < 0 || d > 9) { n = -1; break }
      n = n * 10 + d
    }
    if (n >= 0) return n
  }
  const n = Number(text)
  if (text === '' || !Number.isSafeInteger(n) || n < 0) throw new SacctParseError(`"${text}" is not a count`)
  return n
}

/** Where `scanSacctLine` writes a line's values (times are NaN when null). */
export const V_START = 0
export const V_END = 1
export const V_NODES = 2
export const V_CPUS = 3
export const V_MEM = 4
export const V_GPUS = 5

/**
 * Scans the line `text[s, e)` in place, without cutting a string: on true, `bars` holds
 * its ten separators and `out` (`V_*`) its times, nodes, CPUs, memory and GPUs. False when
 * the line is not in the plain form sacct prints (then `parseSacctLine`'s general path
 * decides whether it is a record or garbled): every line this accepts, the general path
 * accepts with the same values.
 */
export function scanSacctLine(text: string, s: number, e: number, bars: Int32Array, out: Float64Array): boolean {
  let i = s
  for (let k = 0; k < LAST; k++) {
    const bar = text.indexOf('|', i)
    if (bar === -1 || bar >= e) return false
    bars[k] = bar
    i = bar + 1
  }
  const more = text.indexOf('|', i)
  if ((more !== -1 && more < e) || !jobIdAt(text, s, bars[0] as number)) return false
  if (bars[1] === (bars[0] as number) + 1 || bars[2] === (bars[1] as number) + 1) return false
  const start = timeAt(text, (bars[5] as number) + 1, bars[6] as number)
  const end = timeAt(text, (bars[6] as number) + 1, bars[7] as number)
  if (start === -1 || end === -1 || !tresAt(text, (bars[8] as number) + 1, bars[9] as number, out)) return false
  if (out[V_NODES] === 0) {
    const n = digitsAt(text, (bars[7] as number) + 1, bars[8] as number)
    if (n < 0) return false
    out[V_NODES] = n
  }
  out[V_START] = start === UNKNOWN ? NaN : start
  out[V_END] = end === UNKNOWN ? NaN : end
  return true
}

/** `123`, `123_4`, `123+1`, optionally `.batch`-like, at `text[a, b)` (what `JOB_ID_RE` says, by char codes). */
function jobIdAt(text: string, a: number, b: number): boolean {
  let k = a
  let c = 0
  while (k < b && (c = text.charCodeAt(k)) >= 48 && c <= 57) k++
  if (k === a) return false
  if (k === b) return true
  if (c === 95 /* _ */ || c === 43 /* + */) {
    const d = ++k
    while (k < b && (c = text.charCodeAt(k)) >= 48 && c <= 57) k++
    if (k === d) return false
    if (k === b) return true
  }
  if (c !== 46 /* . */) return false
  const w = ++k
  while (k < b && ((c = text.charCodeAt(k)) === 95 || (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122))) k++
  return k > w && k === b
}

/**
 * CPUs, memory, GPUs and nodes of the `AllocTRES` at `text[a, b)` into `out`, when every
 * setting is `name=value` and the counted ones are plain: digits (memory with M, G or T).
 */
function tresAt(text: string, a: number, b: number, out: Float64Array): boolean {
  out[V_CPUS] = 0
  out[V_MEM] = 0
  out[V_GPUS] = 0
  out[V_NODES] = 0
  let p = a
  while (p < b) {
    let q = p
    let c = 0
    while (q < b && (c = text.charCodeAt(q)) !== 61 /* = */ && c !== 44 /* , */) q++
    if (q === b || c === 44) return false
    const len = q - p
    const which = len === 3 ? (text.startsWith('cpu', p) ? V_CPUS : text.startsWith('mem', p) ? V_MEM : -1)
      : len === 8 && text.startsWith('gres/gpu', p) ? V_GPUS : len === 4 && text.startsWith('node', p) ? V_NODES : -1
    let r = q + 1
    if (which < 0) {
      while (r < b && text.charCodeAt(r) !== 44) r++
      p = r + 1
      continue
    }
    let n = 0
    while (r < b && (c = text.charCodeAt(r)) >= 48 && c <= 57) { n = n * 10 + c - 48; r++ }
    if (r === q + 1 || r - q - 1 > 9) return false
    if (which === V_MEM) {
      c = r === b ? 0 : text.charCodeAt(r)
      const scale = c === 77 /* M */ ? 1 : c === 71 /* G */ ? 1024 : c === 84 /* T */ ? 1024 * 1024 : 0
      if (scale === 0) return false
      n *= scale
      r++
    }
    if (r < b && text.charCodeAt(r) !== 44) return false
    out[which] = n
    p = r + 1
  }
  return true
}

const BARS = new Int32Array(SACCT_FIELDS.length - 1)
const VALUES = new Float64Array(6)
const LAST = SACCT_FIELDS.length - 1

/** One line of `sacct -P` output with `SACCT_FIELDS`, as a record; throws `SacctParseError`. */
export function parseSacctLine(line: string): JobRecord {
  const bars = BARS
  const v = VALUES
  if (!scanSacctLine(line, 0, line.length, bars, v)) return parseSacctLineGeneral(line)
  const start = v[V_START] as number
  const end = v[V_END] as number
  return {
    jobId: fieldOf(line, bars, 0), account: fieldOf(line, bars, 1), user: fieldOf(line, bars, 2), partition: fieldOf(line, bars, 3), qos: fieldOf(line, bars, 4), state: fieldOf(line, bars, 5),
    cellKey: line.slice((bars[0] as number) + 1, bars[3]),
    start: start === start ? start : null,
    end: end === end ? end : null,
    nodes: v[V_NODES] as number,
    cpus: v[V_CPUS] as number,
    memMiB: v[V_MEM] as number,
    gpus: v[V_GPUS] as number,
    nodeList: fieldOf(line, bars, 10),
  }
}

/**
 * `parseSacctLine` by the general value parsers (regular expressions, `Number`, `Date.UTC`):
 * what it does for a line not in the plain form, and the reference the in-place scan is tested against.
 */
export function parseSacctLineGeneral(line: string): JobRecord {
  const bars = BARS
  let i = 0
  for (let k = 0; k < LAST; k++) {
    const bar = line.indexOf('|', i)
    if (bar === -1) throw new SacctParseError(`expected ${SACCT_FIELDS.length} fields separated by |, got ${k + 1}`)
    bars[k] = bar
    i = bar + 1
  }
  if (line.indexOf('|', i) !== -1) throw new SacctParseError(`expected ${SACCT_FIELDS.length} fields separated by |, got more`)
  const jobId = fieldOf(line, bars, 0)
  if (!JOB_ID_RE.test(jobId)) throw new SacctParseError(`"${jobId}" is not a job id`)
  const account = fieldOf(line, bars, 1)
  const user = fieldOf(line, bars, 2)
  if (account === '' || user === '') throw new SacctParseError('the account or the user is empty')
  const start = fieldOf(line, bars, 6)
  const end = fieldOf(line, bars, 7)
  const nnodes = fieldOf(line, bars, 8)
  const alloc = parseAllocTres(fieldOf(line, bars, 9))
  return {
    jobId, account, user, partition: fieldOf(line, bars, 3), qos: fieldOf(line, bars, 4), state: fieldOf(line, bars, 5),
    cellKey: line.slice((bars[0] as number) + 1, bars[3]),
    start: parseSacctTime(start),
    end: parseSacctTime(end),
    nodes: alloc.nodes || count(nnodes),
    cpus: alloc.cpus,
    memMiB: alloc.memMiB,
    gpus: alloc.gpus,
    nodeList: fieldOf(line, bars, 10),
  }
}

/** Field `k` of a line whose separators are at `bars`. */
function fieldOf(line: string, bars: Int32Array, k: number): string {
  return line.slice(k === 0 ? 0 : (bars[k - 1] as number) + 1, k === LAST ? line.length : bars[k])
}

/** `123`, `123_4`, `123+1`, optionally `.batch`-like: a job id as sacct prints it. */
const JOB_ID_RE = /^\d+(?:[_+]\d+)?(?:\.\w+)?$/

/**
 * A streaming line parser: `push` text in chunks, `end` at the end. Each complete line
 * goes to `onRecord` or, when it does not parse, `onGarbled` with its 1-based number.
 * Lines are handed to `line` as ranges of the text (a subclass may read them in place).
 */
export class SacctStream {
  private rest = ''
  /** The number of the line being read (1-based). */
  protected lineNo = 0

  constructor(private readonly onRecord: (r: JobRecord) => void, private readonly onGarbled: (g: GarbledLine) => void) {}

  push(chunk: string): void {
    const text = this.rest === '' ? chunk : this.rest + chunk
    let i = 0
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', i)) {
      this.take(text, i, nl)
      i = nl + 1
    }
    this.rest = text.slice(i)
  }

  end(): void {
    if (this.rest !== '') this.take(this.rest, 0, this.rest.length)
    this.rest = ''
  }

  private take(text: string, s: number, e: number): void {
    this.lineNo += 1
    const end = e > s && text.charCodeAt(e - 1) === 13 /* \r */ ? e - 1 : e
    if (end > s) this.line(text, s, end)
  }

  /** The non-empty line `text[s, e)` (without its line end): parsed into a record or reported garbled. */
  protected line(text: string, s: number, e: number): void {
    const line = text.slice(s, e)
    try {
      this.onRecord(parseSacctLine(line))
    } catch (err) {
      if (!(err instanceof SacctParseError)) throw err
      this.onGarbled({ line: this.lineNo, text: line.slice(0, 200), reason: err.message })
    }
  }
}

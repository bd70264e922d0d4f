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

/** A time sacct printed (`TZ=UTC`), or null for `Unknown`/`None`/empty. */
export function parseSacctTime(text: string): number | null {
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

const BARS = new Int32Array(SACCT_FIELDS.length - 1)
const LAST = SACCT_FIELDS.length - 1

/**
 * One line of `sacct -P` output with `SACCT_FIELDS`, as a record; throws `SacctParseError`.
 * The general parser (regular expressions, `Number`, `Date.UTC`): the record path, what the
 * service does with a line its in-place scan (`scanLine`, scan.ts) does not accept, and the
 * reference that scan is tested against.
 */
export function parseSacctLine(line: string): JobRecord {
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
    recordOrGarbled(text.slice(s, e), this.lineNo, this.onRecord, this.onGarbled)
  }
}

/** Line `lineNo` parsed into a record for `onRecord`, or, when it does not parse, reported to `onGarbled`. */
export function recordOrGarbled(line: string, lineNo: number, onRecord: (r: JobRecord) => void, onGarbled: (g: GarbledLine) => void): void {
  let record: JobRecord
  try {
    record = parseSacctLine(line)
  } catch (err) {
    if (!(err instanceof SacctParseError)) throw err
    onGarbled({ line: lineNo, text: line.slice(0, 200), reason: err.message })
    return
  }
  onRecord(record)
}

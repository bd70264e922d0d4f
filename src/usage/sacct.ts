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
 * `[from, to)`, with times printed in UTC. `LC_ALL=C` and `TZ=UTC` go through `env`, so the
 * command is an argv on any Executor (local or SSH) and its output does not depend on the
 * controller's locale or zone.
 */
export function sacctArgv(from: Date, to: Date): string[] {
  return [
    'env', 'LC_ALL=C', 'TZ=UTC',
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

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/

/** A time sacct printed (`TZ=UTC`), or null for `Unknown`/`None`/empty. */
export function parseSacctTime(text: string): number | null {
  if (text === 'Unknown' || text === 'None' || text === '') return null
  const m = ISO_RE.exec(text)
  if (!m) throw new SacctParseError(`"${text}" is not a time`)
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) / 1000
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
    const name = text.slice(i, eq)
    const value = text.slice(eq + 1, comma)
    if (name === 'cpu') out.cpus = count(value)
    else if (name === 'gres/gpu') out.gpus = count(value)
    else if (name === 'node') out.nodes = count(value)
    else if (name === 'mem') {
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

function count(text: string): number {
  const n = Number(text)
  if (text === '' || !Number.isSafeInteger(n) || n < 0) throw new SacctParseError(`"${text}" is not a count`)
  return n
}

/** One line of `sacct -P` output with `SACCT_FIELDS`, as a record; throws `SacctParseError`. */
export function parseSacctLine(line: string): JobRecord {
  const f: string[] = []
  let i = 0
  for (let k = 0; k < SACCT_FIELDS.length - 1; k++) {
    const bar = line.indexOf('|', i)
    if (bar === -1) throw new SacctParseError(`expected ${SACCT_FIELDS.length} fields separated by |, got ${k + 1}`)
    f.push(line.slice(i, bar))
    i = bar + 1
  }
  const last = line.slice(i)
  if (last.includes('|')) throw new SacctParseError(`expected ${SACCT_FIELDS.length} fields separated by |, got more`)
  f.push(last)
  const [jobId, account, user, partition, qos, state, start, end, nnodes, tres, nodeList] = f as [string, string, string, string, string, string, string, string, string, string, string]
  if (!/^\d+(?:[_+]\d+)?(?:\.\w+)?$/.test(jobId)) throw new SacctParseError(`"${jobId}" is not a job id`)
  if (account === '' || user === '') throw new SacctParseError('the account or the user is empty')
  const alloc = parseAllocTres(tres)
  return {
    jobId, account, user, partition, qos, state,
    start: parseSacctTime(start),
    end: parseSacctTime(end),
    nodes: alloc.nodes || count(nnodes),
    cpus: alloc.cpus,
    memMiB: alloc.memMiB,
    gpus: alloc.gpus,
    nodeList,
  }
}

/**
 * A streaming line parser: `push` text in chunks, `end` at the end. Each complete line
 * goes to `onRecord` or, when it does not parse, `onGarbled` with its 1-based number.
 */
export class SacctStream {
  private rest = ''
  private lineNo = 0

  constructor(private readonly onRecord: (r: JobRecord) => void, private readonly onGarbled: (g: GarbledLine) => void) {}

  push(chunk: string): void {
    let text = this.rest === '' ? chunk : this.rest + chunk
    let i = 0
    for (;;) {
      const nl = text.indexOf('\n', i)
      if (nl === -1) break
      this.line(text.slice(i, nl))
      i = nl + 1
    }
    text = text.slice(i)
    this.rest = text
  }

  end(): void {
    if (this.rest !== '') this.line(this.rest)
    this.rest = ''
  }

  private line(raw: string): void {
    this.lineNo += 1
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line === '') return
    try {
      this.onRecord(parseSacctLine(line))
    } catch (err) {
      if (!(err instanceof SacctParseError)) throw err
      this.onGarbled({ line: this.lineNo, text: line.slice(0, 200), reason: err.message })
    }
  }
}

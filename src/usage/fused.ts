/**
 * The service's path from sacct output to usage: the bytes as they arrive are cut into
 * lines, each line is scanned in place (`scanLine`) and charged straight to its aggregator,
 * with no text decoded, no `JobRecord` and no string cut for a job whose key and node list
 * were seen before. Lines not in the plain form sacct prints go the record path
 * (`parseSacctLine` and `UsageAggregator.add`), which charges them or reports them
 * garbled, so both paths give the same usage for the same output.
 */
import type { UsageAggregator, Window } from './aggregate.js'
import { recordOrGarbled } from './sacct.js'
import { P_JOB_END, P_LIST, P_LIST_END, POSITIONS, scanLine, V_CPUS, V_END, V_GPUS, V_MEM, V_NODES, V_START, VALUES, textOf, viewOf } from './scan.js'

const NL = 10
const CR = 13
const ENCODER = new TextEncoder()

/**
 * Output cut into lines as it arrives: `push` chunks of bytes (or text), then `end`; each
 * non-empty line goes to `line` as a range of a byte array, without its line end. The start
 * of at most one unfinished line is kept between chunks, as the chunks it spans (joined once,
 * when its end arrives), and never more than `maxLine` bytes of it: a longer line goes to
 * `tooLong` with its length, and its bytes are dropped as they come.
 */
export abstract class ByteLines {
  /** The pieces of a line not ended yet, and their total length. */
  private rest: Uint8Array[] = []
  private restBytes = 0
  /** The length of an over-long line being skipped, or -1. */
  private skipped = -1
  /** Whether the skipped line's last byte so far is a carriage return (not the line's if its end follows). */
  private skippedCR = false
  /** The number of the line being read (1-based). */
  protected lineNo = 0

  constructor(private readonly maxLine = MAX_LINE) {}

  /** A chunk of the output: bytes as read (a character may be split between chunks), or text. */
  push(chunk: Uint8Array | string): void {
    // A plain Uint8Array (a Buffer is a subclass): the scan then reads one kind of array only.
    const b = typeof chunk === 'string' ? ENCODER.encode(chunk) : chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    // Buffer's indexOf finds a byte natively (Uint8Array's is far slower per call).
    const found = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    const first = found.indexOf(NL)
    if (first === -1) {
      this.keep(b, b.length)
      return
    }
    let i = 0
    if (this.restBytes > 0 || this.skipped >= 0) {
      // The line begun in earlier chunks ends in this one.
      this.keep(b, first)
      this.flush()
      i = first + 1
    }
    const view = viewOf(b)
    for (let nl = found.indexOf(NL, i); nl !== -1; nl = found.indexOf(NL, i)) {
      this.take(b, view, i, nl)
      i = nl + 1
    }
    if (i < b.length) this.keep(b.subarray(i), b.length - i)
  }

  end(): void {
    this.flush()
  }

  /** Keeps the first `n` bytes of `b` as part of the unfinished line (a copy: the chunk's buffer may be reused). */
  private keep(b: Uint8Array, n: number): void {
    if (n === 0) return
    if (this.skipped >= 0) {
      this.skipped += n
      this.skippedCR = b[n - 1] === CR
    } else if (this.restBytes + n > this.maxLine + 1) {
      // + 1: a carriage return before the line end is not the line's.
      this.skipped = this.restBytes + n
      this.skippedCR = b[n - 1] === CR
      this.rest = []
      this.restBytes = 0
    } else {
      this.rest.push(b.slice(0, n))
      this.restBytes += n
    }
  }

  /** The unfinished line, ended. */
  private flush(): void {
    if (this.skipped >= 0) {
      // Its length as `take` counts it: a carriage return before the end is not the line's.
      this.overLong(this.skippedCR ? this.skipped - 1 : this.skipped)
      this.skipped = -1
      return
    }
    if (this.restBytes === 0) return
    const line = this.rest.length === 1 ? this.rest[0] as Uint8Array : join(this.rest, this.restBytes)
    this.rest = []
    this.restBytes = 0
    this.take(line, viewOf(line), 0, line.length)
  }

  private take(b: Uint8Array, view: DataView, s: number, e: number): void {
    this.lineNo += 1
    const end = e > s && b[e - 1] === CR ? e - 1 : e
    if (end - s > this.maxLine) this.tooLong(this.lineNo, end - s)
    else if (end > s) this.line(b, view, s, end)
  }

  private overLong(bytes: number): void {
    this.lineNo += 1
    this.tooLong(this.lineNo, bytes)
  }

  /** The non-empty line `b[s, e)`; `view` is a DataView of `b` (`viewOf`). */
  protected abstract line(b: Uint8Array, view: DataView, s: number, e: number): void

  /** Line `lineNo` had `bytes` bytes, more than `maxLine`: it was not read. */
  protected abstract tooLong(lineNo: number, bytes: number): void
}

/**
 * The longest line read, in bytes. A sacct line of this service's format is a few hundred
 * bytes; its node list is in Slurm's compressed form. Anything longer is not sacct's.
 */
export const MAX_LINE = 64 * 1024

/** One page of sacct output aggregated into `agg`. */
export class UsagePageStream extends ByteLines {
  /** The page clipped to the window. */
  private readonly from: number
  private readonly to: number
  private readonly pos = new Int32Array(POSITIONS)
  private readonly values = new Float64Array(VALUES)

  constructor(private readonly agg: UsageAggregator, private readonly page: Window, private readonly name: string) {
    super()
    this.from = Math.max(page.from, agg.window.from)
    this.to = Math.min(page.to, agg.window.to)
  }

  protected tooLong(lineNo: number, bytes: number): void {
    this.agg.addGarbled(this.name, { line: lineNo, text: '', reason: `a line of ${bytes} bytes, longer than any sacct line (${MAX_LINE}): not read` })
  }

  protected line(b: Uint8Array, view: DataView, s: number, e: number): void {
    const pos = this.pos
    const v = this.values
    const agg = this.agg
    if (!scanLine(b, view, s, e, pos, v)) {
      const page = this.page
      recordOrGarbled(textOf(b, s, e), this.lineNo, (r) => agg.add(r, page), (g) => agg.addGarbled(this.name, g))
      return
    }
    agg.records += 1
    const start = v[V_START] as number
    if (start !== start) return // never started: NaN
    const end = v[V_END] as number
    const t = agg.targetAt(b, view, pos)
    const stop = end === end ? end : Math.min(agg.now, this.to)
    if (agg.charge(t, start, stop, v[V_NODES] as number, v[V_CPUS] as number, v[V_MEM] as number, v[V_GPUS] as number, this.from, this.to)) {
      agg.addUncharged(textOf(b, s, pos[P_JOB_END] as number), textOf(b, pos[P_LIST] as number, pos[P_LIST_END] as number))
    }
  }
}

/** `parts` one after the other, `n` bytes in all, in a new array. */
function join(parts: readonly Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

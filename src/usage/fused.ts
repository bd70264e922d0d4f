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
 * non-empty line goes to `line` as a range of a byte array, without its line end. At most
 * one unfinished line is kept between chunks.
 */
export abstract class ByteLines {
  /** The start of a line not ended yet. */
  private rest: Uint8Array | null = null
  /** The number of the line being read (1-based). */
  protected lineNo = 0

  /** A chunk of the output: bytes as read (a character may be split between chunks), or text. */
  push(chunk: Uint8Array | string): void {
    // A plain Uint8Array (a Buffer is a subclass): the scan then reads one kind of array only.
    const b = typeof chunk === 'string' ? ENCODER.encode(chunk) : chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    // Buffer's indexOf finds a byte natively (Uint8Array's is far slower per call).
    const found = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
    let i = 0
    const first = found.indexOf(NL)
    if (first === -1) {
      this.rest = this.rest === null ? b.slice() : concat(this.rest, b, b.length)
      return
    }
    if (this.rest !== null) {
      const line = concat(this.rest, b, first)
      this.rest = null
      this.take(line, viewOf(line), 0, line.length)
      i = first + 1
    }
    const view = viewOf(b)
    for (let nl = found.indexOf(NL, i); nl !== -1; nl = found.indexOf(NL, i)) {
      this.take(b, view, i, nl)
      i = nl + 1
    }
    if (i < b.length) this.rest = b.slice(i)
  }

  end(): void {
    if (this.rest !== null) this.take(this.rest, viewOf(this.rest), 0, this.rest.length)
    this.rest = null
  }

  private take(b: Uint8Array, view: DataView, s: number, e: number): void {
    this.lineNo += 1
    const end = e > s && b[e - 1] === CR ? e - 1 : e
    if (end > s) this.line(b, view, s, end)
  }

  /** The non-empty line `b[s, e)`; `view` is a DataView of `b` (`viewOf`). */
  protected abstract line(b: Uint8Array, view: DataView, s: number, e: number): void
}

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

/** `a` followed by the first `n` bytes of `b`, in a new array. */
function concat(a: Uint8Array, b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(a.length + n)
  out.set(a)
  out.set(b.subarray(0, n), a.length)
  return out
}

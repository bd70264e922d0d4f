/**
 * The service's path from sacct text to usage: each line is scanned in place and charged
 * straight to its aggregator, with no `JobRecord` and no string per field (only a job's
 * `account|user|partition` and node list are cut, to look its cells up).
 * Lines not in the plain form sacct prints go the record path (`parseSacctLine` and
 * `UsageAggregator.add`), which charges them or reports them garbled, so both paths give
 * the same usage for the same text.
 */
import type { UsageAggregator, Window } from './aggregate.js'
import { SacctStream, scanSacctLine, V_CPUS, V_END, V_GPUS, V_MEM, V_NODES, V_START } from './sacct.js'

const BARS = new Int32Array(10)
const VALUES = new Float64Array(6)

/** One page of sacct text (`push` chunks, then `end`) aggregated into `agg`. */
export class UsagePageStream extends SacctStream {
  /** The page clipped to the window. */
  private readonly from: number
  private readonly to: number

  constructor(private readonly agg: UsageAggregator, page: Window, name: string) {
    super((r) => agg.add(r, page), (g) => agg.addGarbled(name, g))
    this.from = Math.max(page.from, agg.window.from)
    this.to = Math.min(page.to, agg.window.to)
  }

  protected override line(text: string, s: number, e: number): void {
    const bars = BARS
    const v = VALUES
    if (!scanSacctLine(text, s, e, bars, v)) {
      super.line(text, s, e)
      return
    }
    const agg = this.agg
    agg.records += 1
    const start = v[V_START] as number
    if (start !== start) return // never started: NaN
    const end = v[V_END] as number
    const listFrom = (bars[9] as number) + 1
    const t = agg.target(text, (bars[0] as number) + 1, bars[3] as number, text, listFrom, e, null)
    const stop = end === end ? end : Math.min(agg.now, this.to)
    if (agg.charge(t, start, stop, v[V_NODES] as number, v[V_CPUS] as number, v[V_MEM] as number, v[V_GPUS] as number, this.from, this.to)) {
      agg.addUncharged(text.slice(s, bars[0]), text.slice(listFrom, e))
    }
  }
}

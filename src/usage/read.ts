/**
 * Usage of a window read from slurmdbd through an Executor, one page (a day by default) at
 * a time: a month of a busy cluster is never asked for, held or parsed at once. Works on
 * premises with no AWS: only `sacct` on the controller.
 */
import type { Executor } from '../adapters/executor.js'
import type { ClusterSpec } from '../spec/schema.js'
import { UsageAggregator, type Window } from './aggregate.js'
import { sacctArgv } from './sacct.js'
import { UsagePageStream } from './fused.js'

/** Thrown when sacct cannot be run or refuses, with what it said. */
export class UsageReadError extends Error {
  override name = 'UsageReadError'
}

/** Thrown for a window that is not one (end before start, more than a year). */
export class UsageWindowError extends Error {
  override name = 'UsageWindowError'
}

/** Longest window one request may read. */
export const MAX_WINDOW_SECONDS = 366 * 86_400
/** Default page: one day of jobs per sacct call. */
export const PAGE_SECONDS = 86_400

/** `YYYY-MM` as a window: its first second to the first second of the next month (UTC). */
export function monthWindow(month: string): Window {
  const m = /^(\d{4})-(\d{2})$/.exec(month)
  const year = Number(m?.[1])
  const mon = Number(m?.[2])
  if (!m || mon < 1 || mon > 12) throw new UsageWindowError(`"${month}" is not a month: use YYYY-MM`)
  return { from: Date.UTC(year, mon - 1, 1) / 1000, to: Date.UTC(year, mon, 1) / 1000 }
}

/** The month (`YYYY-MM`, UTC) of a time in epoch seconds. */
export function monthOf(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 7)
}

/** Checks a window: start before end, at most `MAX_WINDOW_SECONDS`. */
export function checkWindow(w: Window): Window {
  if (!Number.isFinite(w.from) || !Number.isFinite(w.to)) throw new UsageWindowError('from and to must be times')
  if (w.to <= w.from) throw new UsageWindowError('to must be after from')
  if (w.to - w.from > MAX_WINDOW_SECONDS) throw new UsageWindowError(`the window is longer than ${MAX_WINDOW_SECONDS / 86_400} days: ask for less`)
  return w
}

/** The pages of a window: consecutive sub-windows of at most `pageSeconds`. */
export function pagesOf(w: Window, pageSeconds = PAGE_SECONDS): Window[] {
  const out: Window[] = []
  for (let from = w.from; from < w.to; from += pageSeconds) out.push({ from, to: Math.min(from + pageSeconds, w.to) })
  return out
}

export interface ReadUsageOptions {
  pageSeconds?: number
  /** "Now" in epoch seconds: where running jobs are counted up to (default: the clock). */
  now?: number
}

/** Reads and aggregates the usage of `window` (clipped to now) page by page. */
export async function readUsage(executor: Executor, spec: Pick<ClusterSpec, 'nodeGroups' | 'pricing' | 'departments'>, window: Window, options: ReadUsageOptions = {}): Promise<UsageAggregator> {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  checkWindow(window)
  const agg = new UsageAggregator(spec, window, now)
  const clipped = { from: window.from, to: Math.min(window.to, Math.max(now + 1, window.from + 1)) }
  for (const page of pagesOf(clipped, options.pageSeconds)) {
    const argv = sacctArgv(new Date(page.from * 1000), new Date(page.to * 1000))
    const name = `${new Date(page.from * 1000).toISOString()}/${new Date(page.to * 1000).toISOString()}`
    const stream = new UsagePageStream(agg, page, name)
    // The output is aggregated as it arrives, in bytes; a failed page fails the whole read (the aggregator is dropped).
    let streamed = false
    const result = await executor.run(argv, { timeoutMs: 300_000, onStdout: (chunk) => { streamed = true; stream.push(chunk) } })
    if (result.code !== 0) throw new UsageReadError(`sacct on ${executor.target} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 500)}`)
    if (!streamed) stream.push(result.stdout)
    stream.end()
  }
  return agg
}

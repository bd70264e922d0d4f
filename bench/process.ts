/**
 * Whole-process timing: wall time of a command from spawn to exit, start-up included, as
 * a user or a script running it sees it. Commands measured together are run interleaved
 * (a, b, c, a, b, c, ...) so that noise on this shared machine falls on all of them.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

/**
 * The `steward` entry point the whole-process benchmarks run: this checkout's
 * bin/steward.js, or STEWARD_BENCH_BIN (another checkout's, to compare before and after).
 */
export function stewardBin(root: string): string {
  return process.env.STEWARD_BENCH_BIN ?? join(root, 'bin', 'steward.js')
}

/** argv of one command: the program, then its arguments (never a shell string). */
export type Argv = readonly [string, ...string[]]

/** Wall milliseconds of one run; throws with the command's stderr when it fails. */
export function wallMs(argv: Argv, cwd?: string): number {
  const start = performance.now()
  const res = spawnSync(argv[0], argv.slice(1), { cwd, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 * 1024 * 1024 })
  const ms = performance.now() - start
  if (res.error) throw new Error(`${argv.join(' ')} did not run`, { cause: res.error })
  if (res.status !== 0) throw new Error(`${argv.join(' ')} exited ${String(res.status ?? res.signal)}: ${res.stderr.slice(-2000)}`)
  return ms
}

/** Median wall milliseconds of each command over `runs` interleaved runs, after one warm-up run of each. */
export function medianWallMs<K extends string>(commands: Record<K, Argv>, runs = 11, cwd?: string): Record<K, number> {
  const names = Object.keys(commands) as K[]
  for (const name of names) wallMs(commands[name], cwd)
  const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>
  for (let i = 0; i < runs; i++) for (const name of names) times[name].push(wallMs(commands[name], cwd))
  return Object.fromEntries(names.map((n) => [n, median(times[n])])) as Record<K, number>
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

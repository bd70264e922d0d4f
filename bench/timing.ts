/** Small timing helpers: the median of several runs, after a warm-up run. */
import { performance } from 'node:perf_hooks'

/** Median milliseconds of `runs` calls of `fn` (after one warm-up call). */
export async function medianMs(fn: () => unknown, runs = 5): Promise<number> {
  await fn()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn()
    times.push(performance.now() - start)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)] ?? 0
}

export type Report = (name: string, fields: Record<string, number | string>) => void

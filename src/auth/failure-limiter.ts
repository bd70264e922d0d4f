/**
 * Slows down token guessing: counts authentication failures per client address in a
 * sliding window and refuses that address for a while once it has failed too often.
 */

export interface FailureLimiter {
  /** True when `key` may try again now. */
  allowed(key: string, now?: number): boolean
  /** Records a failed attempt by `key`. */
  fail(key: string, now?: number): void
  /** Seconds until `key` may try again (0 when allowed). */
  retryAfter(key: string, now?: number): number
}

export function createFailureLimiter(options: { maxFailures: number; windowMs: number }): FailureLimiter {
  const failures = new Map<string, number[]>()
  const recent = (key: string, now: number): number[] => {
    const kept = (failures.get(key) ?? []).filter((t) => now - t < options.windowMs)
    if (kept.length === 0) failures.delete(key)
    else failures.set(key, kept)
    return kept
  }
  return {
    allowed: (key, now = Date.now()) => recent(key, now).length < options.maxFailures,
    fail(key, now = Date.now()) {
      failures.set(key, [...recent(key, now), now])
      // Bound memory under a spray of addresses: forget the oldest keys.
      if (failures.size > 10_000) failures.delete(failures.keys().next().value as string)
    },
    retryAfter(key, now = Date.now()) {
      const times = recent(key, now)
      if (times.length < options.maxFailures) return 0
      return Math.ceil((options.windowMs - (now - (times[0] ?? now))) / 1000)
    },
  }
}

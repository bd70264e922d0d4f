/**
 * A client-side request limiter with retries, for an AWS API with a documented quota (the
 * Identity Store's 20 requests per second across its APIs). Requests are spaced evenly at
 * the quota's rate, so a long listing reads at the rate and is not throttled; a
 * `ThrottlingException` (or a 5xx) slows the spacing down (adaptive: it recovers step by
 * step after successes) and is retried after an exponential backoff with full jitter. A
 * request that still fails after the last attempt throws {@link RequestFailedError}.
 */

/** A request failed for good: after `attempts` tries, or at once for an error that is not worth retrying. */
export class RequestFailedError extends Error {
  override name = 'RequestFailedError'
  constructor(readonly what: string, readonly attempts: number, options: ErrorOptions) {
    super(`${what} failed after ${attempts} attempt(s): ${(options.cause as Error | undefined)?.name ?? 'Error'}: ${(options.cause as Error | undefined)?.message ?? String(options.cause)}`, options)
  }
}

export interface LimiterOptions {
  /** The quota: requests per second across every request the limiter runs. */
  requestsPerSecond: number
  /**
   * Spacing above the quota's, as a fraction (default 0.03): the server counts arrivals, and
   * a request sent a few ms late next to one on time would make 21 in a second without it.
   */
  margin?: number
  /** Attempts per request, the first one included (default 8). */
  maxAttempts?: number
  /** The first backoff's upper bound in ms (default 100); it doubles with each retry, up to `maxBackoffMs`. */
  baseBackoffMs?: number
  maxBackoffMs?: number
  sleep?: (ms: number) => Promise<void>
  random?: () => number
  now?: () => number
}

export interface RateLimiter {
  /** Runs `request` in its turn, retrying throttles; `what` names it in errors. */
  run<T>(what: string, request: () => Promise<T>): Promise<T>
  /** Requests sent (retries included) and throttles seen, for callers that report them. */
  readonly stats: { requests: number; throttled: number }
}

const RETRYABLE = new Set(['ThrottlingException', 'TooManyRequestsException', 'InternalServerException', 'ServiceUnavailable', 'ServiceUnavailableException', 'RequestTimeout', 'ECONNRESET'])

function retryable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown }
  if (RETRYABLE.has(e?.name ?? '') || RETRYABLE.has(e?.code ?? '')) return true
  const status = e?.$metadata?.httpStatusCode
  return status === 429 || (status !== undefined && status >= 500)
}

function throttle(err: unknown): boolean {
  const name = (err as { name?: string })?.name
  return name === 'ThrottlingException' || name === 'TooManyRequestsException' || (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 429
}

/** A limiter for one quota; share one instance across every API the quota covers. */
export function createRateLimiter(options: LimiterOptions): RateLimiter {
  const base = (1000 / options.requestsPerSecond) * (1 + (options.margin ?? 0.03))
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const random = options.random ?? Math.random
  const now = options.now ?? Date.now
  const maxAttempts = options.maxAttempts ?? 8
  const baseBackoff = options.baseBackoffMs ?? 100
  const maxBackoff = options.maxBackoffMs ?? 5_000
  let interval = base
  let nextSlot = 0
  let successes = 0
  const stats = { requests: 0, throttled: 0 }

  /** Waits for the next free slot; slots are handed out in call order. */
  async function turn(): Promise<void> {
    const at = Math.max(now(), nextSlot)
    nextSlot = at + interval
    const wait = at - now()
    if (wait > 0) await sleep(wait)
  }

  return {
    stats,
    async run(what, request) {
      for (let attempt = 1; ; attempt++) {
        await turn()
        stats.requests++
        try {
          const result = await request()
          // Adaptive recovery: back toward the quota's spacing after a run of successes.
          if (interval > base && ++successes >= 10) {
            interval = Math.max(base, interval / 1.1)
            successes = 0
          }
          return result
        } catch (err) {
          if (!retryable(err) || attempt >= maxAttempts) throw new RequestFailedError(what, attempt, { cause: err })
          if (throttle(err)) {
            stats.throttled++
            interval = Math.min(base * 4, interval * 1.25)
            successes = 0
          }
          await sleep(random() * Math.min(maxBackoff, baseBackoff * 2 ** (attempt - 1)))
        }
      }
    },
  }
}

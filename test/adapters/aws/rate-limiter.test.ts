/**
 * The client-side limiter: requests spaced at the quota (with its margin), throttles
 * retried with a jittered exponential backoff and a slower spacing, a request that keeps
 * failing reported with its attempts, and errors that are not worth a retry not retried.
 * A virtual clock: `sleep` advances it.
 */
import t from 'tap'
import { createRateLimiter, RequestFailedError } from '../../../src/adapters/aws/rate-limiter.js'

function clock() {
  let now = 0
  const sleeps: number[] = []
  return { now: () => now, sleep: async (ms: number) => { sleeps.push(ms); now += ms }, sleeps }
}
const throttle = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } })

t.test('requests are spaced at the quota, with a 3% margin', async (t) => {
  const c = clock()
  const limiter = createRateLimiter({ requestsPerSecond: 20, ...c })
  const at: number[] = []
  for (let i = 0; i < 5; i++) await limiter.run('x', async () => { at.push(c.now()) })
  t.same(at.map((x) => Math.round(x * 10) / 10), [0, 51.5, 103, 154.5, 206])
  t.equal(limiter.stats.requests, 5)
})

t.test('a throttle is retried after a jittered backoff and slows the spacing', async (t) => {
  const c = clock()
  const limiter = createRateLimiter({ requestsPerSecond: 20, random: () => 0.5, baseBackoffMs: 100, ...c })
  let calls = 0
  const value = await limiter.run('ListUsers page 1', async () => {
    if (++calls < 3) throw throttle()
    return 'ok'
  })
  t.equal(value, 'ok')
  t.equal(limiter.stats.throttled, 2)
  t.same(c.sleeps.filter((ms) => ms === 50 || ms === 100), [50, 100], 'backoffs: half of 100 ms, then half of 200 ms')
})

t.test('a request that keeps failing is reported with its attempts; others are not retried', async (t) => {
  const c = clock()
  const limiter = createRateLimiter({ requestsPerSecond: 20, maxAttempts: 4, ...c })
  let calls = 0
  await t.rejects(limiter.run('ListUsers page 7', async () => { calls++; throw throttle() }), new RequestFailedError('ListUsers page 7', 4, { cause: throttle() }))
  t.equal(calls, 4)
  calls = 0
  const denied = Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })
  await t.rejects(limiter.run('DescribeUser u', async () => { calls++; throw denied }), { message: 'DescribeUser u failed after 1 attempt(s): AccessDeniedException: no' })
  t.equal(calls, 1)
})

import t from 'tap'
import { createFailureLimiter } from '../../src/auth/failure-limiter.js'

t.test('an address is refused after too many failures and allowed again after the window', async (t) => {
  const limiter = createFailureLimiter({ maxFailures: 3, windowMs: 1000 })
  for (let i = 0; i < 3; i++) limiter.fail('a', 100 + i)
  t.equal(limiter.allowed('a', 200), false)
  t.equal(limiter.retryAfter('a', 200), 1)
  t.equal(limiter.allowed('b', 200), true, 'other addresses are not affected')
  t.equal(limiter.allowed('a', 1200), true, 'failures age out')
})

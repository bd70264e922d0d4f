/** The bound on concurrent tasks (SSH channels): never more than `max` at once, all run, in call order. */
import t from 'tap'
import { createLimiter } from '../../src/adapters/limiter.js'

t.test('at most max tasks run at once; every task runs, in call order, and failures pass through', async (t) => {
  const limit = createLimiter(3)
  let running = 0
  let peak = 0
  const started: number[] = []
  const gates: Array<() => void> = []
  const tasks = Array.from({ length: 10 }, (_, i) => limit(async () => {
    started.push(i)
    running++
    peak = Math.max(peak, running)
    await new Promise<void>((resolve) => gates.push(resolve))
    running--
    if (i === 4) throw new Error('task 4 failed')
    return i
  }).catch((err: unknown) => (err as Error).message))
  // Release the tasks one by one as they arrive at their gate.
  while (started.length < 10 || gates.length > 0) {
    await new Promise((resolve) => setImmediate(resolve))
    t.ok(running <= 3, `never more than 3 at once (${running})`)
    gates.shift()?.()
  }
  t.same(await Promise.all(tasks), [0, 1, 2, 3, 'task 4 failed', 5, 6, 7, 8, 9])
  t.equal(peak, 3)
  t.same(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
})

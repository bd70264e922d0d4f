/** The local executor: input to a command that never reads it is not an error (EPIPE is swallowed, the exit code stands). */
import t from 'tap'
import { createLocalExecutor } from '../../src/adapters/executor.js'

t.test('a command that exits without reading its input still gives its result', async (t) => {
  const ex = createLocalExecutor()
  for (let i = 0; i < 5; i++) {
    const res = await ex.run(['sh', '-c', 'exit 4'], { input: 'x'.repeat(4 * 1024 * 1024) })
    t.equal(res.code, 4)
  }
})

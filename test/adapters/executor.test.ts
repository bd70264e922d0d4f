/** The local executor: input to a command that never reads it is not an error (EPIPE is swallowed, the exit code stands). */
import t from 'tap'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalExecutor } from '../../src/adapters/executor.js'

t.test('a command that exits without reading its input still gives its result', async (t) => {
  const ex = createLocalExecutor()
  for (let i = 0; i < 5; i++) {
    const res = await ex.run(['sh', '-c', 'exit 4'], { input: 'x'.repeat(4 * 1024 * 1024) })
    t.equal(res.code, 4)
  }
})

t.test('standard output streamed as it arrives: every byte, in order, and nothing in the result', async (t) => {
  const ex = createLocalExecutor()
  const chunks: Buffer[] = []
  const res = await ex.run(['seq', '1', '200000'], { onStdout: (c) => chunks.push(c) })
  t.equal(res.code, 0)
  t.equal(res.stdout, '')
  t.ok(chunks.length > 1, `several chunks (${chunks.length}): the output is not held whole`)
  const want = (await ex.run(['seq', '1', '200000'])).stdout
  t.equal(Buffer.concat(chunks).toString('utf8'), want)
})

t.test('a streamed command keeps its exit code and standard error, and fails as a buffered one does', async (t) => {
  const ex = createLocalExecutor()
  const res = await ex.run(['sh', '-c', 'echo out; echo why >&2; exit 3'], { onStdout: () => undefined })
  t.same({ code: res.code, stdout: res.stdout, stderr: res.stderr }, { code: 3, stdout: '', stderr: 'why\n' })
  await t.rejects(ex.run(['steward-no-such-program'], { onStdout: () => undefined }), { name: 'ExecError', message: /cannot run steward-no-such-program: ENOENT/ })
  await t.rejects(ex.run(['sleep', '5'], { timeoutMs: 200, onStdout: () => undefined }), { name: 'ExecError', message: /sleep timed out after 200 ms/ })
})

t.test('when what reads a streamed output throws, the command is stopped and the error is the caller\'s', async (t) => {
  const ex = createLocalExecutor()
  const started = Date.now()
  await t.rejects(ex.run(['sh', '-c', 'echo line; exec sleep 5'], { onStdout: () => { throw new RangeError('the reader broke') } }), { name: 'RangeError', message: 'the reader broke' })
  t.ok(Date.now() - started < 4000, 'not waiting for the command to end by itself')
})

t.test('a command over its time limit gets SIGTERM, then SIGKILL when it ignores that; the run fails saying so', async (t) => {
  const ex = createLocalExecutor()
  let started = Date.now()
  await t.rejects(ex.run(['sleep', '30'], { timeoutMs: 200 }), { name: 'ExecError', message: 'sleep timed out after 200 ms' })
  t.ok(Date.now() - started < 3_000, 'SIGTERM ends it')
  started = Date.now()
  const stubborn = ['python3', '-c', 'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("ready", flush=True)\ntime.sleep(60)']
  await t.rejects(ex.run(stubborn, { timeoutMs: 500 }), { name: 'ExecError', message: /^python3 timed out after 500 ms$/ })
  const took = Date.now() - started
  t.ok(took >= 5_000 && took < 15_000, `SIGKILL after the grace (${took} ms)`)
})

t.test('without input a command reads end-of-file, not a pipe left open; output is decoded once', async (t) => {
  const ex = createLocalExecutor()
  const res = await ex.run(['cat'], { timeoutMs: 5_000 })
  t.same({ code: res.code, stdout: res.stdout }, { code: 0, stdout: '' }, 'cat ends at once')
  const text = `a${'ë'.repeat(200_000)}\n`
  const echoed = await ex.run(['cat'], { input: text })
  t.ok(echoed.stdout === text, 'two-byte characters across pipe reads arrive whole')
  await t.rejects(ex.run(['no-such-program-steward']), { name: 'ExecError', message: 'cannot run no-such-program-steward: ENOENT' })
})

t.test('a command over its time limit whose background child keeps the output open still fails at the limit', { timeout: 20_000 }, async (t) => {
  // The child that keeps standard output and error open must not hold the run: the old
  // execFile path dropped the pipes at the time limit, and so does this one.
  const dir = await mkdtemp(join(tmpdir(), 'steward-exec-'))
  t.teardown(async () => {
    const pid = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => ''))
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    await rm(dir, { recursive: true, force: true })
  })
  const ex = createLocalExecutor()
  const run = ex.run(['sh', '-c', `sleep 60 & echo $! > ${join(dir, 'pid')}; echo started`], { timeoutMs: 500 })
  await t.rejects(run, { name: 'ExecError', message: 'sh timed out after 500 ms' })
  const pid = Number(await readFile(join(dir, 'pid'), 'utf8'))
  t.doesNotThrow(() => process.kill(pid, 0), 'the background child still runs: the run did not wait for it')
})

/**
 * Process helpers of the sandbox with ordinary child processes: pid files, recognising a
 * daemon as ours, stopping, bounded waits, log tails; plus devices and the CLI's pure bits.
 */
import { spawn } from 'node:child_process'
import { lstat, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { DeviceError, ensureDevices, removeCreatedDevices } from '../../src/sandbox/devices.js'
import {
  ProcessExitedError, WaitTimeoutError, findExecutable, isOurs, logTail, ourPid, pidRuns, readPidFile, runDaemonizing, stopDaemon,
  stopPid, tcpOpen, waitFor,
} from '../../src/sandbox/processes.js'
import { defaultSpecFile, exportLine, sandboxCommand } from '../../src/cli/sandbox.js'
import { UsageError } from '../../src/cli/usage.js'

const dir = await mkdtemp(join(tmpdir(), 'sandbox-proc-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))

const sleeper = (marker: string) => spawn('sleep', ['30'], { env: { ...process.env, SANDBOX_TEST: marker }, stdio: 'ignore' })
const sleepExe = await realpath(findExecutable('sleep') as string)

t.test('pid files', async (t) => {
  const file = join(dir, 'a.pid')
  t.equal(await readPidFile(file), undefined, 'missing')
  await writeFile(file, '1234\n')
  t.equal(await readPidFile(file), 1234)
  await writeFile(file, 'garbage')
  t.equal(await readPidFile(file), undefined)
  await writeFile(file, '1')
  t.equal(await readPidFile(file), undefined, 'never init')
})

t.test('a process is ours only with the right executable and marks', async (t) => {
  const child = sleeper('mark-1')
  t.teardown(() => void child.kill('SIGKILL'))
  const pid = child.pid as number
  await waitFor('sleep to start', () => pidRuns(pid), 5000, 20)
  t.ok(await isOurs(pid, { executables: [sleepExe], marks: ['30', 'env:SANDBOX_TEST=mark-1'] }))
  t.notOk(await isOurs(pid, { executables: [sleepExe], marks: ['env:SANDBOX_TEST=other'] }), 'another environment')
  t.notOk(await isOurs(pid, { executables: [sleepExe], marks: ['3'] }), 'arguments match whole')
  t.notOk(await isOurs(pid, { executables: ['/usr/sbin/slurmctld'], marks: [] }), 'another program')
  const pidFile = join(dir, 'sleep.pid')
  await writeFile(pidFile, `${pid}\n`)
  t.equal(await ourPid(pidFile, { executables: [sleepExe], marks: [] }), pid)
  const r = await stopDaemon(pidFile, { executables: [sleepExe], marks: ['env:SANDBOX_TEST=mark-1'] }, 5000)
  t.same(r, { pid, result: 'stopped' })
  t.notOk(await pidRuns(pid), 'gone (reaped or zombie counts as gone)')
  t.equal(await readPidFile(pidFile), undefined, 'pid file removed')
  t.same(await stopDaemon(pidFile, { executables: [sleepExe], marks: [] }), { result: 'gone' }, 'stopping twice is fine')
})

t.test('stopPid escalates to SIGKILL', async (t) => {
  const child = spawn('sh', ['-c', 'trap "" TERM; sleep 30 & wait; sleep 30'], { stdio: 'ignore' })
  const pid = child.pid as number
  await waitFor('sh to start', () => pidRuns(pid), 5000, 20)
  await new Promise((r) => setTimeout(r, 200))
  t.equal(await stopPid(pid, 300), 'killed')
  t.equal(await stopPid(pid, 300), 'gone')
})

t.test('bounded waits', async (t) => {
  let n = 0
  t.equal(await waitFor('three rounds', async () => (++n >= 3 ? 'done' : undefined), 2000, 10), 'done')
  await t.rejects(waitFor('never', async () => false, 100, 20), WaitTimeoutError)
  await t.rejects(waitFor('dead process', async () => false, 5000, { intervalMs: 10, alive: async () => false }), ProcessExitedError)
  const cause = await waitFor('throws', async () => { throw new Error('probe failed') }, 50, 10).catch((e: Error) => e)
  t.match((cause as Error & { cause?: Error }).cause?.message, 'probe failed', 'the last probe error is the cause')
})

t.test('runDaemonizing waits for the foreground process only', async (t) => {
  const out = join(dir, 'daemon.out')
  const started = Date.now()
  // The background child keeps stdout open; execFile would wait 30 s for it.
  const code = await runDaemonizing(['sh', '-c', 'echo hello; sleep 30 & echo $! > ' + join(dir, 'bg.pid')], out, process.env, 10_000)
  t.equal(code, 0)
  t.ok(Date.now() - started < 5000, 'did not wait for the background child')
  t.equal(await logTail(out), 'hello')
  const bg = await readPidFile(join(dir, 'bg.pid'))
  if (bg) process.kill(bg, 'SIGKILL')
  t.equal(await runDaemonizing(['sh', '-c', 'exit 3'], out, process.env), 3)
})

t.test('log tails and ports', async (t) => {
  const file = join(dir, 'x.log')
  await writeFile(file, Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') + '\n')
  t.equal(await logTail(file, 2), 'line 38\nline 39')
  t.equal(await logTail(join(dir, 'missing.log')), '')
  t.equal(await tcpOpen(1, '127.0.0.1', 500), false, 'nothing listens on port 1')
})

t.test('devices: existing character devices are used, other files refused', async (t) => {
  const exec = createLocalExecutor()
  const record = join(dir, 'devices.json')
  t.same(await ensureDevices(exec, ['/dev/null'], record), [], '/dev/null already is one')
  await t.rejects(ensureDevices(exec, ['/dev/../etc/passwd'], record), DeviceError)
  await t.rejects(ensureDevices(exec, ['/tmp/nvidia0'], record), DeviceError, 'only under /dev')
  await t.rejects(ensureDevices(exec, ['/dev/shm'], record), /not a character device/)
  // A record naming /dev/null (hand-edited or corrupt) must never remove it, not even
  // with its real inode: /dev/null is a c 1 3 device like the stand-ins.
  const { ino } = await lstat('/dev/null')
  await writeFile(record, JSON.stringify([{ path: '/dev/null', ino }, { path: '/dev/nvidia-never-made', ino: 1 }, '/dev/zero']))
  t.same(await removeCreatedDevices(record), [])
  t.ok((await lstat('/dev/null')).isCharacterDevice(), '/dev/null is still there')
})

t.test('CLI pieces', async (t) => {
  t.equal(exportLine('/var/lib/steward-sandbox/etc/slurm.conf'), 'export SLURM_CONF=/var/lib/steward-sandbox/etc/slurm.conf')
  t.equal(exportLine("/tmp/it's here/slurm.conf"), `export SLURM_CONF='/tmp/it'\\''s here/slurm.conf'`)
  t.match(defaultSpecFile(), /examples\/campus\.yaml$/)
  await t.rejects(sandboxCommand([]), UsageError)
  await t.rejects(sandboxCommand(['bogus']), UsageError)
  await t.rejects(sandboxCommand(['up', '--nodes-per-group', 'two']), UsageError)
  await t.rejects(sandboxCommand(['up', '--nodes-per-group', '0']), UsageError)
  await t.rejects(sandboxCommand(['reload', 'x']), UsageError)
  await t.rejects(sandboxCommand(['up', 'a.yaml', 'b.yaml']), UsageError)
  await t.rejects(sandboxCommand(['env', 'extra']), UsageError)
})

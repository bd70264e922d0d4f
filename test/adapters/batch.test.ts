/**
 * The command batch: its script run by a real `sh` (locally, and over the test sshd in one
 * session) gives each command's exit code, stdout and stderr exactly as if it ran alone,
 * whatever the output holds; arguments reach the commands as they were (quoteArgv).
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { batchArgv, BatchOutputError, parseBatchOutput } from '../../src/adapters/batch.js'
import { createSshExecutor, parseSshUrl } from '../../src/adapters/ssh-executor.js'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { countSshChannels } from '../../bench/ssh-channels.js'
import { testSshd } from '../support/ssh.js'

const nasty = `it's "quoted" $HOME \`id\` ; rm -rf / & \\ \n second line | ü`
const commands: string[][] = [
  ['printf', '%s', nasty],
  ['sh', '-c', 'echo out; echo err >&2; exit 3'],
  ['printf', 'no newline at the end'],
  ['cat'],
  ['printf', '12 34 56\n'],
  ['false'],
]

async function runLocally(list: readonly (readonly string[])[]): Promise<Buffer> {
  const [file, ...args] = batchArgv(list)
  const { stdout } = await promisify(execFile)(file as string, args, { encoding: 'buffer' })
  return stdout
}

t.test('run by sh, each command reports its own exit code, stdout and stderr, byte for byte', async (t) => {
  const results = parseBatchOutput(await runLocally(commands), commands.length)
  t.same(results, [
    { code: 0, stdout: nasty, stderr: '' },
    { code: 3, stdout: 'out\n', stderr: 'err\n' },
    { code: 0, stdout: 'no newline at the end', stderr: '' },
    { code: 0, stdout: '', stderr: '' },
    { code: 0, stdout: '12 34 56\n', stderr: '' },
    { code: 1, stdout: '', stderr: '' },
  ])
  const alone = await Promise.all(commands.map((argv) => createLocalExecutor().run(argv, { input: '' })))
  t.same(results, alone.map((r) => ({ code: r.code, stdout: r.stdout, stderr: r.stderr })), 'the same as each run alone')
})

t.test('output cut short or garbled is an error, never a guess', async (t) => {
  const out = await runLocally([['printf', 'abc']])
  t.throws(() => parseBatchOutput(out.subarray(0, out.length - 1), 1), BatchOutputError)
  t.throws(() => parseBatchOutput(Buffer.from('hello\n'), 1), BatchOutputError)
  t.throws(() => parseBatchOutput(out, 2), BatchOutputError)
})

t.test('over SSH the whole batch is one session, with the C locale and the configured environment', async (t) => {
  const sshd = await testSshd()
  const ex = createSshExecutor({ ...parseSshUrl(sshd.url), privateKeyPath: sshd.identity, hostKey: sshd.hostKey, env: { SLURM_CONF: '/x/slurm.conf' } })
  t.teardown(() => ex.close())
  await ex.run(['true'])
  const counter = countSshChannels()
  const results = await ex.runAll([...commands, ['printenv', 'LC_ALL'], ['printenv', 'SLURM_CONF']])
  const count = counter.stop()
  t.same(count, { connections: 0, exec: 1, sftp: 0, channels: 1 })
  t.same(results.map((r) => [r.code, r.stdout, r.stderr]), [
    [0, nasty, ''], [3, 'out\n', 'err\n'], [0, 'no newline at the end', ''], [0, '', ''], [0, '12 34 56\n', ''], [1, '', ''],
    [0, 'C\n', ''], [0, '/x/slurm.conf\n', ''],
  ])
  t.same(results[1]?.argv, commands[1], 'each result names its argv')
})

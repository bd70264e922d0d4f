/**
 * The SSH executor against a real sshd on loopback (ops/ssh/start.sh): the host key is
 * checked against the pinned fingerprint, commands run in the C locale, a missing file is
 * told by exit status, and writes are synced before and after the rename.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSshExecutor, HostKeyMismatchError, parseSshUrl, remoteWriteSteps, type SshExecutor } from '../../src/adapters/ssh-executor.js'
import { ExecError } from '../../src/adapters/executor.js'
import { testSshd, type TestSshd } from '../support/ssh.js'

let sshd: TestSshd
const opened: SshExecutor[] = []
const connect = (hostKey = sshd.hostKey, env?: Record<string, string>): SshExecutor => {
  const ex = createSshExecutor({ ...parseSshUrl(sshd.url), privateKeyPath: sshd.identity, hostKey, ...(env ? { env } : {}) })
  opened.push(ex)
  return ex
}

t.before(async () => {
  sshd = await testSshd()
})
t.teardown(async () => {
  for (const ex of opened) await ex.close()
})

t.test('the pinned host key lets the connection through; another key is refused with both fingerprints', async (t) => {
  t.equal((await connect().run(['true'])).code, 0)
  const wrong = `SHA256:${'A'.repeat(43)}`
  const err = await connect(wrong).run(['true']).catch((e: unknown) => e)
  t.type(err, HostKeyMismatchError)
  t.match((err as Error).message, new RegExp(`host key is ${sshd.hostKey.replace(/[+/]/g, '\\$&')}, not the pinned ${wrong}`))
  t.throws(() => connect('ab:cd:ef'), ExecError, 'a fingerprint of the wrong form is refused before connecting')
})

t.test('remote commands run with LC_ALL=C, next to the configured environment', async (t) => {
  const ex = connect(sshd.hostKey, { SLURM_CONF: '/x/slurm.conf' })
  t.equal((await ex.run(['printenv', 'LC_ALL'])).stdout, 'C\n')
  t.equal((await ex.run(['printenv', 'SLURM_CONF'])).stdout, '/x/slurm.conf\n')
})

t.test('a missing file reads as undefined by exit status; an unreadable one is an error', async (t) => {
  const ex = connect()
  const dir = mkdtempSync(join(tmpdir(), 'steward-ssh-'))
  writeFileSync(join(dir, 'there'), 'content\n')
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'))
  t.equal(await ex.readFile(join(dir, 'there')), 'content\n')
  t.equal(await ex.readFile(join(dir, 'absent')), undefined)
  t.equal(await ex.readFile(join(dir, 'dangling')), undefined, 'a dangling link is a missing file')
  await t.rejects(ex.readFile(dir), { name: 'ExecError', message: /cannot read .* cat exited 1/ }, 'a directory exists: not "missing"')
})

t.test('a write is synced: dd conv=fsync, then sync of the file and its directory after the rename', async (t) => {
  t.same(remoteWriteSteps('/etc/slurm/.slurm.conf.x.tmp', '/etc/slurm/slurm.conf', 0o644), [
    ['dd', 'of=/etc/slurm/.slurm.conf.x.tmp', 'status=none', 'conv=fsync'],
    ['chmod', '644', '/etc/slurm/.slurm.conf.x.tmp'],
    ['mv', '-f', '--', '/etc/slurm/.slurm.conf.x.tmp', '/etc/slurm/slurm.conf'],
    ['sync', '--', '/etc/slurm/slurm.conf', '/etc/slurm'],
  ])
  const ex = connect()
  const dir = mkdtempSync(join(tmpdir(), 'steward-ssh-'))
  await ex.writeFileAtomic(join(dir, 'slurm.conf'), 'ClusterName=x\n', 0o600)
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), 'ClusterName=x\n')
  t.equal(statSync(join(dir, 'slurm.conf')).mode & 0o777, 0o600)
  t.same(readdirSync(dir), ['slurm.conf'], 'no temporary file is left')
})

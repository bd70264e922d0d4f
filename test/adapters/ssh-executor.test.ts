/**
 * The SSH executor against a real sshd on loopback (ops/ssh/start.sh): the host key is
 * checked against the pinned fingerprint, commands run in the C locale, a missing file is
 * told by status (SFTP's no-such-file), writes are synced before and after the rename, and
 * file work goes over one SFTP session, not one remote command each.
 */
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'
import { mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NodeSSH } from 'node-ssh'
import { createSshExecutor, HostKeyMismatchError, parseSshUrl, remoteWriteSteps, type SshExecutor } from '../../src/adapters/ssh-executor.js'
import { ExecError } from '../../src/adapters/executor.js'
import { runOnChannel } from '../../src/adapters/ssh-channel.js'
import { testSshd, type TestSshd } from '../support/ssh.js'
import { countSshChannels } from '../../bench/ssh-channels.js'

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
  await t.rejects(ex.readFile(dir), { name: 'ExecError', message: /cannot read / }, 'a directory exists: not "missing"')
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

t.test('file work goes over one SFTP session: no remote command, whatever the number of files', async (t) => {
  const ex = connect()
  await ex.run(['true'])
  const dir = mkdtempSync(join(tmpdir(), 'steward-ssh-'))
  const counter = countSshChannels()
  try {
    await Promise.all(['a', 'b', 'c', 'd'].map((n) => ex.writeFileAtomic(join(dir, n), `${n}\n`, 0o644)))
    t.same(await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => ex.readFile(join(dir, n)))), ['a\n', 'b\n', 'c\n', 'd\n', undefined])
    await ex.rename(join(dir, 'a'), join(dir, 'b'))
    await ex.remove([join(dir, 'c'), join(dir, 'absent')])
  } finally {
    const count = counter.stop()
    t.same(count, { connections: 0, exec: 0, sftp: 1, channels: 1 }, 'one SFTP session, no exec (the server has fsync@openssh.com and posix-rename)')
  }
  t.same(readdirSync(dir).sort(), ['b', 'd'])
  t.equal(readFileSync(join(dir, 'b'), 'utf8'), 'a\n', 'the rename replaced the target')
  t.equal(statSync(join(dir, 'd')).mode & 0o777, 0o644)
})

t.test('commands run on concurrent channels of one connection', async (t) => {
  const ex = connect()
  const counter = countSshChannels()
  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => ex.run(['echo', String(i)])))
  const count = counter.stop()
  t.same(results.map((r) => r.stdout), Array.from({ length: 12 }, (_, i) => `${i}\n`))
  t.equal(count.connections, 1, 'one connection')
  t.equal(count.exec, 12)
})

t.test('standard output streams over SSH in bytes: all of it, in order, none left in the result', async (t) => {
  const ex = connect()
  const chunks: Buffer[] = []
  const res = await ex.run(['seq', '1', '200000'], { onStdout: (c) => chunks.push(c) })
  t.same({ code: res.code, stdout: res.stdout }, { code: 0, stdout: '' })
  t.ok(chunks.length > 1, `several chunks (${chunks.length})`)
  t.equal(Buffer.concat(chunks).toString('utf8'), (await ex.run(['seq', '1', '200000'])).stdout)
  await t.rejects(ex.run(['seq', '1', '1000'], { onStdout: () => { throw new RangeError('the reader broke') } }), { name: 'RangeError' }, 'a reader that throws fails the run')
  t.equal((await ex.run(['true'])).code, 0, 'the connection is still good')
})

t.test('a reader that throws stops the remote command at once; the run fails with its error', async (t) => {
  const ex = connect()
  // `yes` writes until its output pipe is gone; its time limit (60 s) is far off.
  const marker = `steward-reader-${process.pid}-${Date.now()}`
  const started = Date.now()
  await t.rejects(ex.run(['yes', marker], { timeoutMs: 60_000, onStdout: () => { throw new RangeError('the reader broke') } }), { name: 'RangeError' })
  t.ok(Date.now() - started < 10_000, `failed in ${Date.now() - started} ms, not at the time limit`)
  // The remote side is this machine: the command must be gone (its pipe closed, it got EPIPE).
  let left = true
  for (let i = 0; i < 50 && left; i += 1) {
    left = spawnSync('pgrep', ['-f', marker]).status === 0 // 1: no process matched
    if (left) await new Promise((r) => setTimeout(r, 100))
  }
  t.notOk(left, 'no process of the command is left')
  t.equal((await ex.run(['true'])).code, 0, 'the connection is still good')
})

t.test('output is decoded once: a character split between the channel\'s chunks arrives whole', async (t) => {
  const ex = connect()
  const dir = mkdtempSync(join(tmpdir(), 'steward-ssh-'))
  // One byte, then two-byte characters: chunk boundaries at even offsets split them.
  const text = `a${'ë'.repeat(200_000)}\n`
  writeFileSync(join(dir, 'utf8'), text)
  const res = await ex.run(['cat', '--', join(dir, 'utf8')])
  t.equal(res.stdout.length, text.length)
  t.ok(res.stdout === text, 'the same text')
})

/** A TCP relay on loopback to the test sshd; `drop()` resets the client's side (a lost connection). */
async function relay(t: Test): Promise<{ port: number; drop: () => void }> {
  const target = parseSshUrl(sshd.url)
  const sockets: Socket[] = []
  const server = createServer((client) => {
    const upstream = createConnection({ host: target.host, port: target.port })
    client.on('error', () => undefined)
    upstream.on('error', () => undefined)
    client.pipe(upstream).pipe(client)
    sockets.push(client, upstream)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return {
    port: (server.address() as AddressInfo).port,
    drop: () => {
      for (const s of sockets) s.resetAndDestroy()
    },
  }
}

t.test('a connection lost while a command runs fails the run with ExecError; the next run connects again', async (t) => {
  const { port, drop } = await relay(t)
  const ex = createSshExecutor({ ...parseSshUrl(sshd.url), port, privateKeyPath: sshd.identity, hostKey: sshd.hostKey })
  opened.push(ex)
  t.equal((await ex.run(['true'])).code, 0)
  const err = await ex.run(['sh', '-c', 'echo ready; sleep 20'], { onStdout: () => drop() }).catch((e: unknown) => e)
  t.type(err, ExecError, 'not a result with a made-up exit status')
  t.match((err as Error).message, /connection/)
  t.equal((await ex.run(['echo', 'again'])).stdout, 'again\n', 'a new connection')
})

t.test('a connection that is closing when a command starts fails the run with ExecError, its guard cleared', async (t) => {
  const target = parseSshUrl(sshd.url)
  const ssh = new NodeSSH()
  await ssh.connect({ host: target.host, port: target.port, username: target.username, privateKey: readFileSync(sshd.identity, 'utf8') })
  t.teardown(() => ssh.dispose())
  // ssh2's end() closes the socket for writing at once; node-ssh still has the connection
  // until the socket's 'end': a new channel cannot be asked for (ssh2 throws "Not connected").
  ssh.connection?.end()
  const started = Date.now()
  const err = await runOnChannel(ssh, 'true', { guardMs: 60_000, what: 'true', label: 'test' }).catch((e: unknown) => e)
  t.type(err, ExecError)
  t.match((err as Error).message, /^cannot run true on test: Not connected/)
  t.ok(Date.now() - started < 5_000, 'at once, not at the guard')
})

/**
 * Nodes with POSIX databases of their own, for the identity tests: each is a real sshd on a
 * loopback port running in its own mount namespace, where a copy of /etc (so its own
 * passwd, group and shadow) and its own /home are bound over the host's. What the service
 * runs there over SSH (useradd, usermod, getent) changes that node only. The client key and
 * host key are the test sshd's (ops/ssh/start.sh).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createSshExecutor, type SshExecutor } from '../../src/adapters/ssh-executor.js'
import { testSshd } from './ssh.js'
import { freePort, waitListening } from './ports.js'

const script = new URL('./posix-node.sh', import.meta.url).pathname
const sshState = process.env.STEWARD_SSH_DIR ?? '/var/lib/steward-ssh'

export interface PosixNode {
  name: string
  port: number
  /** A fresh SSH executor as root (pinned to the test host key); closed by `stop`. */
  executor(): SshExecutor
  start(): Promise<void>
  /** Stops its sshd (the node is then "down"); its databases stay. */
  stop(): Promise<void>
  /** Stops it and deletes its directory. */
  remove(): Promise<void>
}

export async function createPosixNode(name: string): Promise<PosixNode> {
  const sshd = await testSshd()
  const dir = mkdtempSync(join(tmpdir(), `steward-node-${name}-`))
  cpSync('/etc', join(dir, 'etc'), { recursive: true, verbatimSymlinks: true })
  mkdirSync(join(dir, 'home'))
  const port = await freePort()
  const config = join(dir, 'sshd_config')
  writeFileSync(config, [
    'ListenAddress 127.0.0.1', `Port ${port}`, `HostKey ${sshState}/host_ed25519`, `PidFile ${dir}/sshd.pid`,
    `AuthorizedKeysFile ${sshState}/authorized_keys`, 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'AllowUsers root', 'MaxSessions 50', '',
  ].join('\n'))
  let child: ChildProcess | undefined
  const executors: SshExecutor[] = []
  const node: PosixNode = {
    name, port,
    executor() {
      const e = createSshExecutor({ host: '127.0.0.1', port, username: 'root', privateKeyPath: sshd.identity, hostKey: sshd.hostKey, readyTimeoutSeconds: 5 })
      executors.push(e)
      return e
    },
    async start() {
      await promisify(execFile)('/usr/sbin/sshd', ['-t', '-f', config])
      child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'bash', script, join(dir, 'etc'), join(dir, 'home'), config], { stdio: 'ignore' })
      await waitListening(port, `the sshd of node ${name} did not listen on ${port}`, 100, 100)
    },
    async stop() {
      for (const e of executors.splice(0)) await e.close().catch(() => undefined)
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child!.once('exit', resolve))
        child.kill('SIGTERM')
        await exited
      }
      child = undefined
    },
    async remove() {
      await node.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await node.start()
  return node
}

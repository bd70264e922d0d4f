/**
 * A login pool on this machine for integration tests: three real sshd processes on loopback
 * ports (one PAM service each, so each has its own pam_limits file), the pool's shared host
 * key installed by the service, and a real HAProxy (Debian) in front, driven through its
 * runtime socket. Users are real POSIX users; clients are the real `ssh`.
 *
 * All three "nodes" share this machine's utmp: `who` and `wall` on one see the sessions of
 * all. Each sshd sets STEWARD_NODE in its sessions, so a client can tell where it landed.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, writeFileSync, mkdirSync, rmSync, symlinkSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { createHaproxyBalancer, masterCliReload, unixSocketRuntime } from '../../src/adapters/haproxy.js'
import { desiredPools, type DesiredPool, type PoolBalancer } from '../../src/login-nodes/model.js'
import { renderHaproxyConfig } from '../../src/login-nodes/haproxy-config.js'
import { LIMITS_FILE, type LoginNodePaths } from '../../src/login-nodes/session-limits.js'
import type { LoginNodeDeps } from '../../src/login-nodes/drain.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { freePort, waitListening } from './ports.js'

const run = promisify(execFile)
export const LAB_USERS = ['sl_alice', 'sl_bob', 'sl_carol'] as const

export interface LabNode {
  node: string
  port: number
  paths: LoginNodePaths
  pidFile: string
  sshdBin: string
}

export interface LoginLab {
  base: string
  clientKey: string
  spec: ClusterSpec
  pool: DesiredPool
  pools: DesiredPool[]
  nodes: LabNode[]
  listenPort: number
  runtimeSocket: string
  configPath: string
  balancer: PoolBalancer
  deps: LoginNodeDeps
  startSshd(node: LabNode): Promise<void>
  startHaproxy(): Promise<void>
  /** Runs a command over ssh through HAProxy (or straight to `port`) from a loopback source address. */
  ssh(user: string, source: string, command: string, port?: number, tty?: boolean): Promise<{ code: number; stdout: string; stderr: string }>
  /** An interactive session held open; `output` is everything it printed so far. */
  open(user: string, source: string, port?: number): OpenSession
  stop(): Promise<void>
}

export interface OpenSession {
  child: ChildProcessWithoutNullStreams
  send(line: string): void
  output(): string
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  close(): Promise<void>
}

/** Builds the lab (users, keys, PAM services, spec); starts nothing yet. */
export async function createLoginLab(): Promise<LoginLab> {
  // HAProxy, sshd, ssh, wall and pam_limits from Debian's packages (idempotent; .ci/run runs it too).
  await run('bash', [new URL('../../ops/haproxy/install.sh', import.meta.url).pathname], { timeout: 5 * 60 * 1000 })
  const base = mkdtempSync('/tmp/steward-login-')
  // sshd reads a user's authorized keys as that user: the directories must be searchable.
  chmodSync(base, 0o755)
  mkdirSync(join(base, 'keys'))
  mkdirSync(join(base, 'bin'))
  mkdirSync('/run/sshd', { recursive: true })
  // sshd records pty logins in utmp only if the file exists; pam_limits counts them there.
  if (!existsSync('/run/utmp')) {
    writeFileSync('/run/utmp', '', { mode: 0o664 })
    await run('chgrp', ['utmp', '/run/utmp'])
  }
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(base, 'client')])
  const clientPub = readFileSync(join(base, 'client.pub'), 'utf8')
  // The service reaches login nodes as root (who, wall to every terminal).
  writeFileSync(join(base, 'keys', 'root'), clientPub, { mode: 0o644 })
  for (const user of LAB_USERS) {
    await run('id', [user]).catch(() => run('useradd', ['-m', '-s', '/bin/bash', user]))
    writeFileSync(join(base, 'keys', user), clientPub, { mode: 0o644 })
  }
  const listenPort = await freePort()
  const runtimeSocket = join(base, 'haproxy.sock')
  const ports = [await freePort(), await freePort(), await freePort()]
  const names = ['stwlogin-1', 'stwlogin-2', 'stwlogin-3']
  const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
  spec.users.push({ name: 'sl_alice', uid: 200101 }, { name: 'sl_bob', uid: 200102 }, { name: 'sl_carol', uid: 200103 })
  spec.loginNodes = {
    pools: [{
      name: 'lab', nodes: 'stwlogin-[1-3]', drainGraceMinutes: 10,
      balancer: { type: 'haproxy', listen: `127.0.0.1:${listenPort}`, runtimeSocket },
      targets: Object.fromEntries(names.map((n, i) => [n, `127.0.0.1:${ports[i]}`])),
    }],
  }
  spec.sessions = { ssh: { maxPerUser: 2, idleTimeoutMinutes: 60 }, overrides: [{ user: 'sl_alice', maxPerUser: 5 }] }
  const pools = desiredPools(spec)
  const pool = pools[0] as DesiredPool
  const nodes: LabNode[] = names.map((node, i) => {
    const dir = join(base, node)
    for (const sub of ['limits.d', 'sshd_config.d', 'profile.d', 'ssh']) mkdirSync(join(dir, sub), { recursive: true })
    const paths: LoginNodePaths = {
      limitsDir: join(dir, 'limits.d'), sshdDropInDir: join(dir, 'sshd_config.d'), profileDir: join(dir, 'profile.d'),
      pamSshd: `/etc/pam.d/sshd-${node}`, hostKeyDir: join(dir, 'ssh'), sshdConfig: join(dir, 'sshd_config'),
    }
    // sshd names its PAM service after the program it runs as: one service per node.
    const sshdBin = join(base, 'bin', `sshd-${node}`)
    symlinkSync('/usr/sbin/sshd', sshdBin)
    writeFileSync(paths.pamSshd, [
      '@include common-auth', 'account required pam_nologin.so', '@include common-account', '@include common-session',
      `session required pam_limits.so conf=${join(paths.limitsDir, LIMITS_FILE)}`, '',
    ].join('\n'))
    const pidFile = join(dir, 'sshd.pid')
    writeFileSync(paths.sshdConfig, [
      `Include ${paths.sshdDropInDir}/*.conf`,
      'ListenAddress 127.0.0.1', `Port ${ports[i]}`, `HostKey ${join(paths.hostKeyDir, 'ssh_host_ed25519_key')}`, `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${join(base, 'keys')}/%u`, 'UsePAM yes', 'StrictModes no', 'PasswordAuthentication no',
      'KbdInteractiveAuthentication no', 'PermitRootLogin prohibit-password', 'PrintMotd no', 'PrintLastLog no', `SetEnv STEWARD_NODE=${node}`,
      'MaxStartups 100:30:200', '',
    ].join('\n'))
    return { node, port: ports[i] as number, paths, pidFile, sshdBin }
  })

  // Where src/login-nodes/access.ts looks for them, so the CLI drives this HAProxy too.
  const configPath = join(base, 'haproxy-lab.cfg')
  const masterSocket = `${runtimeSocket}.master`
  const runtime = unixSocketRuntime(runtimeSocket)
  const local = createLocalExecutor()
  const balancer = createHaproxyBalancer({
    executor: local, configPath, runtime,
    render: (p, leaving) => renderHaproxyConfig({ spec, pool: p, leaving }),
    reload: masterCliReload(masterSocket, runtime),
  })
  const children: ChildProcessWithoutNullStreams[] = []

  function ssh(user: string, source: string, command: string, port = listenPort, tty = false) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('ssh', [
        ...(tty ? ['-tt'] : []), '-i', join(base, 'client'), '-p', String(port), '-b', source,
        '-o', `UserKnownHostsFile=${join(base, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlias=lab-pool',
        '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`, command,
      ], { timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
      })
    })
  }

  return {
    base, clientKey: join(base, 'client'), spec, pool, pools, nodes, listenPort, runtimeSocket, configPath, balancer,
    deps: { balancerFor: () => balancer, nodeExecutor: () => local },
    async startSshd(node) {
      await run(node.sshdBin, ['-f', node.paths.sshdConfig])
      await waitListening(node.port, `nothing listens on ${node.port}`, 100, 50)
    },
    async startHaproxy() {
      writeFileSync(configPath, renderHaproxyConfig({ spec, pool }))
      await run('haproxy', ['-c', '-q', '-f', configPath])
      await run('haproxy', ['-W', '-S', masterSocket, '-f', configPath, '-p', join(base, 'haproxy.pid'), '-D'])
      await waitListening(listenPort, `nothing listens on ${listenPort}`, 100, 50)
    },
    ssh,
    open(user, source, port = listenPort) {
      const child = spawn('ssh', [
        '-tt', '-i', join(base, 'client'), '-p', String(port), '-b', source,
        '-o', `UserKnownHostsFile=${join(base, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'HostKeyAlias=lab-pool',
        '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`,
      ])
      children.push(child)
      let out = ''
      child.stdout.on('data', (c: Buffer) => { out += c.toString('utf8') })
      child.stderr.on('data', (c: Buffer) => { out += c.toString('utf8') })
      return {
        child,
        send: (line) => child.stdin.write(`${line}\n`),
        output: () => out,
        async waitFor(pattern, timeoutMs = 10_000) {
          const until = Date.now() + timeoutMs
          while (Date.now() < until) {
            const m = out.match(pattern)
            if (m) return m
            if (child.exitCode !== null) break
            await new Promise((r) => setTimeout(r, 50))
          }
          throw new Error(`no ${pattern} in the session's output: ${JSON.stringify(out.slice(-500))}`)
        },
        async close() {
          if (child.exitCode !== null) return
          child.stdin.end('exit\n')
          await new Promise((r) => { child.once('exit', r); setTimeout(r, 3000) })
          if (child.exitCode === null) child.kill()
        },
      }
    },
    async stop() {
      for (const c of children) if (c.exitCode === null) c.kill()
      for (const pidFile of [...nodes.map((n) => n.pidFile), join(base, 'haproxy.pid')]) {
        try {
          process.kill(Number(readFileSync(pidFile, 'utf8').trim()))
        } catch {
          // never started, or already gone
        }
      }
      for (const n of nodes) rmSync(n.paths.pamSshd, { force: true })
      rmSync(base, { recursive: true, force: true })
    },
  }
}

/**
 * The Executor over SSH (node-ssh) for a remote Slurm controller. The controller's host
 * key must match a pinned SHA256 fingerprint (as `ssh-keygen -lf` prints it), or the
 * connection is refused. Commands are argv arrays quoted by `quoteArgv`, the only
 * quoting function, and run with `LC_ALL=C`; nothing depends on the text of a remote
 * error message.
 *
 * One connection carries everything. sshd starts every exec channel (and an external
 * sftp-server) through the user's shell, whose start-up (a ~/.bashrc with conda or
 * environment modules) can cost half a second, so the executor pays it as seldom as it
 * can: file work (read, write, fsync, rename, remove) goes through one SFTP session kept
 * open for the connection's life, and commands run on concurrent channels of the one
 * connection, at most `maxChannels` at a time. A server without SFTP gets the same file
 * work as commands.
 *
 * Files are written through a temporary name, synced (fsync@openssh.com on the file, then
 * on its directory after a posix-rename@openssh.com; without those extensions `dd
 * conv=fsync`, `mv` and `sync`) and renamed into place, so a power loss leaves the old
 * file or the new one, never an empty or truncated one.
 */
import { readFile } from 'node:fs/promises'
import { createHash, randomBytes } from 'node:crypto'
import { basename, dirname, posix } from 'node:path'
import { NodeSSH } from 'node-ssh'
import { ExecError, type ExecOptions, type ExecResult, type Executor } from './executor.js'
import { openSftp, type Sftp } from './sftp.js'
import { runOnChannel, type ChannelResult } from './ssh-channel.js'
import { batchCommandLine, parseBatchOutput } from './batch.js'
import { createLimiter } from './limiter.js'
import { quoteArgv } from './shell-quote.js'
import { HOST_KEY_RE } from '../spec/names.js'

export interface SshTarget {
  host: string
  port: number
  username: string
  privateKeyPath: string
  /**
   * The pinned fingerprint of the host's key, `SHA256:` and 43 base64 characters; or
   * several, any of which is accepted (a login node before and after it gets its pool's
   * shared key). Never empty: there is no trust on first use.
   */
  hostKey: string | readonly string[]
  /** Environment for every command (e.g. SLURM_CONF), passed with `env`, never a shell. */
  env?: Record<string, string>
  /** Seconds to wait for the connection. */
  readyTimeoutSeconds?: number
  /** Channels open at once on the connection, the SFTP session included (default 8; sshd's MaxSessions defaults to 10). */
  maxChannels?: number
}

export interface SshExecutor extends Executor {
  runAll(commands: readonly (readonly string[])[], options?: Omit<ExecOptions, 'input'>): Promise<ExecResult[]>
  rename(from: string, to: string): Promise<void>
  remove(paths: readonly string[]): Promise<void>
  close(): Promise<void>
}

/** Parses `ssh://user@host[:port]` (the CLI's `--controller`). */
export function parseSshUrl(url: string): { username: string; host: string; port: number } {
  const match = /^ssh:\/\/([a-z_][a-z0-9_-]{0,31})@([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(url)
  if (!match) throw new ExecError(`"${url}" is not ssh://user@host[:port]`)
  const port = Number(match[3] ?? 22)
  if (port < 1 || port > 65_535) throw new ExecError(`bad port in "${url}"`)
  return { username: match[1] as string, host: (match[2] as string).replace(/^\[|\]$/g, ''), port }
}

/** What a host key fingerprint looks like: `ssh-keygen -lf` output's second field. */
export const HOST_KEY_PATTERN = HOST_KEY_RE.source

/** Thrown when the controller's host key is not the pinned one. */
export class HostKeyMismatchError extends ExecError {
  override name = 'HostKeyMismatchError'
}

/** The SHA256 fingerprint of a host key blob, as OpenSSH prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=$/, '')}` // 32 bytes: 43 characters and one '=' of padding
}

/** The fingerprint of an OpenSSH public key line (`ssh-ed25519 AAAA... comment`). */
export function publicKeyFingerprint(line: string): string {
  const blob = line.trim().split(/\s+/)[1]
  if (!blob) throw new ExecError('not an OpenSSH public key line')
  return hostKeyFingerprint(Buffer.from(blob, 'base64'))
}

/** Checks a pinned fingerprint's form; throws `ExecError` saying what is expected. */
export function checkHostKey(hostKey: string): string {
  if (!HOST_KEY_RE.test(hostKey)) {
    throw new ExecError(`"${hostKey}" is not a host key fingerprint: give SHA256:... as \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` prints it on the controller`)
  }
  return hostKey
}

/** The remote commands that write `path` through `temp`: synced data, mode, rename, synced rename. */
export function remoteWriteSteps(temp: string, path: string, mode: number): string[][] {
  return [
    ['dd', `of=${temp}`, 'status=none', 'conv=fsync'],
    ['chmod', mode.toString(8), temp],
    ['mv', '-f', '--', temp, path],
    // The new file's inode (its mode) and the directory entry of the rename reach the disk.
    ['sync', '--', path, dirname(path)],
  ]
}

/** Commands per batch session (they run concurrently on the controller). */
const BATCH = 16

export function createSshExecutor(target: SshTarget): SshExecutor {
  const ssh = new NodeSSH()
  let connecting: Promise<NodeSSH> | undefined
  const pinned = (typeof target.hostKey === 'string' ? [target.hostKey] : [...target.hostKey]).map(checkHostKey)
  if (pinned.length === 0) throw new ExecError(`no host key is pinned for ${target.host}: give its SHA256 fingerprint (ssh-keygen -lf on that host)`)
  const hostKey = pinned.join(' or ')
  // The C locale on the controller: stable output and messages whatever its default.
  const envPrefix = ['LC_ALL=C', ...Object.entries(target.env ?? {}).map(([k, v]) => `${k}=${v}`)]
  const label = `ssh://${target.username}@${target.host}:${target.port}`
  // One channel stays for the SFTP session.
  const limit = createLimiter(Math.max(1, (target.maxChannels ?? 8) - 1))
  // The connection's SFTP session (undefined: the server has none), opened on first use.
  let sftpSession: { conn: NodeSSH; session: Promise<Sftp | undefined> } | undefined

  async function connection(): Promise<NodeSSH> {
    if (ssh.isConnected()) return ssh
    connecting ??= (async () => {
      let offered: string | undefined
      try {
        await ssh.connect({
          host: target.host, port: target.port, username: target.username,
          privateKey: await readFile(target.privateKeyPath, 'utf8'),
          readyTimeout: (target.readyTimeoutSeconds ?? 20) * 1000,
          hostVerifier: (key: Buffer) => {
            offered = hostKeyFingerprint(key)
            return pinned.includes(offered)
          },
        })
        // node-ssh stops listening for errors once connected: an error of the connection
        // (a reset) would then be thrown from the socket and end the process. The 'close'
        // that follows fails the commands still running (src/adapters/ssh-channel.ts) and
        // the next command connects again.
        ssh.connection?.on('error', () => undefined)
        return ssh
      } catch (err) {
        if (offered !== undefined && !pinned.includes(offered)) {
          throw new HostKeyMismatchError(`refusing ${label}: its host key is ${offered}, not the pinned ${hostKey}; if the controller's key really changed, pin the new one (ssh-keygen -lf on the controller)`, { cause: err })
        }
        throw new ExecError(`cannot connect to ${label}: ${(err as Error).message}`, { cause: err })
      } finally {
        connecting = undefined
      }
    })()
    return connecting
  }

  /** The SFTP session of the current connection, or undefined when the server offers none. */
  async function sftp(): Promise<Sftp | undefined> {
    const conn = await connection()
    if (sftpSession?.conn !== conn) {
      const session = openSftp(conn, label).catch(() => undefined)
      sftpSession = { conn, session }
    }
    return sftpSession.session
  }

  /** The remote argv of a command: the remote side enforces the time limit too (coreutils timeout, then SIGKILL), so a hung command does not outlive its caller and hold a channel. */
  function remoteArgv(argv: readonly string[], timeoutMs: number): string[] {
    return ['timeout', '--kill-after=10', String(Math.max(1, Math.ceil(timeoutMs / 1000))), 'env', ...envPrefix, ...argv]
  }

  /** Runs a command line on one channel with a local guard; stdout as bytes, or only to `onStdout` when given. */
  async function execLine(command: string, what: string, timeoutMs: number, input?: string, onStdout?: (chunk: Buffer) => void): Promise<ChannelResult> {
    return runOnChannel(await connection(), command, { input, onStdout, guardMs: timeoutMs + 15_000, what, label })
  }

  /** A command's result. */
  async function exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? 120_000
    const res = await execLine(quoteArgv(remoteArgv(argv, timeoutMs)), String(argv[0]), timeoutMs, options.input, options.onStdout)
    if (res.code === 124 || res.code === 137) throw new ExecError(`${argv[0]} on ${label} timed out after ${timeoutMs} ms`)
    return { argv, code: res.code ?? 255, stdout: res.stdout.toString('utf8'), stderr: res.stderr }
  }

  /** Commands in one session (src/adapters/batch.ts), each result as if run alone. */
  async function batch(commands: readonly (readonly string[])[], options: Omit<ExecOptions, 'input'>): Promise<ExecResult[]> {
    const timeoutMs = options.timeoutMs ?? 120_000
    const res = await execLine(batchCommandLine(commands.map((argv) => remoteArgv(argv, timeoutMs))), `a batch of ${commands.length} commands`, timeoutMs)
    if (res.code !== 0) throw new ExecError(`a batch of ${commands.length} commands on ${label} failed (exit ${res.code ?? 'none'}): ${res.stderr.trim()}`)
    return parseBatchOutput(res.stdout, commands.length).map((r, i) => {
      const argv = commands[i] as readonly string[]
      if (r.code === 124 || r.code === 137) throw new ExecError(`${argv[0]} on ${label} timed out after ${timeoutMs} ms`)
      return { argv, ...r }
    })
  }

  /** The command-line way to write a file, for a server without SFTP. */
  async function writeByCommands(path: string, content: string, mode: number): Promise<void> {
    const temp = posix.join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
    for (const [i, argv] of remoteWriteSteps(temp, path, mode).entries()) {
      const res = await executor.run(argv, i === 0 ? { input: content } : {})
      if (res.code !== 0) {
        await executor.run(['rm', '-f', '--', temp]).catch(() => undefined)
        throw new ExecError(`cannot write ${path} on ${label}: ${res.stderr.trim()}`)
      }
    }
  }

  /** Runs a command that must succeed; throws `ExecError` with what it printed. */
  async function must(argv: string[], what: string): Promise<void> {
    const res = await executor.run(argv)
    if (res.code !== 0) throw new ExecError(`cannot ${what} on ${label}: ${argv[0]} exited ${res.code}: ${res.stderr.trim()}`)
  }

  const executor: SshExecutor = {
    target: label,
    run(argv, options: ExecOptions = {}): Promise<ExecResult> {
      return limit(() => exec(argv, options))
    },
    async runAll(commands, options = {}) {
      if (commands.length === 0) return []
      if (commands.length === 1) return [await executor.run(commands[0] as readonly string[], options)]
      // At most BATCH commands run at once on the controller, one session per batch.
      const batches: Array<readonly (readonly string[])[]> = []
      for (let i = 0; i < commands.length; i += BATCH) batches.push(commands.slice(i, i + BATCH))
      return (await Promise.all(batches.map((b) => limit(() => batch(b, options))))).flat()
    },
    async readFile(path) {
      const session = await sftp()
      if (session) return session.readText(path)
      const res = await executor.run(['cat', '--', path])
      if (res.code === 0) return res.stdout
      // Told by exit status, not by the text of cat's message: test exits 1 when it is absent.
      const exists = await executor.run(['test', '-e', path])
      if (exists.code === 1) return undefined
      throw new ExecError(`cannot read ${path} on ${label}: cat exited ${res.code}: ${res.stderr.trim()}`)
    },
    async writeFileAtomic(path, content, mode = 0o644) {
      const session = await sftp()
      if (!session) return writeByCommands(path, content, mode)
      const temp = posix.join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
      try {
        const synced = await session.writeSynced(temp, content, mode)
        await executor.rename(temp, path)
        // The new name reaches the disk (and, without fsync@openssh.com, the file's data).
        if (!synced || !(await session.syncDirectory(dirname(path)))) await must(['sync', '--', path, dirname(path)], `sync ${path}`)
      } catch (err) {
        await session.remove(temp).catch(() => undefined)
        throw err instanceof ExecError ? err : new ExecError(`cannot write ${path} on ${label}: ${(err as Error).message}`, { cause: err })
      }
    },
    async rename(from, to) {
      const session = await sftp()
      if (session && (await session.rename(from, to))) return
      await must(['mv', '-f', '--', from, to], `rename ${from} to ${to}`)
    },
    async remove(paths) {
      if (paths.length === 0) return
      const session = await sftp()
      if (session) {
        await Promise.all(paths.map((p) => session.remove(p)))
        return
      }
      await must(['rm', '-f', '--', ...paths], `remove ${paths.join(' ')}`)
    },
    async close() {
      sftpSession = undefined
      ssh.dispose()
    },
  }
  return executor
}

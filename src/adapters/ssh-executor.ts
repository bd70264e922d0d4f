/**
 * The Executor over SSH (node-ssh) for a remote Slurm controller. Commands are argv
 * arrays quoted by `quoteArgv`, the only quoting function; files are written through a
 * temporary name and renamed into place, like the local executor.
 */
import { readFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, dirname, posix } from 'node:path'
import { NodeSSH } from 'node-ssh'
import { ExecError, type ExecOptions, type ExecResult, type Executor } from './executor.js'
import { quoteArgv } from './shell-quote.js'

export interface SshTarget {
  host: string
  port: number
  username: string
  privateKeyPath: string
  /** Environment for every command (e.g. SLURM_CONF), passed with `env`, never a shell. */
  env?: Record<string, string>
  /** Seconds to wait for the connection. */
  readyTimeoutSeconds?: number
}

export interface SshExecutor extends Executor {
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

export function createSshExecutor(target: SshTarget): SshExecutor {
  const ssh = new NodeSSH()
  let connecting: Promise<NodeSSH> | undefined
  const envPrefix = Object.entries(target.env ?? {}).map(([k, v]) => `${k}=${v}`)
  const label = `ssh://${target.username}@${target.host}:${target.port}`

  async function connection(): Promise<NodeSSH> {
    if (ssh.isConnected()) return ssh
    connecting ??= (async () => {
      try {
        return await ssh.connect({
          host: target.host, port: target.port, username: target.username,
          privateKey: await readFile(target.privateKeyPath, 'utf8'),
          readyTimeout: (target.readyTimeoutSeconds ?? 20) * 1000,
        })
      } catch (err) {
        throw new ExecError(`cannot connect to ${label}: ${(err as Error).message}`, { cause: err })
      } finally {
        connecting = undefined
      }
    })()
    return connecting
  }

  const executor: SshExecutor = {
    target: label,
    async run(argv, options: ExecOptions = {}): Promise<ExecResult> {
      const conn = await connection()
      const timeoutMs = options.timeoutMs ?? 120_000
      // The remote side enforces the limit too (coreutils timeout, then SIGKILL), so a hung
      // command does not outlive its caller and hold an SSH channel.
      const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)))
      const remote = ['timeout', '--kill-after=10', seconds, ...(envPrefix.length > 0 ? ['env', ...envPrefix] : []), ...argv]
      const command = quoteArgv(remote)
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ExecError(`${argv[0]} on ${label} timed out after ${timeoutMs} ms`)), timeoutMs + 15_000)
      })
      try {
        const res = await Promise.race([conn.execCommand(command, { stdin: options.input, noTrim: true }), timeout])
        if (res.code === 124 || res.code === 137) throw new ExecError(`${argv[0]} on ${label} timed out after ${timeoutMs} ms`)
        return { argv, code: res.code ?? 255, stdout: res.stdout, stderr: res.stderr }
      } finally {
        clearTimeout(timer)
      }
    },
    async readFile(path) {
      const res = await executor.run(['cat', '--', path])
      if (res.code !== 0) {
        if (/No such file/.test(res.stderr)) return undefined
        throw new ExecError(`cannot read ${path} on ${label}: ${res.stderr.trim()}`)
      }
      return res.stdout
    },
    async writeFileAtomic(path, content, mode = 0o644) {
      const temp = posix.join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
      const steps: string[][] = [['dd', `of=${temp}`, 'status=none'], ['chmod', mode.toString(8), temp], ['mv', '-f', '--', temp, path]]
      for (const [i, argv] of steps.entries()) {
        const res = await executor.run(argv, i === 0 ? { input: content } : {})
        if (res.code !== 0) {
          await executor.run(['rm', '-f', '--', temp]).catch(() => undefined)
          throw new ExecError(`cannot write ${path} on ${label}: ${res.stderr.trim()}`)
        }
      }
    },
    async close() {
      ssh.dispose()
    },
  }
  return executor
}

/**
 * Processes of the sandbox: pid files, whether a pid still is *our* daemon (not a reused
 * pid, not another sandbox's daemon of the same name), stopping one, starting a
 * foreground daemon detached, waiting with a bounded timeout, and log tails for errors.
 */
import { spawn } from 'node:child_process'
import { open, readFile, readlink, realpath, rm } from 'node:fs/promises'
import { constants as fsConstants, accessSync } from 'node:fs'
import { createConnection } from 'node:net'
import { delimiter, join } from 'node:path'

/** The pid in a pid file, or undefined when it is missing or unreadable. */
export async function readPidFile(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined)
  const pid = Number.parseInt(text?.trim() ?? '', 10)
  return Number.isInteger(pid) && pid > 1 ? pid : undefined
}

/** What the sandbox knows that identifies one of its daemons. */
export interface Identity {
  /** Executables the process may be (real paths; a package may ship `slurmd` as a link). */
  executables: readonly string[]
  /** Arguments that must all be in the command line, or, prefixed `env:`, variables (`NAME=value`) in the environment. */
  marks: readonly string[]
}

/** Reads NUL-separated /proc text (cmdline, environ). */
async function procList(pid: number, file: string): Promise<string[] | undefined> {
  const text = await readFile(`/proc/${pid}/${file}`, 'utf8').catch(() => undefined)
  return text?.split('\0').filter((s) => s !== '')
}

/** Whether `pid` runs and is not a zombie. */
export async function pidRuns(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  if (stat === undefined) return false
  // The state letter follows the parenthesised command name, which may hold spaces.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  return state !== 'Z' && state !== 'X'
}

/** Whether `pid` is a live process that matches `identity`. */
export async function isOurs(pid: number, identity: Identity): Promise<boolean> {
  if (!(await pidRuns(pid))) return false
  const exe = (await readlink(`/proc/${pid}/exe`).catch(() => ''))?.replace(/ \(deleted\)$/, '')
  if (!identity.executables.includes(exe)) return false
  const argv = (await procList(pid, 'cmdline')) ?? []
  const env = (await procList(pid, 'environ')) ?? []
  return identity.marks.every((mark) => (mark.startsWith('env:') ? env.includes(mark.slice(4)) : argv.includes(mark)))
}

/** The live pid of a daemon from its pid file, or undefined (missing, dead, or not ours). */
export async function ourPid(pidFile: string, identity: Identity): Promise<number | undefined> {
  const pid = await readPidFile(pidFile)
  return pid !== undefined && (await isOurs(pid, identity)) ? pid : undefined
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Thrown when a wait runs out of time. */
export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError'
}

/** Thrown by a wait whose process died: waiting longer cannot help. */
export class ProcessExitedError extends Error {
  override name = 'ProcessExitedError'
}

export interface WaitOptions {
  intervalMs?: number
  /** Checked on every round; when it says false the wait fails at once. */
  alive?: () => Promise<boolean>
}

/**
 * Calls `probe` every `intervalMs` until it returns something other than undefined or
 * false, and returns that; throws `WaitTimeoutError` after `timeoutMs`. A probe that
 * throws counts as "not yet"; the last error is the timeout's cause.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, options: WaitOptions | number = {}): Promise<T> {
  const { intervalMs = 200, alive } = typeof options === 'number' ? { intervalMs: options } : options
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      lastError = err
    }
    if (alive && !(await alive())) throw new ProcessExitedError(`the process exited while waiting for ${what}`)
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`, lastError ? { cause: lastError } : undefined)
    }
    await sleep(intervalMs)
  }
}

/** Sends SIGTERM, waits up to `graceMs`, then SIGKILL; resolves once the process is gone. */
export async function stopPid(pid: number, graceMs = 15_000): Promise<'stopped' | 'killed' | 'gone'> {
  if (!(await pidRuns(pid))) return 'gone'
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return 'gone'
  }
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (!(await pidRuns(pid))) return 'stopped'
    await sleep(100)
  }
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    return 'stopped'
  }
  await waitFor(`pid ${pid} to exit after SIGKILL`, async () => !(await pidRuns(pid)), 5_000, 50)
  return 'killed'
}

/** Stops the daemon in a pid file if it is ours, and removes the pid file. */
export async function stopDaemon(pidFile: string, identity: Identity, graceMs?: number): Promise<{ pid?: number; result: 'stopped' | 'killed' | 'gone' }> {
  const pid = await ourPid(pidFile, identity)
  const result = pid === undefined ? 'gone' : await stopPid(pid, graceMs)
  await rm(pidFile, { force: true })
  return pid === undefined ? { result } : { pid, result }
}

/**
 * Starts a daemon that stays in the foreground (MariaDB) in its own session, its output
 * appended to `logFile`, and returns its pid without waiting for it.
 */
export async function spawnDetached(argv: readonly string[], logFile: string, env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = argv
  if (!file) throw new Error('empty argv')
  const out = await open(logFile, 'a')
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', out.fd, out.fd], env })
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject)
      child.once('spawn', () => resolve(child.pid as number))
    })
    child.unref()
    return pid
  } finally {
    await out.close()
  }
}

/**
 * Runs a daemon that forks into the background (munged, slurmdbd, slurmctld, slurmd) and
 * waits for the foreground process to exit, not for its output pipes to close (the
 * daemon may keep them): its stdout and stderr go to `outFile`. Returns the exit code.
 */
export async function runDaemonizing(argv: readonly string[], outFile: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<number> {
  const [file, ...args] = argv
  if (!file) throw new Error('empty argv')
  const out = await open(outFile, 'a')
  try {
    const child = spawn(file, args, { stdio: ['ignore', out.fd, out.fd], env })
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new WaitTimeoutError(`${file} did not go into the background within ${Math.round(timeoutMs / 1000)} s`))
      }, timeoutMs)
      child.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        resolve(code ?? (signal ? 128 : 1))
      })
    })
  } finally {
    await out.close()
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function tcpOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** The last `lines` lines of a log file ('' when it does not exist). */
export async function logTail(path: string, lines = 25): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '')
  return text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1).slice(-lines).join('\n')
}

/** Directories searched for daemons and tools, besides PATH (sbin is often not in a user's PATH). */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']

/** The absolute path of an executable, or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const dirs = [...path.split(delimiter).filter((d) => d.startsWith('/')), ...SYSTEM_DIRS]
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** The real path of an executable (what /proc/<pid>/exe shows for a process running it). */
export async function executableIdentity(path: string): Promise<string> {
  return realpath(path)
}

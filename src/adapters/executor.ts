/**
 * The Executor: how domain code reaches a Slurm controller. It runs an argv (never a
 * shell string) and reads/writes files atomically. The local implementation serves the
 * sandbox; an SSH implementation (node-ssh) serves remote controllers.
 */
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** The outcome of one command. A non-zero exit is a result, not an exception. */
export interface ExecResult {
  argv: readonly string[]
  code: number
  stdout: string
  stderr: string
}

export interface ExecOptions {
  /** Text written to the command's standard input. */
  input?: string
  /** Milliseconds before the command is killed (default 120 s). */
  timeoutMs?: number
  /**
   * Standard output as it arrives, in bytes (a large output is then never held whole); the
   * result's `stdout` is then empty. An executor that cannot stream ignores it and returns
   * the output in `stdout` as usual.
   */
  onStdout?: (chunk: Buffer) => void
}

export interface Executor {
  /** A short description for logs and messages, e.g. `local` or `ssh://slurm@head-1:22`. */
  readonly target: string
  run(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>
  readFile(path: string): Promise<string | undefined>
  /** Writes through a temporary name in the same directory, then renames into place. */
  writeFileAtomic(path: string, content: string, mode?: number): Promise<void>
  /** Renames `from` over `to` atomically; without it, `renameFile` runs `mv`. */
  rename?(from: string, to: string): Promise<void>
  /** Removes files, missing ones included; without it, `removeFiles` runs `rm -f`. */
  remove?(paths: readonly string[]): Promise<void>
  /** Runs independent commands together (over SSH: in one session); without it, `runAll` runs them concurrently. */
  runAll?(commands: readonly (readonly string[])[], options?: Omit<ExecOptions, 'input'>): Promise<ExecResult[]>
}

/** Runs independent commands together, each result in order: the executor's batch when it has one. */
export function runAll(executor: Executor, commands: readonly (readonly string[])[], options: Omit<ExecOptions, 'input'> = {}): Promise<ExecResult[]> {
  if (commands.length === 0) return Promise.resolve([])
  if (executor.runAll) return executor.runAll(commands, options)
  return Promise.all(commands.map((argv) => executor.run(argv, options)))
}

/** Thrown when a command could not be started at all (missing binary, timeout). */
export class ExecError extends Error {
  override name = 'ExecError'
}

/** Thrown when a file operation through an Executor fails. */
export class FileOpError extends Error {
  override name = 'FileOpError'
}

/** Renames on `executor`: its own rename when it has one (SFTP, fs), else `mv -f`. */
export async function renameFile(executor: Executor, from: string, to: string): Promise<void> {
  if (executor.rename) return executor.rename(from, to)
  const res = await executor.run(['mv', '-f', '--', from, to])
  if (res.code !== 0) throw new FileOpError(`mv ${from} ${to} failed on ${executor.target}: ${res.stderr.trim() || `exit ${res.code}`}`)
}

/** Removes files on `executor` (missing ones are fine): its own remove when it has one, else `rm -f`. */
export async function removeFiles(executor: Executor, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return
  if (executor.remove) return executor.remove(paths)
  const res = await executor.run(['rm', '-f', '--', ...paths])
  if (res.code !== 0) throw new FileOpError(`rm ${paths.join(' ')} failed on ${executor.target}: ${res.stderr.trim() || `exit ${res.code}`}`)
}

/** Most of a streamed command's standard error kept for its result. */
const MAX_STDERR = 1024 * 1024

/** Runs `argv` with `spawn`, its standard output to `onStdout` as it arrives. */
function runStreaming(argv: readonly string[], env: NodeJS.ProcessEnv, options: ExecOptions, onStdout: (chunk: Buffer) => void): Promise<ExecResult> {
  const [file, ...args] = argv as [string, ...string[]]
  const timeoutMs = options.timeoutMs ?? 120_000
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    const stderr: Buffer[] = []
    let stderrBytes = 0
    let failed: Error | undefined
    const timer = setTimeout(() => {
      failed ??= new ExecError(`${file} timed out after ${timeoutMs} ms`)
      child.kill('SIGKILL')
    }, timeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      if (failed) return
      try {
        onStdout(chunk)
      } catch (err) {
        // What reads the output failed: the command is stopped and the error is the caller's.
        failed = err as Error
        child.kill('SIGKILL')
      }
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      if (stderrBytes < MAX_STDERR) stderr.push(chunk)
      stderrBytes += chunk.length
    })
    child.on('error', (err: NodeJS.ErrnoException) => {
      failed ??= new ExecError(`cannot run ${file}: ${err.code ?? err.message}`, { cause: err })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (failed) return reject(failed)
      resolve({ argv, code: code ?? 1, stdout: '', stderr: Buffer.concat(stderr).toString('utf8') })
    })
    if (options.input !== undefined) {
      child.stdin?.on('error', () => undefined)
      child.stdin?.end(options.input)
    }
  })
}

/** Runs commands on this machine with `execFile`, with an optional extra environment. */
export function createLocalExecutor(env: Record<string, string> = {}): Executor {
  return {
    target: 'local',
    run(argv, options = {}) {
      const [file, ...args] = argv
      if (!file) return Promise.reject(new ExecError('empty argv'))
      if (options.onStdout) return runStreaming(argv, { ...process.env, ...env }, options, options.onStdout)
      return new Promise((resolve, reject) => {
        const child = execFile(file, args, {
          env: { ...process.env, ...env },
          timeout: options.timeoutMs ?? 120_000,
          maxBuffer: 256 * 1024 * 1024,
          encoding: 'utf8',
        }, (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null
          if (e && typeof e.code === 'string') return reject(new ExecError(`cannot run ${file}: ${e.code}`, { cause: err }))
          if (e?.killed) return reject(new ExecError(`${file} timed out after ${options.timeoutMs ?? 120_000} ms`, { cause: err }))
          resolve({ argv, code: e ? Number(e.code ?? 1) : 0, stdout, stderr })
        })
        if (options.input !== undefined) {
          // A command that exits without reading its input closes the pipe: not an error of ours.
          child.stdin?.on('error', () => undefined)
          child.stdin?.end(options.input)
        }
      })
    },
    async readFile(path) {
      return readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined
        throw err
      })
    },
    async writeFileAtomic(path, content, mode = 0o644) {
      const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
      try {
        await writeFile(temp, content, { mode, flush: true })
        await rename(temp, path)
      } finally {
        await rm(temp, { force: true })
      }
    },
    async rename(from, to) {
      await rename(from, to)
    },
    async remove(paths) {
      await Promise.all(paths.map((p) => unlink(p).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err
      })))
    },
  }
}

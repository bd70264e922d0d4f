/**
 * The Executor: how domain code reaches a Slurm controller. It runs an argv (never a
 * shell string) and reads/writes files atomically. The local implementation serves the
 * sandbox; an SSH implementation (node-ssh) serves remote controllers.
 */
import { spawn } from 'node:child_process'
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

/** Most of a command's standard error kept for its result. */
const MAX_STDERR = 1024 * 1024
/** Most standard output a command may write when it is kept whole (not streamed). */
const MAX_STDOUT = 256 * 1024 * 1024
/** After the time limit's SIGTERM, how long a command has before SIGKILL. */
const KILL_GRACE_MS = 5_000

/**
 * Where a command's output goes, locally or over SSH: standard output to the caller's
 * `onStdout` as it arrives, or kept (at most `MAX_STDOUT`) to be decoded once at the end;
 * standard error kept up to `MAX_STDERR`.
 */
export class CommandOutput {
  private readonly out: Buffer[] = []
  private outBytes = 0
  private readonly err: Buffer[] = []
  private errBytes = 0

  constructor(private readonly what: string, private readonly onStdout?: (chunk: Buffer) => void) {}

  /** A chunk of standard output; the error that must stop the command, if any (the reader threw, or too much output). */
  stdout(chunk: Buffer): Error | undefined {
    if (this.onStdout) {
      try {
        this.onStdout(chunk)
      } catch (err) {
        return err as Error
      }
      return undefined
    }
    this.outBytes += chunk.length
    if (this.outBytes > MAX_STDOUT) return new ExecError(`${this.what} wrote more than ${MAX_STDOUT} bytes of output`)
    this.out.push(chunk)
    return undefined
  }

  stderr(chunk: Buffer): void {
    if (this.errBytes < MAX_STDERR) this.err.push(chunk)
    this.errBytes += chunk.length
  }

  /** The standard output kept (empty when it went to `onStdout`). */
  stdoutBytes(): Buffer {
    return Buffer.concat(this.out)
  }

  stderrText(): string {
    return Buffer.concat(this.err).toString('utf8')
  }
}

/**
 * Runs `argv` with `spawn` (no shell). Standard output goes to `onStdout` as it arrives,
 * or is kept and decoded once at the end; standard error is kept (its first MiB).
 */
function runCommand(argv: readonly string[], env: NodeJS.ProcessEnv, options: ExecOptions): Promise<ExecResult> {
  const [file, ...args] = argv as [string, ...string[]]
  const timeoutMs = options.timeoutMs ?? 120_000
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    const output = new CommandOutput(file, options.onStdout)
    let failed: Error | undefined
    let kill: NodeJS.Timeout | undefined
    /**
     * Stops the command: SIGTERM, then SIGKILL if it is still there after the grace. Its
     * output pipes are dropped (as execFile did), so a background child that keeps them
     * open does not hold 'close' once the command itself has exited.
     */
    const stop = (err: Error) => {
      failed ??= err
      child.stdout?.destroy()
      child.stderr?.destroy()
      child.kill('SIGTERM')
      kill ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
    }
    const timer = setTimeout(() => stop(new ExecError(`${file} timed out after ${timeoutMs} ms`)), timeoutMs)
    child.stdout?.on('data', (chunk: Buffer) => {
      if (failed) return
      // A reader that failed, or too much output: the command is stopped and the error is the caller's.
      const stopWith = output.stdout(chunk)
      if (stopWith) stop(stopWith)
    })
    child.stderr?.on('data', (chunk: Buffer) => output.stderr(chunk))
    child.on('error', (err: NodeJS.ErrnoException) => {
      failed ??= new ExecError(`cannot run ${file}: ${err.code ?? err.message}`, { cause: err })
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      clearTimeout(kill)
      if (failed) return reject(failed)
      resolve({ argv, code: code ?? 1, stdout: output.stdoutBytes().toString('utf8'), stderr: output.stderrText() })
    })
    if (options.input !== undefined) {
      // A command that exits without reading its input closes the pipe: not an error of ours.
      child.stdin?.on('error', () => undefined)
      child.stdin?.end(options.input)
    }
  })
}

/** Runs commands on this machine with `spawn`, with an optional extra environment. */
export function createLocalExecutor(env: Record<string, string> = {}): Executor {
  return {
    target: 'local',
    run(argv, options = {}) {
      if (!argv[0]) return Promise.reject(new ExecError('empty argv'))
      return runCommand(argv, { ...process.env, ...env }, options)
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

/**
 * One command on one exec channel of an ssh2 connection (the one node-ssh opened), read as
 * bytes. node-ssh's `execCommand` keeps its own text copy of the whole output until the
 * command ends, decodes each chunk on its own (a character split between chunks is lost)
 * and gives no way to stop the command; here the output goes to the caller as it comes,
 * is decoded once, and the channel is closed when the caller's reader fails or the local
 * guard runs out, so the remote command loses its output pipe: one still writing (sacct
 * with a page to go) gets EPIPE and ends. One that writes nothing more runs on until the
 * remote time limit (`timeout` in the command line) ends it: no signal is sent, since
 * ssh2 sends none on a channel whose input is closed and OpenSSH refuses them for root.
 */
import type { NodeSSH } from 'node-ssh'
import { CommandOutput, ExecError } from './executor.js'

/** The part of ssh2's ClientChannel used here (ssh2 ships no types). */
interface Channel {
  on(event: 'data', listener: (chunk: Buffer) => void): void
  on(event: 'exit', listener: (code: number | null, signal?: string) => void): void
  on(event: 'close', listener: () => void): void
  on(event: 'error', listener: (err: Error) => void): void
  stderr: { on(event: 'data', listener: (chunk: Buffer) => void): void }
  end(data?: string): void
  close(): void
}

/** The part of ssh2's Client used here. */
interface Client {
  exec(command: string, options: object, cb: (err: Error | undefined, channel: Channel) => void): void
}

export interface ChannelResult {
  /** The exit status; null when the command ended without one (a signal, a lost connection). */
  code: number | null
  /** Standard output, when no `onStdout` took it. */
  stdout: Buffer
  stderr: string
}

export interface ChannelOptions {
  /** Text for the command's standard input (it is closed after). */
  input?: string
  /** Standard output as it arrives; what it throws stops the command and is the call's error. Without it, at most 256 MiB is kept. */
  onStdout?: (chunk: Buffer) => void
  /** Milliseconds before the channel is closed and the call fails (the remote side should have its own limit first). */
  guardMs: number
  /** What the command is, for the timeout's message. */
  what: string
  label: string
}

/** Runs `command` (already quoted) on a new channel of `ssh`'s connection. */
export function runOnChannel(ssh: NodeSSH, command: string, options: ChannelOptions): Promise<ChannelResult> {
  const client = ssh.connection as unknown as Client | null
  if (!client) return Promise.reject(new ExecError(`not connected to ${options.label}`))
  return new Promise((resolve, reject) => {
    const output = new CommandOutput(options.what, options.onStdout)
    let code: number | null = null
    /** Whether the server said how the command ended (an exit status or a signal). */
    let exited = false
    let failed: Error | undefined
    let channel: Channel | undefined
    let settled = false
    const settle = (f: () => void) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      f()
    }
    /** Stops reading: the channel is closed (the command's output pipe is gone). */
    const stop = (e: Error) => {
      failed ??= e
      try {
        channel?.close()
      } catch {
        // The channel is already gone: nothing to stop.
      }
    }
    const timer = setTimeout(() => {
      stop(new ExecError(`${options.what} on ${options.label} timed out after ${options.guardMs} ms`))
      // Not waiting for the server to confirm the close: the caller hears of it now.
      settle(() => reject(failed))
    }, options.guardMs)
    const cannotRun = (e: Error) => settle(() => reject(new ExecError(`cannot run ${options.what} on ${options.label}: ${e.message}`, { cause: e })))
    const opened = (e: Error | undefined, ch: Channel) => {
      if (e) return cannotRun(e)
      channel = ch
      if (settled) return ch.close() // the guard ran out while the channel opened
      ch.on('data', (chunk) => {
        if (failed) return
        const stopWith = output.stdout(chunk)
        if (stopWith) stop(stopWith)
      })
      ch.stderr.on('data', (chunk) => output.stderr(chunk))
      ch.on('exit', (c) => {
        exited = true
        code = typeof c === 'number' ? c : null
      })
      ch.on('error', (channelError) => {
        failed ??= new ExecError(`${options.what} on ${options.label}: ${channelError.message}`, { cause: channelError })
      })
      ch.on('close', () => settle(() => {
        if (failed) return reject(failed)
        // A channel closed without an exit status or signal: the connection was lost, and
        // whether the command ran to its end is not known.
        if (!exited) return reject(new ExecError(`${options.what} on ${options.label}: the connection was lost before it exited`))
        resolve({ code, stdout: output.stdoutBytes(), stderr: output.stderrText() })
      }))
      ch.end(options.input)
    }
    try {
      client.exec(command, {}, opened)
    } catch (e) {
      // ssh2 throws when the connection's socket is already closing (node-ssh has not seen it yet).
      cannotRun(e as Error)
    }
  })
}

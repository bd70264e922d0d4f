/**
 * Counts the SSH channels this process opens (exec commands and SFTP sessions) and the
 * connections it makes, on the ssh2 client that node-ssh drives: every channel starts a
 * session on the server, and sshd runs each exec (and an external sftp-server) through
 * the user's shell, so this is the count of remote shell start-ups an operation pays.
 * The bench and the session-count test use it; it wraps the client's prototype while it
 * counts, whichever code opens the channels.
 */
import { createRequire } from 'node:module'

interface ClientPrototype {
  exec: (...args: unknown[]) => unknown
  sftp: (...args: unknown[]) => unknown
  connect: (...args: unknown[]) => unknown
}

/** What `stop()` returns: channels = exec + sftp. */
export interface ChannelCount {
  connections: number
  exec: number
  sftp: number
  channels: number
}

/** A running count; `stop()` ends it (restoring the client) and returns the figures. */
export interface ChannelCounter {
  stop(): ChannelCount
}

let active = false

/** Starts counting; only one count at a time. */
export function countSshChannels(): ChannelCounter {
  if (active) throw new Error('an SSH channel count is already running')
  const proto = (createRequire(import.meta.url)('ssh2') as { Client: { prototype: ClientPrototype } }).Client.prototype
  const original = { exec: proto.exec, sftp: proto.sftp, connect: proto.connect }
  const count = { connections: 0, exec: 0, sftp: 0 }
  active = true
  proto.exec = function (this: unknown, ...args: unknown[]) {
    count.exec++
    return original.exec.apply(this, args)
  }
  proto.sftp = function (this: unknown, ...args: unknown[]) {
    count.sftp++
    return original.sftp.apply(this, args)
  }
  proto.connect = function (this: unknown, ...args: unknown[]) {
    count.connections++
    return original.connect.apply(this, args)
  }
  return {
    stop() {
      Object.assign(proto, original)
      active = false
      return { ...count, channels: count.exec + count.sftp }
    },
  }
}

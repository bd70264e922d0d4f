/**
 * The address of a real controller as the CLI takes it: `ssh://user@host[:port]`. Parsed
 * and allowlisted here so the SSH executor (node-ssh) receives plain, checked values.
 */
import { HOST_NAME_PATTERN, USER_NAME_PATTERN } from '../spec/names.js'

/** Thrown for a controller address that is not `ssh://user@host[:port]`. */
export class ControllerUrlError extends Error {
  override name = 'ControllerUrlError'
}

/** Where and as whom to reach a controller over SSH. */
export interface ControllerTarget {
  user: string
  host: string
  port: number
}

/** Parses `ssh://user@host[:port]` (port 22 by default). */
export function parseControllerUrl(text: string): ControllerTarget {
  const m = /^ssh:\/\/([^@/:]+)@([^@/:]+)(?::(\d{1,5}))?\/?$/.exec(text)
  const [, user, host, port] = m ?? []
  if (!user || !host) throw new ControllerUrlError(`"${text}" is not ssh://user@host[:port]`)
  if (!new RegExp(USER_NAME_PATTERN).test(user)) throw new ControllerUrlError(`"${user}" is not a POSIX user name`)
  if (!new RegExp(HOST_NAME_PATTERN).test(host)) throw new ControllerUrlError(`"${host}" is not a host name`)
  const n = port === undefined ? 22 : Number(port)
  if (n < 1 || n > 65_535) throw new ControllerUrlError(`port ${port} is out of range`)
  return { user, host, port: n }
}

/**
 * How a command reaches a cluster: the local sandbox, this host's own Slurm, or a
 * controller over SSH. Light on purpose: the SSH client loads only for `--controller`,
 * and the sandbox's boot code never, so a command can start its reads of the cluster
 * before the rest of its code has loaded.
 */
import { createLocalExecutor, ExecError, type Executor } from '../adapters/executor.js'
import { sandboxExecutor, sandboxLocation } from '../sandbox/release.js'
import { UsageError } from './usage.js'

/** The options that name a cluster, shared by every command that reaches one. */
export const TARGET_OPTIONS = {
  sandbox: { type: 'boolean' },
  local: { type: 'boolean' },
  controller: { type: 'string' },
  identity: { type: 'string', short: 'i' },
  'host-key': { type: 'string' },
} as const

/** The parsed `TARGET_OPTIONS`. */
export interface TargetValues {
  sandbox?: boolean
  local?: boolean
  controller?: string
  identity?: string
  'host-key'?: string
}

/** An executor for the chosen cluster and how to let go of it. */
export interface Connection {
  executor: Executor
  close(): Promise<void>
}

/** A usage error for an `ExecError` thrown by `fn` (a bad URL or fingerprint). */
function asUsage<T>(fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof ExecError) throw new UsageError(err.message)
    throw err
  }
}

/**
 * The connection `values` name. For the sandbox and the local host it is ready at once
 * (nothing is awaited before it, so reads can start in the same tick); an SSH executor
 * connects on its first command.
 */
export async function connectController(values: TargetValues): Promise<Connection> {
  if ([values.sandbox, values.local, values.controller].filter(Boolean).length > 1) throw new UsageError('give one of --sandbox, --local or --controller')
  // The sandbox of STEWARD_SANDBOX_SLURM (or the host's release); 24.11 runs inside its Debian root.
  if (values.sandbox) return { executor: sandboxExecutor(sandboxLocation()), close: async () => {} }
  // On the controller itself: Slurm's own configuration (SLURM_CONF if set, else the default).
  if (values.local) return { executor: createLocalExecutor(), close: async () => {} }
  if (!values.controller) throw new UsageError('say which cluster: --sandbox, --local, or --controller ssh://user@host[:port] --identity KEYFILE --host-key SHA256:...')
  const { checkHostKey, createSshExecutor, parseSshUrl } = await import('../adapters/ssh-executor.js')
  const controller = values.controller
  const target = asUsage(() => parseSshUrl(controller))
  if (!values.identity) throw new UsageError('--controller needs --identity KEYFILE (the SSH private key)')
  const fingerprint = values['host-key']
  if (!fingerprint) throw new UsageError('--controller needs --host-key SHA256:... (the controller\'s host key fingerprint, as ssh-keygen -lf prints it on the controller)')
  const hostKey = asUsage(() => checkHostKey(fingerprint))
  const ssh = createSshExecutor({ ...target, privateKeyPath: values.identity, hostKey })
  return { executor: ssh, close: () => ssh.close() }
}

/**
 * Runs a command body with a connection, closing it (an SSH session) whatever happens.
 * `first` (the spec being loaded) is reported before a bad target, as if it ran first.
 */
export async function withController<T>(values: TargetValues, body: (executor: Executor) => Promise<T>, first?: Promise<unknown>): Promise<T> {
  let connection: Connection
  try {
    connection = await connectController(values)
  } catch (err) {
    await first
    throw err
  }
  try {
    return await body(connection.executor)
  } finally {
    await connection.close()
  }
}

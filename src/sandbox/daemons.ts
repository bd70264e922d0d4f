/**
 * Starting, checking and stopping each daemon of the sandbox: munged, MariaDB, slurmdbd,
 * slurmctld and one `slurmd -N <node>` per emulated node. Every start is "ensure": a
 * daemon that already runs (and is ours) is left alone; a stale pid file or socket left by
 * a killed session is cleared first. Every wait is bounded, and a daemon that fails to
 * come up is reported with the tail of its log.
 */
import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Executor } from '../adapters/executor.js'
import type { SandboxPrograms } from './install.js'
import {
  type SandboxPaths, type SandboxPorts, dbUserSql, mariadbArgs, mariadbClientArgs, mariadbInstallArgs, mungedArgs, nodeOfPidFile,
  slurmdLogFile, slurmdPidFile, slurmdSpoolDir,
} from './layout.js'
import {
  type Identity, ProcessExitedError, WaitTimeoutError, executableIdentity, logTail, ourPid, pidRuns, runDaemonizing,
  spawnDetached, stopDaemon, tcpOpen, waitFor,
} from './processes.js'

/** The daemons of the sandbox, by the names used in messages and `status`. */
export type DaemonName = 'munged' | 'mariadb' | 'slurmdbd' | 'slurmctld' | 'slurmd'

/** A daemon failed to start or to become ready: which one, why, and the end of its log. */
export class SandboxDaemonError extends Error {
  override name = 'SandboxDaemonError'
  constructor(
    readonly daemon: string,
    message: string,
    readonly logFile: string,
    readonly logTail: string,
    options?: ErrorOptions,
  ) {
    super(`${daemon}: ${message}`, options)
  }
}

/** Bounded waits, in milliseconds. */
export interface SandboxTimeouts {
  /** A daemon's readiness (munge socket, database, slurmdbd port, `scontrol ping`). */
  daemonMs: number
  /** Emulated nodes reaching IDLE after their slurmd started. */
  nodesMs: number
  /** SIGTERM to SIGKILL when stopping. */
  stopGraceMs: number
}

export const DEFAULT_TIMEOUTS: SandboxTimeouts = { daemonMs: 60_000, nodesMs: 90_000, stopGraceMs: 20_000 }

/** Everything the daemon functions need. */
export interface SandboxContext {
  paths: SandboxPaths
  ports: SandboxPorts
  programs: SandboxPrograms
  /** Runs commands with `SLURM_CONF` set to the sandbox's slurm.conf. */
  exec: Executor
  /** Environment of the daemons (with `SLURM_CONF`). */
  env: NodeJS.ProcessEnv
  timeouts: SandboxTimeouts
  log: (message: string) => void
  /** The Debian root the daemons run in (a release other than the host's); programs are paths inside it. */
  rootfs?: string
  /** In a root: each program's real path inside it (symlinks resolved there). */
  realPaths?: Readonly<Record<string, string>>
  /** How a daemon's argv is started (inside the root); unchanged when absent. */
  launch?: (argv: readonly string[]) => string[]
}

/** How each daemon is recognised from its pid, so a reused pid or another sandbox's daemon is never taken for ours. */
export async function identities(ctx: Pick<SandboxContext, 'paths' | 'programs' | 'rootfs' | 'realPaths'>): Promise<Record<Exclude<DaemonName, 'slurmd'>, Identity> & { slurmd: (node: string) => Identity }> {
  // In a root, programs are real paths inside it; /proc/<pid>/exe shows them under the root.
  const exe = async (path: string) => {
    const host = ctx.rootfs ? join(ctx.rootfs, ctx.realPaths?.[path] ?? path) : path
    return [await executableIdentity(host).catch(() => host)]
  }
  const slurmConf = `env:SLURM_CONF=${ctx.paths.slurmConf}`
  const slurmdExe = await exe(ctx.programs.slurmd)
  return {
    munged: { executables: await exe(ctx.programs.munged), marks: [`--socket=${ctx.paths.mungeSocket}`] },
    mariadb: { executables: await exe(ctx.programs.mariadbd), marks: [`--datadir=${ctx.paths.mysqlData}`] },
    slurmdbd: { executables: await exe(ctx.programs.slurmdbd), marks: [slurmConf] },
    slurmctld: { executables: await exe(ctx.programs.slurmctld), marks: [slurmConf] },
    slurmd: (node: string) => ({ executables: slurmdExe, marks: [slurmConf, '-N', node] }),
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

/** Wraps a failed wait or start into a `SandboxDaemonError` with the log's tail. */
async function failure(daemon: string, logFile: string, err: unknown, what: string): Promise<SandboxDaemonError> {
  const reason = err instanceof ProcessExitedError ? 'exited during start-up' : err instanceof WaitTimeoutError ? err.message : `${what}: ${err instanceof Error ? err.message : String(err)}`
  return new SandboxDaemonError(daemon, reason, logFile, await logTail(logFile), { cause: err })
}

/** Starts a forking daemon, then waits for its pid file to name a live process of ours. */
async function startForking(ctx: SandboxContext, daemon: string, argv: string[], pidFile: string, logFile: string, identity: Identity): Promise<number> {
  await rm(pidFile, { force: true })
  const outFile = join(ctx.paths.log, `${daemon}.out`)
  try {
    const code = await runDaemonizing(ctx.launch ? ctx.launch(argv) : argv, outFile, ctx.env, ctx.timeouts.daemonMs)
    if (code !== 0) throw new Error(`${argv[0]} exited with code ${code}`)
    return await waitFor(`${daemon} to write ${pidFile}`, () => ourPid(pidFile, identity), 15_000, 100)
  } catch (err) {
    const tail = [await logTail(outFile, 10), await logTail(logFile)].filter((t) => t !== '').join('\n')
    throw new SandboxDaemonError(daemon, err instanceof Error ? err.message : String(err), logFile, tail, { cause: err })
  }
}

async function mungeWorks(ctx: SandboxContext): Promise<boolean> {
  const result = await ctx.exec.run([ctx.programs.munge, '-n', '-S', ctx.paths.mungeSocket], { timeoutMs: 10_000 })
  return result.code === 0
}

/** The private munged: its own key, socket, pid file, seed and log under the state dir. */
export async function ensureMunge(ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>): Promise<'running' | 'started'> {
  const { paths } = ctx
  await mkdir(paths.mungeDir, { recursive: true, mode: 0o700 })
  await chmod(paths.mungeDir, 0o700)
  const key = await stat(paths.mungeKey).catch(() => undefined)
  if (!key || key.size === 0) {
    const temp = `${paths.mungeKey}.new`
    await rm(temp, { force: true })
    const made = await ctx.exec.run([ctx.programs.mungekey, '--create', '--keyfile', temp])
    if (made.code !== 0) throw new SandboxDaemonError('munged', `mungekey failed: ${made.stderr.trim()}`, paths.mungeLog, '')
    await chmod(temp, 0o400)
    await rename(temp, paths.mungeKey)
  }
  const pid = await ourPid(paths.mungePid, ids.munged)
  if (pid !== undefined && (await mungeWorks(ctx).catch(() => false))) return 'running'
  if (pid !== undefined) await stopDaemon(paths.mungePid, ids.munged, ctx.timeouts.stopGraceMs)
  // A killed munged leaves its socket and lock file behind.
  await rm(paths.mungeSocket, { force: true })
  await rm(`${paths.mungeSocket}.lock`, { force: true })
  const started = await startForking(ctx, 'munged', [ctx.programs.munged, ...mungedArgs(paths)], paths.mungePid, paths.mungeLog, ids.munged)
  try {
    await waitFor('munged to answer on its socket', () => mungeWorks(ctx), ctx.timeouts.daemonMs, { alive: () => pidRuns(started) })
  } catch (err) {
    throw await failure('munged', paths.mungeLog, err, 'not answering')
  }
  return 'started'
}

/** The database password of slurmdbd, created on first use (mode 600). */
export async function dbPassword(paths: SandboxPaths): Promise<string> {
  const existing = (await readFile(paths.dbPassword, 'utf8').catch(() => '')).trim()
  if (/^[A-Za-z0-9]{8,128}$/.test(existing)) return existing
  const password = randomBytes(18).toString('hex')
  await mkdir(dirname(paths.dbPassword), { recursive: true, mode: 0o700 })
  const temp = `${paths.dbPassword}.new`
  await writeFile(temp, `${password}\n`, { mode: 0o600 })
  await rename(temp, paths.dbPassword)
  return password
}

async function sql(ctx: SandboxContext, statements: string): Promise<void> {
  const result = await ctx.exec.run([ctx.programs.mariadb, ...mariadbClientArgs(ctx.paths), '--batch'], { input: statements, timeoutMs: 30_000 })
  if (result.code !== 0) throw new Error(`SQL failed: ${result.stderr.trim()}`)
}

/** The private MariaDB: data directory, socket and TCP port 127.0.0.1 only, and the slurmdbd user. */
export async function ensureMariadb(ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>, password: string): Promise<'running' | 'started'> {
  const { paths } = ctx
  let pid = await ourPid(paths.mysqlPid, ids.mariadb)
  const initialised = await exists(paths.mysqlReady)
  if (pid === undefined && !initialised) {
    // Never initialised, or an initialisation that was cut short: start over.
    await rm(paths.mysqlData, { recursive: true, force: true })
    await mkdir(paths.mysqlData, { recursive: true, mode: 0o700 })
    ctx.log('initialising the MariaDB data directory')
    const made = await ctx.exec.run([ctx.programs.mariadbInstallDb, ...mariadbInstallArgs(paths)], { timeoutMs: 300_000 })
    if (made.code !== 0) throw new SandboxDaemonError('mariadb', `${ctx.programs.mariadbInstallDb} failed (exit ${made.code})`, paths.mysqlLog, `${made.stdout}\n${made.stderr}`.trim().split('\n').slice(-20).join('\n'))
  }
  let state: 'running' | 'started' = 'running'
  if (pid === undefined) {
    await rm(paths.mysqlPid, { force: true })
    await rm(paths.mysqlSocket, { force: true })
    const argv = [ctx.programs.mariadbd, ...mariadbArgs(paths, ctx.ports)]
    pid = await spawnDetached(ctx.launch ? ctx.launch(argv) : argv, join(paths.log, 'mariadb.out'), ctx.env)
    state = 'started'
  }
  const running = pid
  try {
    await waitFor('MariaDB to accept connections', async () => (await ctx.exec.run([ctx.programs.mariadb, ...mariadbClientArgs(paths), '-e', 'SELECT 1'], { timeoutMs: 10_000 })).code === 0, ctx.timeouts.daemonMs, { alive: () => pidRuns(running), intervalMs: 250 })
    await sql(ctx, dbUserSql(password))
  } catch (err) {
    throw await failure('mariadb', paths.mysqlLog, err, 'database set-up failed')
  }
  if (!initialised) await writeFile(paths.mysqlReady, `${new Date().toISOString()}\n`)
  return state
}

/** slurmdbd on 127.0.0.1:`ports.slurmdbd`; restarted when its config changed. */
export async function ensureSlurmdbd(ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>, restart: boolean): Promise<'running' | 'started' | 'restarted'> {
  const { paths } = ctx
  const pid = await ourPid(paths.slurmdbdPid, ids.slurmdbd)
  if (pid !== undefined && !restart) return 'running'
  if (pid !== undefined) await stopDaemon(paths.slurmdbdPid, ids.slurmdbd, ctx.timeouts.stopGraceMs)
  await waitFor(`port ${ctx.ports.slurmdbd} to be free`, async () => !(await tcpOpen(ctx.ports.slurmdbd)), 15_000).catch(() => undefined)
  const started = await startForking(ctx, 'slurmdbd', [ctx.programs.slurmdbd], paths.slurmdbdPid, paths.slurmdbdLog, ids.slurmdbd)
  try {
    await waitFor(`slurmdbd to listen on port ${ctx.ports.slurmdbd}`, () => tcpOpen(ctx.ports.slurmdbd), ctx.timeouts.daemonMs, { alive: () => pidRuns(started), intervalMs: 250 })
  } catch (err) {
    throw await failure('slurmdbd', paths.slurmdbdLog, err, 'not listening')
  }
  return pid === undefined ? 'started' : 'restarted'
}

/** Registers the cluster in slurmdbd (before slurmctld starts), unless it already is. */
export async function ensureClusterRegistered(ctx: SandboxContext, cluster: string): Promise<'registered' | 'present'> {
  const list = async () => {
    const result = await ctx.exec.run([ctx.programs.sacctmgr, '-n', '-P', 'show', 'cluster', 'format=cluster'], { timeoutMs: 30_000 })
    if (result.code !== 0) throw new Error(result.stderr.trim() || `sacctmgr exit ${result.code}`)
    return result.stdout.split('\n').map((l) => l.trim())
  }
  let clusters: string[]
  try {
    clusters = await waitFor('sacctmgr to reach slurmdbd', list, ctx.timeouts.daemonMs, 500)
  } catch (err) {
    throw await failure('slurmdbd', ctx.paths.slurmdbdLog, err, 'sacctmgr cannot reach it')
  }
  if (clusters.includes(cluster)) return 'present'
  const added = await ctx.exec.run([ctx.programs.sacctmgr, '-i', 'add', 'cluster', cluster], { timeoutMs: 30_000 })
  if (added.code !== 0 && !/already exists/i.test(added.stdout + added.stderr)) {
    throw new SandboxDaemonError('slurmdbd', `sacctmgr add cluster ${cluster} failed: ${(added.stderr || added.stdout).trim()}`, ctx.paths.slurmdbdLog, await logTail(ctx.paths.slurmdbdLog))
  }
  return 'registered'
}

/** Whether slurmctld answers `scontrol ping` as UP. */
export async function controllerUp(ctx: SandboxContext): Promise<boolean> {
  const result = await ctx.exec.run([ctx.programs.scontrol, 'ping'], { timeoutMs: 15_000 })
  return result.code === 0 && /\bis UP\b/.test(result.stdout)
}

/** Starts slurmctld (state recovered from its StateSaveLocation) and waits for `scontrol ping`. */
export async function startSlurmctld(ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>): Promise<void> {
  const { paths } = ctx
  await waitFor(`port ${ctx.ports.slurmctld} to be free`, async () => !(await tcpOpen(ctx.ports.slurmctld)), 15_000).catch(() => undefined)
  const started = await startForking(ctx, 'slurmctld', [ctx.programs.slurmctld], paths.slurmctldPid, paths.slurmctldLog, ids.slurmctld)
  await waitForController(ctx, started)
}

/** Waits until `scontrol ping` says UP while the given slurmctld pid lives. */
export async function waitForController(ctx: SandboxContext, pid: number): Promise<void> {
  try {
    await waitFor('slurmctld to answer scontrol ping', () => controllerUp(ctx), ctx.timeouts.daemonMs, { alive: () => pidRuns(pid), intervalMs: 250 })
  } catch (err) {
    throw await failure('slurmctld', ctx.paths.slurmctldLog, err, 'not answering')
  }
}

export async function stopSlurmctld(ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>): Promise<void> {
  await stopDaemon(ctx.paths.slurmctldPid, ids.slurmctld, ctx.timeouts.stopGraceMs)
}

/** Starts `slurmd -N <node>` with its own spool directory, pid file and log (slurm.conf's `%n`). */
export async function startSlurmd(ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>, node: string): Promise<number> {
  await mkdir(slurmdSpoolDir(ctx.paths, node), { recursive: true, mode: 0o755 })
  return startForking(ctx, `slurmd-${node}`, [ctx.programs.slurmd, '-N', node], slurmdPidFile(ctx.paths, node), slurmdLogFile(ctx.paths, node), ids.slurmd(node))
}

export async function stopSlurmd(ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>, node: string): Promise<void> {
  await stopDaemon(slurmdPidFile(ctx.paths, node), ids.slurmd(node), ctx.timeouts.stopGraceMs)
}

/** Nodes that have a slurmd pid file in run/ (live or stale). */
export async function slurmdPidFileNodes(paths: SandboxPaths): Promise<string[]> {
  const names = await readdir(paths.run).catch(() => [] as string[])
  return names.map(nodeOfPidFile).filter((n): n is string => n !== undefined).sort()
}

/**
 * Creates the QoS in `names` that slurmdbd does not have yet, bare (no limits: setting
 * them is accounting-as-code's job), so slurmctld accepts the partitions that name them.
 */
export async function ensureQosExist(ctx: SandboxContext, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return []
  const listed = await ctx.exec.run([ctx.programs.sacctmgr, '-n', '-P', 'show', 'qos', 'format=name'], { timeoutMs: 30_000 })
  if (listed.code !== 0) throw new SandboxDaemonError('slurmdbd', `sacctmgr show qos failed: ${listed.stderr.trim()}`, ctx.paths.slurmdbdLog, await logTail(ctx.paths.slurmdbdLog))
  const present = new Set(listed.stdout.split('\n').map((l) => l.trim().toLowerCase()))
  const missing = names.filter((n) => !present.has(n))
  if (missing.length === 0) return []
  const added = await ctx.exec.run([ctx.programs.sacctmgr, '-i', 'add', 'qos', missing.join(',')], { timeoutMs: 30_000 })
  if (added.code !== 0) throw new SandboxDaemonError('slurmdbd', `sacctmgr add qos ${missing.join(',')} failed: ${(added.stderr || added.stdout).trim()}`, ctx.paths.slurmdbdLog, await logTail(ctx.paths.slurmdbdLog))
  return missing
}

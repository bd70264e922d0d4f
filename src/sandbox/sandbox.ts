/**
 * The real-Slurm sandbox: `up` boots a spec's rendered files on this machine (private
 * munged, MariaDB, slurmdbd, slurmctld and one `slurmd -N` per emulated node, everything
 * under one state directory, `/etc/slurm` never touched), `down` stops it, `status` says
 * what runs, `env` gives the `SLURM_CONF` that points Slurm's commands at it.
 *
 * `up` is idempotent: with the same spec and everything running it changes nothing; with
 * changed files it reconfigures or restarts as Slurm needs (on 22.05 a changed node set
 * needs a slurmctld restart); after a killed session it clears stale pid files and
 * sockets and starts what is missing.
 */
import { chmod, lstat, mkdir, open, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { hostname as osHostname } from 'node:os'
import { join, relative } from 'node:path'
import { createLocalExecutor, type Executor } from '../adapters/executor.js'
import { rootArgv } from '../adapters/root-executor.js'
import { writeFilesAtomically } from '../adapters/atomic-files.js'
import { specHash } from '../spec/load.js'
import type { ClusterSpec } from '../spec/schema.js'
import { compressHostlist, expandHostlist } from '../slurm/hostlist.js'
import { parseSlurmConf } from '../slurm/conf-parse.js'
import { renderCluster } from '../slurm/render.js'
import { expandDevices, slurmRelease } from '../slurm/view-model.js'
import { createdDevices, ensureDevices, removeCreatedDevices } from './devices.js'
import {
  DEFAULT_TIMEOUTS, type SandboxContext, type SandboxTimeouts, SandboxDaemonError, controllerUp, dbPassword, ensureClusterRegistered,
  ensureMariadb, ensureQosExist, ensureMunge, ensureSlurmdbd, identities, slurmdPidFileNodes, startSlurmctld, startSlurmd, stopSlurmctld, stopSlurmd,
  waitForController,
} from './daemons.js'
import { type SandboxPrograms, SandboxInstallError, ensurePrograms, ensureRoot, findPrograms, findRootPrograms, rootMarker } from './install.js'
import { type SandboxLocation, type SandboxRelease, innerWorkDir, sandboxExecutor, sandboxLocation } from './release.js'
import {
  type AppliedConfig, type ConfigChange, DEFAULT_NODES_PER_GROUP, type EmulatedNode, type SandboxPaths, type SandboxPorts,
  checkHostname, configChange, emulatedNodes, meaningfulLines, gpuDeviceFiles, nodeAddresses, qosNamedBy, releaseNumber, sandboxSite,
  slurmdLogFile, slurmdPidFile, slurmdbdConf,
} from './layout.js'
import { logTail, ourPid, pidRuns, readPidFile, stopDaemon, waitFor } from './processes.js'
import { nodeDown, nodeUsable, parseRecords } from './scontrol.js'

/** Options every sandbox operation takes. */
export interface SandboxOptions {
  /**
   * Slurm release: the host's own (22.05, default; or `STEWARD_SANDBOX_SLURM`) or 24.11,
   * which runs inside a Debian 13 root under its own state directory and ports.
   */
  release?: SandboxRelease
  /** State directory; default `STEWARD_SANDBOX_DIR` or `/var/lib/steward-sandbox` (`-24.11` appended for 24.11). */
  stateDir?: string
  ports?: Partial<SandboxPorts>
  timeouts?: Partial<SandboxTimeouts>
  /** Progress messages (the CLI prints them to stderr); silent by default. */
  log?: (message: string) => void
}

export interface SandboxUpOptions extends SandboxOptions {
  spec: ClusterSpec
  /** Nodes emulated per node group (the first ones in hostlist order); the rest are rendered down. Default 2. */
  nodesPerGroup?: number
  /** Spec revision stamped into the rendered headers. */
  revision?: number
  /** Install the Debian packages when programs are missing (default true). */
  install?: boolean
  /** Host name written as `NodeHostname` and `SlurmctldHost` (default: this host's name). */
  hostname?: string
  /**
   * Runs after slurmdbd is up and the cluster registered, before slurmctld starts or takes
   * new files: the place to create accounts, QoS and associations the slurm.conf relies on
   * (tests; accounting as code). Commands see the sandbox through `env.SLURM_CONF`.
   */
  beforeController?: (env: { SLURM_CONF: string }) => Promise<void>
}

/** What `up` did, and how to reach the sandbox. */
export interface SandboxUpResult {
  stateDir: string
  slurmConf: string
  /** The environment that points Slurm's commands at the sandbox. */
  env: { SLURM_CONF: string }
  clusterName: string
  /** The emulated nodes, each with its own slurmd. */
  nodes: EmulatedNode[]
  /** How many spec nodes are rendered down because they are not emulated. */
  downNodes: number
  /** `started`: slurmctld was not running; otherwise how the running one took the files. */
  action: 'started' | 'unchanged' | 'reconfigured' | 'restarted'
  /** Daemons started by this call (`slurmd:<node>` for node daemons). */
  started: string[]
  /** GPU stand-in device files created by this call. */
  devicesCreated: string[]
  /** A world-writable directory for job output (`sbatch --output`). */
  jobsDir: string
  /** Slurm release of the installed daemons, e.g. `22.05.8`. */
  slurmVersion: string
  /** The release asked for (`22.05` or `24.11`). */
  release: SandboxRelease
  /** The Debian root the daemons run in, for a release other than the host's. */
  rootfs?: string
  durationMs: number
}

/** What the last successful `up` applied (`sandbox.json`). */
export interface SandboxRecord {
  version: 1
  clusterName: string
  specHash: string
  nodesPerGroup: number
  nodes: EmulatedNode[]
  slurmVersion: string
  /** Missing while an `up` that changes the config is under way (or was cut short). */
  applied?: AppliedConfig
  slurmdbdConf: string
  updatedAt: string
}

/** Thrown for a sandbox that cannot run here (not root, spec it cannot boot, locked). */
export class SandboxError extends Error {
  override name = 'SandboxError'
}

function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new SandboxError(`sandbox ${what} needs root: it starts Slurm daemons, a database and creates device files`)
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

async function readRecord(paths: SandboxPaths): Promise<SandboxRecord | undefined> {
  const text = await readFile(paths.record, 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  try {
    const value = JSON.parse(text) as SandboxRecord
    return value.version === 1 ? value : undefined
  } catch {
    return undefined
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Runs `fn` holding the sandbox lock (one `up`/`down` at a time, also across test files
 * and processes). A lock whose holder died is taken over.
 */
async function withLock<T>(paths: SandboxPaths, log: (m: string) => void, fn: () => Promise<T>, timeoutMs = 900_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let told = false
  for (;;) {
    try {
      const handle = await open(paths.lock, 'wx', 0o600)
      await handle.writeFile(`${process.pid}\n`)
      await handle.close()
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = await readPidFile(paths.lock)
      if (holder === undefined || holder === process.pid || !(await pidRuns(holder))) {
        await rm(paths.lock, { force: true })
        continue
      }
      if (Date.now() > deadline) throw new SandboxError(`the sandbox is locked by pid ${holder} (${paths.lock})`)
      if (!told) log(`waiting for pid ${holder}, which holds the sandbox lock`)
      told = true
      await sleep(500)
    }
  }
  try {
    return await fn()
  } finally {
    await rm(paths.lock, { force: true })
  }
}

async function prepareDirs(paths: SandboxPaths): Promise<void> {
  await mkdir(paths.root, { recursive: true, mode: 0o755 })
  // munged refuses group- or world-writable directories above its socket and key.
  await chmod(paths.root, 0o755)
  for (const dir of [paths.etc, paths.run, paths.log, paths.spool, paths.stateSave]) await mkdir(dir, { recursive: true, mode: 0o755 })
  await mkdir(paths.jobs, { recursive: true })
  await chmod(paths.jobs, 0o1777)
  if (!(await exists(paths.marker))) await writeFile(paths.marker, 'State directory of the HPC Steward Slurm sandbox (steward sandbox up/down).\n')
}

function locate(options: SandboxOptions): SandboxLocation {
  return sandboxLocation({
    ...(options.release ? { release: options.release } : {}),
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
    ...(options.ports ? { ports: options.ports } : {}),
  })
}

function context(location: SandboxLocation, options: SandboxOptions, found: FoundPrograms): SandboxContext {
  const { programs, realPaths } = found
  const paths = location.paths
  const env = { ...process.env, SLURM_CONF: paths.slurmConf }
  const rootfs = location.rootfs
  return {
    paths,
    ports: location.ports,
    programs,
    exec: sandboxExecutor(location),
    env,
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    log: options.log ?? (() => undefined),
    ...(rootfs ? { rootfs, realPaths: realPaths ?? {}, launch: (argv: readonly string[]) => rootArgv(rootfs, argv) } : {}),
  }
}

/**
 * A root's own files: /etc/hosts (this host's name at 127.0.0.1, so the daemons resolve
 * it without the host's resolver files), and the sandbox's directory inside the root with
 * the symlink `<stateDir>/sandbox` to it, so one path names the same file in and out.
 */
async function prepareRoot(location: SandboxLocation, host: string): Promise<void> {
  const rootfs = location.rootfs as string
  const inner = innerWorkDir(location) as string
  await writeFile(join(rootfs, 'etc', 'hosts'), `127.0.0.1\tlocalhost ${host}\n::1\tlocalhost ip6-localhost ip6-loopback\n`)
  await mkdir(inner, { recursive: true, mode: 0o755 })
  const link = location.paths.root
  const target = relative(location.stateDir, inner)
  const current = await lstat(link).then((st) => (st.isSymbolicLink() ? readlink(link) : 'not a link'), () => undefined)
  if (current === target) return
  if (current !== undefined) throw new SandboxError(`${link} exists and is not the link to ${target}; remove it (steward sandbox down --purge --slurm ${location.release})`)
  await symlink(target, link)
}

/** A sandbox's programs; in a root also their real paths there. */
interface FoundPrograms {
  programs: SandboxPrograms
  realPaths?: Record<string, string>
}

/** The programs of a sandbox: the host's (installed when missing) or the root's (made when missing). */
async function sandboxPrograms(location: SandboxLocation, install: boolean, log: (m: string) => void, host?: string): Promise<FoundPrograms> {
  if (location.rootfs) {
    if (install) await ensureRoot(createLocalExecutor(), location.rootfs, log)
    else if (rootMarker(location.rootfs) === undefined) throw new SandboxError(`${location.rootfs} is not made yet: run steward sandbox up --slurm ${location.release}`)
    await mkdir(location.stateDir, { recursive: true, mode: 0o755 })
    if (host !== undefined) await prepareRoot(location, host)
    return findRootPrograms(location.rootfs, sandboxExecutor(location))
  }
  if (!install) {
    const { programs: found, missing } = findPrograms()
    if (missing.length > 0) throw new SandboxError(`missing ${missing.join(', ')}; run ops/sandbox/install.sh as root`)
    return { programs: found as SandboxPrograms }
  }
  return { programs: await ensurePrograms(createLocalExecutor(), log, true) }
}

/** Throws unless the daemons are the release the sandbox is for. */
function checkRelease(location: SandboxLocation, version: string): void {
  if (slurmRelease(version) !== slurmRelease(location.release)) {
    throw new SandboxError(`the ${location.release} sandbox found Slurm ${version}${location.rootfs ? ` in ${location.rootfs}` : ' on this host'}; ${location.rootfs ? `purge it (steward sandbox down --purge --slurm ${location.release})` : 'choose --slurm to match the host'}`)
  }
}

/** The installed Slurm release, e.g. `22.05.8`. */
async function slurmVersion(exec: Executor, programs: SandboxPrograms): Promise<string> {
  const result = await exec.run([programs.slurmctld, '-V'], { timeoutMs: 15_000 })
  const m = /(?<!\d)(\d+\.\d+\.\d+)/.exec(result.stdout + result.stderr)
  if (!m?.[1]) throw new SandboxError(`cannot read the Slurm version from "${programs.slurmctld} -V": ${(result.stdout + result.stderr).trim()}`)
  return m[1]
}

/** The `scontrol -o show node` records by node name. */
async function nodeStates(ctx: SandboxContext): Promise<Map<string, { state: string; reason: string }>> {
  const result = await ctx.exec.run([ctx.programs.scontrol, '-o', 'show', 'node'], { timeoutMs: 30_000 })
  if (result.code !== 0) throw new Error(`scontrol show node: ${result.stderr.trim()}`)
  const states = new Map<string, { state: string; reason: string }>()
  for (const r of parseRecords(result.stdout)) {
    const name = r.get('NodeName')
    if (name) states.set(name, { state: r.get('State') ?? '', reason: r.get('Reason') ?? '' })
  }
  return states
}

async function scontrolUpdate(ctx: SandboxContext, args: string[]): Promise<void> {
  const result = await ctx.exec.run([ctx.programs.scontrol, 'update', ...args], { timeoutMs: 30_000 })
  if (result.code !== 0) ctx.log(`scontrol update ${args.join(' ')}: ${result.stderr.trim()}`)
}

/**
 * Waits until every emulated node is usable, resuming ones left DOWN by an earlier run
 * (state recovered by slurmctld), and sets the other nodes DOWN with `Reason=not_emulated`.
 */
async function settleNodes(ctx: SandboxContext, all: readonly string[], nodes: readonly Pick<EmulatedNode, 'name'>[]): Promise<void> {
  const emulated = new Set(nodes.map((n) => n.name))
  const first = await nodeStates(ctx)
  const stray = all.filter((n) => !emulated.has(n) && !nodeDown(first.get(n)?.state ?? 'DOWN'))
  if (stray.length > 0) await scontrolUpdate(ctx, [`NodeName=${compressHostlist(stray)}`, 'State=DOWN', 'Reason=not_emulated'])
  const resumed = new Set<string>()
  const startedAt = Date.now()
  try {
    await waitFor('the emulated nodes to become usable', async () => {
      const states = await nodeStates(ctx)
      const waiting = nodes.filter((n) => !nodeUsable(states.get(n.name)?.state ?? 'UNKNOWN'))
      // Responding but DOWN/DRAINED (e.g. "not_emulated" from a run that emulated fewer
      // nodes, recovered from the saved state): resume once the slurmd had time to register.
      const stuck = waiting.filter((n) => {
        const s = states.get(n.name)?.state ?? ''
        return nodeDown(s) && !s.includes('NOT_RESPONDING') && !resumed.has(n.name)
      })
      if (stuck.length > 0 && Date.now() - startedAt > 2_000) {
        for (const n of stuck) resumed.add(n.name)
        await scontrolUpdate(ctx, [`NodeName=${compressHostlist(stuck.map((n) => n.name))}`, 'State=RESUME'])
      }
      return waiting.length === 0 ? true : undefined
    }, ctx.timeouts.nodesMs, 500)
  } catch (err) {
    const states = await nodeStates(ctx).catch(() => new Map<string, { state: string; reason: string }>())
    const bad = nodes.filter((n) => !nodeUsable(states.get(n.name)?.state ?? 'UNKNOWN'))
    const first = bad[0]
    const detail = bad.map((n) => `${n.name}=${states.get(n.name)?.state ?? '?'}${states.get(n.name)?.reason ? ` (${states.get(n.name)?.reason})` : ''}`).join(', ')
    const logFile = first ? slurmdLogFile(ctx.paths, first.name) : ctx.paths.slurmctldLog
    const tail = [await logTail(logFile, 15), '--- slurmctld.log ---', await logTail(ctx.paths.slurmctldLog, 15)].join('\n')
    throw new SandboxDaemonError(first ? `slurmd -N ${first.name}` : 'slurmctld', `nodes not usable: ${detail}`, logFile, tail, { cause: err })
  }
}

/**
 * Brings slurmctld and the slurmd daemons to the files in etc/: a restart, a reconfigure
 * or nothing (`none`), a start when slurmctld is not running, then exactly one slurmd per
 * emulated node, and waits for the nodes. Shared by `up` and `reload`.
 */
async function takeFiles(
  ctx: SandboxContext, ids: Awaited<ReturnType<typeof identities>>, change: ConfigChange, ctldPid: number | undefined,
  nodes: readonly EmulatedNode[], allNodes: string[], started: string[], log: (message: string) => void,
): Promise<void> {
  const paths = ctx.paths
  const running = new Set(await slurmdPidFileNodes(paths))
  if (change === 'restart') {
    if (ctldPid !== undefined) log('restarting slurmctld and the slurmd daemons for the new files')
    for (const node of running) await stopSlurmd(ctx, ids, node)
    running.clear()
    await stopSlurmctld(ctx, ids)
  }
  if (change === 'restart' || ctldPid === undefined) {
    await startSlurmctld(ctx, ids)
    started.push('slurmctld')
  } else if (change === 'reconfigure') {
    log('scontrol reconfigure')
    const result = await ctx.exec.run([ctx.programs.scontrol, 'reconfigure'], { timeoutMs: 60_000 })
    if (result.code !== 0) throw new SandboxDaemonError('slurmctld', `scontrol reconfigure failed: ${result.stderr.trim()}`, paths.slurmctldLog, await logTail(paths.slurmctldLog))
    await sleep(500)
    await waitForController(ctx, ctldPid)
  }
  // One slurmd per emulated node; none for the others.
  const wanted = new Set(nodes.map((n) => n.name))
  for (const node of running) if (!wanted.has(node)) await stopSlurmd(ctx, ids, node)
  for (const node of nodes) {
    if ((await ourPid(slurmdPidFile(paths, node.name), ids.slurmd(node.name))) !== undefined) continue
    await startSlurmd(ctx, ids, node.name)
    started.push(`slurmd:${node.name}`)
  }
  if (started.length > 0) log(`started ${started.join(', ')}`)
  await settleNodes(ctx, allNodes, nodes)
}

/**
 * Boots `spec` in the sandbox (or brings a running sandbox to it) and returns when
 * slurmctld answers and every emulated node is usable. Root only.
 */
export async function sandboxUp(options: SandboxUpOptions): Promise<SandboxUpResult> {
  const startedAt = Date.now()
  requireRoot('up')
  const log = options.log ?? (() => undefined)
  const location = locate(options)
  const paths = location.paths
  const perGroup = options.nodesPerGroup ?? DEFAULT_NODES_PER_GROUP
  const host = checkHostname(options.hostname ?? osHostname())
  const found = await sandboxPrograms(location, options.install !== false, log, host)
  const programs = found.programs
  await prepareDirs(paths)
  return withLock(paths, log, async () => {
    const ctx = context(location, options, found)
    const ids = await identities(ctx)
    const started: string[] = []
    const version = await slurmVersion(ctx.exec, programs)
    checkRelease(location, version)
    if (slurmRelease(options.spec.cluster.slurmVersion) !== slurmRelease(version)) {
      log(`the spec says Slurm ${options.spec.cluster.slurmVersion} but this sandbox runs ${version}: an apply decides between reconfigure and restart from the spec's slurmVersion`)
    }

    // The files: the spec rendered with the sandbox's site, plus sandbox-only settings.
    let spec = options.spec
    if ((spec.cluster.render?.mode ?? 'full') !== 'full') {
      log('the sandbox needs a complete slurm.conf: rendering this include-mode spec in full mode')
      spec = { ...spec, cluster: { ...spec.cluster, render: { ...spec.cluster.render, mode: 'full' } } }
    }
    const nodes = emulatedNodes(spec, perGroup, ctx.ports.firstNode)
    const rendered = renderCluster(spec, {
      site: sandboxSite(paths, spec, host, ctx.ports, version),
      nodeAddresses: nodeAddresses(nodes, host),
      ...(options.revision !== undefined ? { revision: options.revision } : {}),
    })
    const accounting = spec.cluster.accounting !== undefined
    const files = rendered
    const next: AppliedConfig = { clusterName: spec.cluster.name, files: Object.fromEntries(files.map((f) => [f.name, f.content])) }
    const password = await dbPassword(paths)
    const dbdConf = slurmdbdConf(paths, ctx.ports, password)
    const previous = await readRecord(paths)

    // Munge and the database first: everything else authenticates or stores through them.
    if ((await ensureMunge(ctx, ids)) === 'started') started.push('munged')
    if ((await ensureMariadb(ctx, ids, password)) === 'started') started.push('mariadb')

    await mkdir(`${paths.stateSave}/${spec.cluster.name}`, { recursive: true, mode: 0o755 })
    await writeFilesAtomically(paths.etc, [...files, { name: 'slurmdbd.conf', content: dbdConf, mode: 0o600 }])
    const dbd = await ensureSlurmdbd(ctx, ids, previous !== undefined && previous.slurmdbdConf !== dbdConf)
    if (dbd !== 'running') started.push('slurmdbd')
    // The cluster must exist in slurmdbd before slurmctld registers with it.
    if (accounting) {
      if ((await ensureClusterRegistered(ctx, spec.cluster.name)) === 'registered') log(`registered cluster ${spec.cluster.name} in slurmdbd`)
      const qos = await ensureQosExist(ctx, qosNamedBy(next.files['slurm.conf'] ?? ''))
      if (qos.length > 0) log(`created bare QoS named by slurm.conf's partitions: ${qos.join(', ')}`)
    }
    if (options.beforeController) await options.beforeController({ SLURM_CONF: paths.slurmConf })

    const devicesCreated = await ensureDevices(ctx.exec, gpuDeviceFiles(spec, nodes), paths.devicesRecord, location.rootfs)
    if (devicesCreated.length > 0) log(`created GPU stand-in devices (c 1 3): ${devicesCreated.join(' ')}`)

    // slurmctld: start, or take the new files the way this Slurm release allows. The
    // change is judged against what the last successful `up` applied, which the running
    // slurmd daemons read; a dead slurmctld alone does not make them stale.
    const ctldPid = await ourPid(paths.slurmctldPid, ids.slurmctld)
    const change: ConfigChange = configChange(previous?.applied, next, releaseNumber(version))
    if (change !== 'none' && previous?.applied) {
      // Until this `up` completes, nothing running is known to match a config.
      const { applied: _stale, ...dirty } = previous
      await ctx.exec.writeFileAtomic(paths.record, `${JSON.stringify(dirty, null, 2)}\n`, 0o600)
    }
    await takeFiles(ctx, ids, change, ctldPid, nodes, spec.nodeGroups.flatMap((g) => expandHostlist(g.nodes)), started, log)

    const record: SandboxRecord = {
      version: 1,
      clusterName: spec.cluster.name,
      specHash: specHash(spec),
      nodesPerGroup: perGroup,
      nodes,
      slurmVersion: version,
      applied: next,
      slurmdbdConf: dbdConf,
      updatedAt: new Date().toISOString(),
    }
    await ctx.exec.writeFileAtomic(paths.record, `${JSON.stringify(record, null, 2)}\n`, 0o600)
    const total = spec.nodeGroups.reduce((sum, g) => sum + expandHostlist(g.nodes).length, 0)
    return {
      stateDir: paths.root,
      slurmConf: paths.slurmConf,
      env: { SLURM_CONF: paths.slurmConf },
      clusterName: spec.cluster.name,
      nodes,
      downNodes: total - nodes.length,
      action: ctldPid === undefined ? 'started' : change === 'none' ? 'unchanged' : change === 'reconfigure' ? 'reconfigured' : 'restarted',
      started,
      devicesCreated,
      jobsDir: paths.jobs,
      slurmVersion: version,
      release: location.release,
      ...(location.rootfs ? { rootfs: location.rootfs } : {}),
      durationMs: Date.now() - startedAt,
    }
  })
}

export interface SandboxReloadOptions extends SandboxOptions {
  /** Restart slurmctld and every slurmd instead of `scontrol reconfigure`. */
  restart?: boolean
}

export interface SandboxReloadResult {
  stateDir: string
  clusterName: string
  /** `restarted` also when a reconfigure was asked for a change that needs a restart on this release. */
  action: 'reconfigured' | 'restarted' | 'started'
  /** Why a reconfigure became a restart, when it did. */
  reason?: string
  /** The nodes the installed slurm.conf emulates (NodeName lines with their own Port). */
  nodes: string[]
  started: string[]
  durationMs: number
}

/** Emulated nodes of an installed slurm.conf: single-node NodeName lines with their own `Port`. */
export function emulatedNodesOf(slurmConf: string): EmulatedNode[] {
  const nodes: EmulatedNode[] = []
  for (const line of meaningfulLines(slurmConf)) {
    const name = /^NodeName=(\S+)/.exec(line)?.[1]
    const port = /\sPort=(\d+)/.exec(line)?.[1]
    if (name && port && name !== 'DEFAULT' && !/[[,]/.test(name)) nodes.push({ name, group: '', port: Number(port) })
  }
  return nodes
}

/**
 * Makes the running sandbox take the files now in its etc/ (written there by `apply`):
 * `scontrol reconfigure`, or a restart of slurmctld and the slurmd daemons with
 * `restart` (or when this Slurm release cannot reconfigure the change, e.g. a changed
 * node set before 24.11). Starts slurmd for newly emulated nodes, stops the others,
 * creates missing GPU stand-ins, and waits for the nodes. Root only.
 */
export async function sandboxReload(options: SandboxReloadOptions = {}): Promise<SandboxReloadResult> {
  const startedAt = Date.now()
  requireRoot('reload')
  const log = options.log ?? (() => undefined)
  const location = locate(options)
  const paths = location.paths
  const found = await sandboxPrograms(location, false, log)
  const programs = found.programs
  const slurmConf = await readFile(paths.slurmConf, 'utf8').catch(() => undefined)
  if (slurmConf === undefined) throw new SandboxError(`${paths.slurmConf} does not exist: boot the sandbox first (steward sandbox up)`)
  return withLock(paths, log, async () => {
    const ctx = context(location, options, found)
    const ids = await identities(ctx)
    const version = await slurmVersion(ctx.exec, programs)
    const clusterName = /^ClusterName=(\S+)/m.exec(slurmConf)?.[1]
    if (!clusterName) throw new SandboxError(`${paths.slurmConf} has no ClusterName`)
    const names = (await readdir(paths.etc)).filter((n) => n !== 'slurmdbd.conf' && !n.startsWith('.'))
    const files: Record<string, string> = {}
    for (const name of names) {
      const text = await readFile(`${paths.etc}/${name}`, 'utf8').catch(() => undefined)
      if (text !== undefined) files[name] = text
    }
    const next: AppliedConfig = { clusterName, files }
    const nodes = emulatedNodesOf(slurmConf)
    const all = [...parseSlurmConf(slurmConf).nodes]
    const previous = await readRecord(paths)
    const started: string[] = []

    // What the config relies on must run (a reload after a reboot or a killed session).
    if ((await ensureMunge(ctx, ids)) === 'started') started.push('munged')
    if (await exists(paths.slurmdbdConf)) {
      if ((await ensureMariadb(ctx, ids, await dbPassword(paths))) === 'started') started.push('mariadb')
      if ((await ensureSlurmdbd(ctx, ids, false)) !== 'running') started.push('slurmdbd')
    }
    const gres = files['gres.conf'] ?? ''
    const devices = [...new Set([...gres.matchAll(/\sFile=(\S+)/g)].flatMap((m) => expandDevices(m[1] as string)))].sort()
    const devicesCreated = await ensureDevices(ctx.exec, devices, paths.devicesRecord, location.rootfs)
    if (devicesCreated.length > 0) log(`created GPU stand-in devices (c 1 3): ${devicesCreated.join(' ')}`)

    const needed = configChange(previous?.applied, next, releaseNumber(version))
    let restart = options.restart === true
    let reason: string | undefined
    if (!restart && needed === 'restart') {
      restart = true
      reason = previous?.applied
        ? `Slurm ${version} cannot take this change with scontrol reconfigure (node lines, plugins, ports or paths changed)`
        : 'the running daemons\' config is unknown (no completed up/reload recorded)'
      log(`restarting instead of reconfiguring: ${reason}`)
    }
    if (previous?.applied) {
      const { applied: _stale, ...dirty } = previous
      await ctx.exec.writeFileAtomic(paths.record, `${JSON.stringify(dirty, null, 2)}\n`, 0o600)
    }
    const ctldPid = await ourPid(paths.slurmctldPid, ids.slurmctld)
    await takeFiles(ctx, ids, restart ? 'restart' : 'reconfigure', ctldPid, nodes, all, started, log)

    const record: SandboxRecord = {
      version: 1,
      clusterName,
      specHash: previous?.clusterName === clusterName ? previous.specHash : '',
      nodesPerGroup: previous?.nodesPerGroup ?? DEFAULT_NODES_PER_GROUP,
      nodes,
      slurmVersion: version,
      applied: next,
      slurmdbdConf: await readFile(paths.slurmdbdConf, 'utf8').catch(() => previous?.slurmdbdConf ?? ''),
      updatedAt: new Date().toISOString(),
    }
    await ctx.exec.writeFileAtomic(paths.record, `${JSON.stringify(record, null, 2)}\n`, 0o600)
    return {
      stateDir: paths.root,
      clusterName,
      action: ctldPid === undefined ? 'started' : restart ? 'restarted' : 'reconfigured',
      ...(reason ? { reason } : {}),
      nodes: nodes.map((n) => n.name),
      started,
      durationMs: Date.now() - startedAt,
    }
  })
}

export interface SandboxDownOptions extends SandboxOptions {
  /** Also delete the state directory (database, saved state, logs, munge key). */
  purge?: boolean
}

export interface SandboxDownResult {
  stateDir: string
  /** Daemons that were running and were stopped, as `name` or `slurmd:<node>`. */
  stopped: string[]
  /** Jobs cancelled before slurmctld stopped. */
  cancelledJobs: number
  removedDevices: string[]
  purged: boolean
}

/** Cancels every job so no job step outlives its slurmd. */
async function cancelAllJobs(ctx: SandboxContext): Promise<number> {
  const listed = await ctx.exec.run([ctx.programs.squeue, '-h', '-o', '%A'], { timeoutMs: 30_000 })
  const ids = listed.code === 0 ? listed.stdout.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l)) : []
  if (ids.length === 0) return 0
  await ctx.exec.run([ctx.programs.scancel, ...ids], { timeoutMs: 30_000 })
  await waitFor('cancelled jobs to end', async () => {
    const left = await ctx.exec.run([ctx.programs.squeue, '-h', '-o', '%A'], { timeoutMs: 30_000 })
    return left.code !== 0 || left.stdout.trim() === ''
  }, 30_000, 500).catch(() => ctx.log('some jobs were still ending when slurmctld stopped'))
  return ids.length
}

/** Stops every daemon of the sandbox (idempotent) and removes the device files it created. Root only. */
export async function sandboxDown(options: SandboxDownOptions = {}): Promise<SandboxDownResult> {
  requireRoot('down')
  const location = locate(options)
  const paths = location.paths
  const result: SandboxDownResult = { stateDir: location.stateDir, stopped: [], cancelledJobs: 0, removedDevices: [], purged: false }
  const log = options.log ?? (() => undefined)
  if (!(await exists(paths.root))) {
    // A root whose sandbox never started (or a half-made one) still goes with --purge.
    if (options.purge && location.rootfs) result.purged = await purgeRootState(location)
    return result
  }
  return withLock(paths, log, async () => {
    const ctx = context(location, options, await downPrograms(location))
    const ids = await identities(ctx)
    const ctldPid = await ourPid(paths.slurmctldPid, ids.slurmctld)
    if (ctldPid !== undefined && (await controllerUp(ctx).catch(() => false))) result.cancelledJobs = await cancelAllJobs(ctx)
    for (const node of await slurmdPidFileNodes(paths)) {
      const r = await stopDaemon(slurmdPidFile(paths, node), ids.slurmd(node), ctx.timeouts.stopGraceMs)
      if (r.pid !== undefined) result.stopped.push(`slurmd:${node}`)
    }
    const order: Array<[string, string, (typeof ids)['munged']]> = [
      ['slurmctld', paths.slurmctldPid, ids.slurmctld],
      ['slurmdbd', paths.slurmdbdPid, ids.slurmdbd],
      ['mariadb', paths.mysqlPid, ids.mariadb],
      ['munged', paths.mungePid, ids.munged],
    ]
    for (const [name, pidFile, identity] of order) {
      const r = await stopDaemon(pidFile, identity, name === 'mariadb' ? 60_000 : ctx.timeouts.stopGraceMs)
      if (r.pid !== undefined) result.stopped.push(name)
    }
    await rm(paths.mungeSocket, { force: true })
    result.removedDevices = await removeCreatedDevices(paths.devicesRecord, location.rootfs)
    if (result.stopped.length > 0) log(`stopped ${result.stopped.join(', ')}`)
    if (options.purge) {
      if (!(await exists(paths.marker))) throw new SandboxError(`${paths.root} has no ${paths.marker}: not purging a directory the sandbox did not make`)
      // The lock file goes with the directory; withLock's removal is then a no-op.
      if (location.rootfs) result.purged = await purgeRootState(location)
      else {
        await rm(paths.root, { recursive: true, force: true })
        result.purged = true
      }
    }
    return result
  })
}

/**
 * Deletes the state directory of a sandbox in a root: the root itself (made again by
 * the next `up`) and the sandbox's files in it. Refuses while anything is mounted below
 * it (the daemons' /proc mounts live in their own namespaces and are gone with them).
 */
async function purgeRootState(location: SandboxLocation): Promise<boolean> {
  const dir = location.stateDir
  if (!(await exists(dir))) return false
  if (rootMarker(location.rootfs as string) === undefined && !(await exists(`${location.rootfs as string}.partial`)) && !(await exists(location.paths.marker))) {
    throw new SandboxError(`${dir} holds no sandbox root: not purging a directory the sandbox did not make`)
  }
  const mounts = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  const below = mounts.split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${dir}/`))
  if (below.length > 0) throw new SandboxError(`not purging ${dir}: ${below.join(', ')} mounted below it`)
  await rm(dir, { recursive: true, force: true })
  return true
}

/** Programs of a sandbox for stopping it: the root's, or the host's (bare paths for missing ones). */
async function downPrograms(location: SandboxLocation): Promise<FoundPrograms> {
  if (location.rootfs && rootMarker(location.rootfs) !== undefined) {
    return findRootPrograms(location.rootfs, sandboxExecutor(location)).catch((err: unknown) => {
      if (err instanceof SandboxInstallError) return { programs: programPaths() }
      throw err
    })
  }
  return { programs: programPaths() }
}

/** Programs found on this machine; for ones that are missing the bare name (nothing runs that we could stop). */
function programPaths(): SandboxPrograms {
  const { programs } = findPrograms()
  const fallback = (name: string) => `/usr/sbin/${name}`
  return {
    munged: programs.munged ?? fallback('munged'),
    mungekey: programs.mungekey ?? fallback('mungekey'),
    munge: programs.munge ?? '/usr/bin/munge',
    mariadbd: programs.mariadbd ?? fallback('mariadbd'),
    mariadbInstallDb: programs.mariadbInstallDb ?? '/usr/bin/mariadb-install-db',
    mariadb: programs.mariadb ?? '/usr/bin/mariadb',
    slurmdbd: programs.slurmdbd ?? fallback('slurmdbd'),
    slurmctld: programs.slurmctld ?? fallback('slurmctld'),
    slurmd: programs.slurmd ?? fallback('slurmd'),
    sacctmgr: programs.sacctmgr ?? '/usr/bin/sacctmgr',
    scontrol: programs.scontrol ?? '/usr/bin/scontrol',
    sinfo: programs.sinfo ?? '/usr/bin/sinfo',
    squeue: programs.squeue ?? '/usr/bin/squeue',
    scancel: programs.scancel ?? '/usr/bin/scancel',
  }
}

/** One daemon in `status`. */
export interface DaemonStatus {
  /** `munged`, `mariadb`, `slurmdbd`, `slurmctld` or `slurmd`. */
  name: string
  /** For slurmd: the node it emulates. */
  node?: string
  pid?: number
  alive: boolean
  logFile: string
}

export interface SandboxStatus {
  stateDir: string
  slurmConf: string
  /** Whether `up` ever completed here (sandbox.json exists). */
  configured: boolean
  clusterName?: string
  nodesPerGroup?: number
  slurmVersion?: string
  /** The release this sandbox is for (`22.05` or `24.11`). */
  release: SandboxRelease
  /** The Debian root the daemons run in (a release other than the host's). */
  rootfs?: string
  /** `make-root.sh`'s note in a complete root: suite, Slurm version, date. */
  rootNote?: string
  daemons: DaemonStatus[]
  /** Every daemon of the last `up` runs. */
  running: boolean
  /** GPU stand-in devices the sandbox created that still exist. */
  devices: string[]
}

/**
 * Which daemons run (pid and whether it is alive and ours). Reads pid files and /proc;
 * as a non-root user processes' environments are unreadable, so run it as root.
 */
export async function sandboxStatus(options: SandboxOptions = {}): Promise<SandboxStatus> {
  const location = locate(options)
  const paths = location.paths
  const record = await readRecord(paths)
  const ctx = context(location, options, await downPrograms(location))
  const ids = await identities(ctx)
  const one = async (name: string, pidFile: string, identity: (typeof ids)['munged'], logFile: string, node?: string): Promise<DaemonStatus> => {
    const pid = await readPidFile(pidFile)
    const alive = pid !== undefined && (await ourPid(pidFile, identity)) !== undefined
    return { name, ...(node ? { node } : {}), ...(pid !== undefined ? { pid } : {}), alive, logFile }
  }
  const daemons = [
    await one('munged', paths.mungePid, ids.munged, paths.mungeLog),
    await one('mariadb', paths.mysqlPid, ids.mariadb, paths.mysqlLog),
    await one('slurmdbd', paths.slurmdbdPid, ids.slurmdbd, paths.slurmdbdLog),
    await one('slurmctld', paths.slurmctldPid, ids.slurmctld, paths.slurmctldLog),
  ]
  const nodes = [...new Set([...(record?.nodes.map((n) => n.name) ?? []), ...(await slurmdPidFileNodes(paths))])].sort()
  for (const node of nodes) daemons.push(await one('slurmd', slurmdPidFile(paths, node), ids.slurmd(node), slurmdLogFile(paths, node), node))
  const wanted = new Set(record?.nodes.map((n) => n.name) ?? [])
  return {
    stateDir: location.stateDir,
    slurmConf: paths.slurmConf,
    configured: record !== undefined,
    ...(record ? { clusterName: record.clusterName, nodesPerGroup: record.nodesPerGroup, slurmVersion: record.slurmVersion } : {}),
    release: location.release,
    ...(location.rootfs ? { rootfs: location.rootfs } : {}),
    ...(location.rootfs && rootMarker(location.rootfs) ? { rootNote: rootMarker(location.rootfs) } : {}),
    daemons,
    running: record !== undefined && daemons.every((d) => d.alive || (d.name === 'slurmd' && !wanted.has(d.node ?? ''))),
    devices: await createdDevices(paths.devicesRecord, location.rootfs),
  }
}

/** The environment that points `sinfo`, `sbatch`, `sacctmgr`, ... at the sandbox. */
export function sandboxEnv(options: Pick<SandboxOptions, 'stateDir' | 'release'> = {}): { SLURM_CONF: string } {
  return { SLURM_CONF: locate(options).paths.slurmConf }
}

/** Where the sandbox of a release is and how to reach it (`release` default: `STEWARD_SANDBOX_SLURM` or the host's). */
export function sandboxTarget(options: Pick<SandboxOptions, 'stateDir' | 'release'> = {}): SandboxLocation {
  return locate(options)
}

/**
 * The sandbox's layout: where every file, socket and port of the local real-Slurm
 * sandbox lives, which spec nodes it emulates, and the sandbox-only settings layered over
 * the rendered files. Pure: no I/O, so all of it is unit-tested.
 */
import { isAbsolute, join, resolve } from 'node:path'
import type { ClusterSpec } from '../spec/schema.js'
import { expandHostlist } from '../slurm/hostlist.js'
import type { NodeAddress, SiteSettings } from '../slurm/render-options.js'
import { expandDevices, gpuDevices, slurmRelease } from '../slurm/view-model.js'

export const DEFAULT_STATE_DIR = '/var/lib/steward-sandbox'
export const STATE_DIR_ENV = 'STEWARD_SANDBOX_DIR'
export const DEFAULT_NODES_PER_GROUP = 2
/** Unix socket paths longer than this do not fit `sun_path` (108 bytes) with margin. */
export const MAX_SOCKET_PATH = 100

/**
 * Ports of the sandbox: away from Slurm's defaults (6817/6818/6819) and MariaDB's 3306,
 * so an unrelated Slurm or database on the machine does not clash.
 */
export interface SandboxPorts {
  slurmctld: number
  /** `SlurmdPort`: only nodes that are not emulated use it (nothing listens there). */
  slurmd: number
  slurmdbd: number
  mariadb: number
  /** The first emulated slurmd listens here, the next on +1, and so on. */
  firstNode: number
}

export const DEFAULT_PORTS: SandboxPorts = {
  slurmctld: 16817,
  slurmd: 16818,
  slurmdbd: 16819,
  mariadb: 13306,
  firstNode: 17000,
}

/** Thrown for a layout that cannot work (relative state dir, socket path too long, ...). */
export class SandboxLayoutError extends Error {
  override name = 'SandboxLayoutError'
}

/** The state directory: `STEWARD_SANDBOX_DIR`, else `/var/lib/steward-sandbox`. */
export function resolveStateDir(env: Readonly<Record<string, string | undefined>> = process.env, explicit?: string): string {
  const dir = explicit ?? env[STATE_DIR_ENV] ?? DEFAULT_STATE_DIR
  if (dir === '') return DEFAULT_STATE_DIR
  if (!isAbsolute(dir)) throw new SandboxLayoutError(`the sandbox state directory must be an absolute path, not "${dir}"`)
  const clean = resolve(dir)
  if (clean === '/') throw new SandboxLayoutError('the sandbox state directory cannot be /')
  return clean
}

/** Every path of the sandbox, all under one state directory. */
export interface SandboxPaths {
  root: string
  /** Marker that the directory belongs to the sandbox (checked before `down --purge`). */
  marker: string
  /** Record of what the last successful `up` applied (JSON). */
  record: string
  /** Device files the sandbox created, so `down` removes exactly those (JSON). */
  devicesRecord: string
  lock: string
  etc: string
  slurmConf: string
  slurmdbdConf: string
  run: string
  log: string
  mungeDir: string
  mungeKey: string
  mungeSeed: string
  mungeSocket: string
  mungePid: string
  mungeLog: string
  mysqlData: string
  /** Written after the data directory was initialised and the slurmdbd user created. */
  mysqlReady: string
  mysqlSocket: string
  mysqlPid: string
  mysqlLog: string
  /** Password of the database user of slurmdbd (mode 600). */
  dbPassword: string
  slurmdbdPid: string
  slurmdbdLog: string
  slurmctldPid: string
  slurmctldLog: string
  /** Parent of the per-cluster StateSaveLocation directories. */
  stateSave: string
  /** Parent of the per-node slurmd spool directories. */
  spool: string
  /** World-writable (sticky) directory for job scripts' output. */
  jobs: string
}

/** The paths under `root`; throws when a Unix socket path would be too long. */
export function sandboxPaths(root: string): SandboxPaths {
  const run = join(root, 'run')
  const log = join(root, 'log')
  const etc = join(root, 'etc')
  const mungeDir = join(root, 'munge')
  const paths: SandboxPaths = {
    root,
    marker: join(root, '.steward-sandbox'),
    record: join(root, 'sandbox.json'),
    devicesRecord: join(root, 'devices.json'),
    lock: join(root, 'lock'),
    etc,
    slurmConf: join(etc, 'slurm.conf'),
    slurmdbdConf: join(etc, 'slurmdbd.conf'),
    run,
    log,
    mungeDir,
    mungeKey: join(mungeDir, 'munge.key'),
    mungeSeed: join(mungeDir, 'munged.seed'),
    mungeSocket: join(run, 'munge.sock'),
    mungePid: join(run, 'munged.pid'),
    mungeLog: join(log, 'munged.log'),
    mysqlData: join(root, 'mysql'),
    mysqlReady: join(root, 'mysql', '.steward-ready'),
    mysqlSocket: join(run, 'mysqld.sock'),
    mysqlPid: join(run, 'mysqld.pid'),
    mysqlLog: join(log, 'mysqld.log'),
    dbPassword: join(root, 'secrets', 'slurmdbd-db.pass'),
    slurmdbdPid: join(run, 'slurmdbd.pid'),
    slurmdbdLog: join(log, 'slurmdbd.log'),
    slurmctldPid: join(run, 'slurmctld.pid'),
    slurmctldLog: join(log, 'slurmctld.log'),
    stateSave: join(root, 'state'),
    spool: join(root, 'spool'),
    jobs: join(root, 'jobs'),
  }
  for (const socket of [paths.mungeSocket, paths.mysqlSocket]) {
    if (Buffer.byteLength(socket) >= MAX_SOCKET_PATH) {
      throw new SandboxLayoutError(`socket path ${socket} is ${Buffer.byteLength(socket)} bytes; choose a shorter ${STATE_DIR_ENV} (sockets must stay under ${MAX_SOCKET_PATH})`)
    }
  }
  return paths
}

/** Per-node files, named the way slurm.conf's `%n` expands them. */
export const slurmdPidFile = (paths: SandboxPaths, node: string): string => join(paths.run, `slurmd-${node}.pid`)
export const slurmdLogFile = (paths: SandboxPaths, node: string): string => join(paths.log, `slurmd-${node}.log`)
export const slurmdSpoolDir = (paths: SandboxPaths, node: string): string => join(paths.spool, node)
export const stateSaveLocation = (paths: SandboxPaths, cluster: string): string => join(paths.stateSave, cluster)

/** The node name in a `slurmd-<node>.pid` file name, or undefined for other files. */
export function nodeOfPidFile(fileName: string): string | undefined {
  const m = /^slurmd-(.+)\.pid$/.exec(fileName)
  return m?.[1]
}

/** One emulated node: its name, the group it belongs to and the port its slurmd uses. */
export interface EmulatedNode {
  name: string
  group: string
  port: number
}

/**
 * The nodes a sandbox runs a `slurmd -N` for: the first `perGroup` nodes of each group
 * (in hostlist order), ports counted up from `firstPort` across groups.
 */
export function emulatedNodes(spec: ClusterSpec, perGroup: number, firstPort: number): EmulatedNode[] {
  // At least one: the renderer places the other nodes at an emulated node's address.
  if (!Number.isInteger(perGroup) || perGroup < 1) throw new SandboxLayoutError(`nodes per group must be a whole number >= 1, not ${perGroup}`)
  const nodes: EmulatedNode[] = []
  for (const group of spec.nodeGroups) {
    for (const name of expandHostlist(group.nodes).slice(0, perGroup)) {
      nodes.push({ name, group: group.name, port: firstPort + nodes.length })
    }
  }
  return nodes
}

/** The renderer's `nodeAddresses`: every emulated node on this host at 127.0.0.1. */
export function nodeAddresses(nodes: readonly EmulatedNode[], hostname: string): Map<string, NodeAddress> {
  return new Map(nodes.map((n) => [n.name, { port: n.port, nodeHostname: hostname, nodeAddr: '127.0.0.1' }]))
}

/** Host names the sandbox writes into slurm.conf: letters, digits, `-` and `.`. */
export function checkHostname(hostname: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(hostname)) {
    throw new SandboxLayoutError(`this host's name "${hostname}" cannot go into slurm.conf (letters, digits, - and . only)`)
  }
  return hostname
}

/**
 * The site settings of a sandbox: every path under the state dir, daemons as root, no
 * cgroups. `release` is the sandbox's Slurm (`22.05`, `24.11`): from 24.11 there is no
 * task/none (no TaskPlugin line instead) and slurmd needs cgroups off in cgroup.conf.
 */
export function sandboxSite(paths: SandboxPaths, spec: ClusterSpec, hostname: string, ports: SandboxPorts, release = '22.05'): Partial<SiteSettings> {
  const from2411 = slurmRelease(release) >= 2411
  const site: Partial<SiteSettings> = {
    slurmUser: 'root',
    slurmdUser: 'root',
    slurmctldPort: ports.slurmctld,
    slurmdPort: ports.slurmd,
    stateSaveLocation: stateSaveLocation(paths, spec.cluster.name),
    slurmdSpoolDir: join(paths.spool, '%n'),
    slurmctldPidFile: paths.slurmctldPid,
    slurmdPidFile: join(paths.run, 'slurmd-%n.pid'),
    slurmctldLogFile: paths.slurmctldLog,
    slurmdLogFile: join(paths.log, 'slurmd-%n.log'),
    authInfo: `socket=${paths.mungeSocket}`,
    accountingStoragePort: ports.slurmdbd,
    // Several slurmd share one host and one cgroup tree here, so no cgroup plugins.
    proctrackType: 'proctrack/linuxproc',
    taskPlugin: from2411 ? '' : 'task/none',
    ...(from2411 ? { cgroupPlugin: 'disabled' } : {}),
    slurmdParameters: 'config_overrides',
    configDir: paths.etc,
    controllerHost: hostname,
    controllerAddr: '127.0.0.1',
  }
  // Accounting stays as the spec says: on (to the local slurmdbd) only when it names a host.
  // slurmctld and the clients reach slurmdbd with the MUNGE socket named by
  // AccountingStoragePass (not AuthInfo): without it they look for /run/munge.
  if (spec.cluster.accounting) {
    site.accountingStorageHost = '127.0.0.1'
    site.accountingStoragePass = paths.mungeSocket
  }
  return site
}

/**
 * QoS names a slurm.conf refers to (partitions' `QOS=` and `AllowQos=`). slurmctld exits
 * at start when a partition's `QOS=` is not in slurmdbd ("Partition ... has an invalid
 * qos") and drops unknown `AllowQos` names, so they must exist before it reads the file.
 */
export function qosNamedBy(slurmConf: string): string[] {
  const names = new Set<string>()
  for (const line of meaningfulLines(slurmConf)) {
    if (!line.startsWith('PartitionName=')) continue
    for (const m of line.matchAll(/(?:^|\s)(?:QOS|AllowQos)=(\S+)/gi)) {
      for (const name of (m[1] as string).split(',')) if (name !== '' && name.toUpperCase() !== 'ALL') names.add(name.toLowerCase())
    }
  }
  return [...names].sort()
}

/** slurmdbd.conf of the sandbox (written mode 600: it holds the database password). */
export function slurmdbdConf(paths: SandboxPaths, ports: SandboxPorts, dbPassword: string): string {
  if (!/^[A-Za-z0-9]{8,128}$/.test(dbPassword)) throw new SandboxLayoutError('the database password must be 8-128 letters and digits')
  return [
    '# HPC Steward sandbox: slurmdbd with a private MariaDB. Managed by `steward sandbox up`.',
    'AuthType=auth/munge',
    `AuthInfo=socket=${paths.mungeSocket}`,
    'DbdHost=localhost',
    'DbdAddr=127.0.0.1',
    `DbdPort=${ports.slurmdbd}`,
    'SlurmUser=root',
    `PidFile=${paths.slurmdbdPid}`,
    `LogFile=${paths.slurmdbdLog}`,
    'DebugLevel=info',
    'StorageType=accounting_storage/mysql',
    'StorageHost=127.0.0.1',
    `StoragePort=${ports.mariadb}`,
    `StorageUser=${DB_USER}`,
    `StoragePass=${dbPassword}`,
    `StorageLoc=${DB_NAME}`,
    '',
  ].join('\n')
}

export const DB_USER = 'slurm'
export const DB_NAME = 'slurm_acct_db'

/** SQL that creates (or updates) the database user of slurmdbd; idempotent. */
export function dbUserSql(dbPassword: string): string {
  if (!/^[A-Za-z0-9]{8,128}$/.test(dbPassword)) throw new SandboxLayoutError('the database password must be 8-128 letters and digits')
  return [
    `CREATE USER IF NOT EXISTS '${DB_USER}'@'127.0.0.1' IDENTIFIED BY '${dbPassword}';`,
    `ALTER USER '${DB_USER}'@'127.0.0.1' IDENTIFIED BY '${dbPassword}';`,
    `GRANT ALL ON ${DB_NAME}.* TO '${DB_USER}'@'127.0.0.1';`,
    'FLUSH PRIVILEGES;',
    '',
  ].join('\n')
}

/** argv of the private munged (it forks into the background itself). */
export function mungedArgs(paths: SandboxPaths): string[] {
  return [
    `--socket=${paths.mungeSocket}`,
    `--key-file=${paths.mungeKey}`,
    `--pid-file=${paths.mungePid}`,
    `--log-file=${paths.mungeLog}`,
    `--seed-file=${paths.mungeSeed}`,
    '--num-threads=10',
  ]
}

/** argv of the private MariaDB server (it stays in the foreground; we detach it). */
export function mariadbArgs(paths: SandboxPaths, ports: SandboxPorts): string[] {
  return [
    '--no-defaults',
    `--datadir=${paths.mysqlData}`,
    '--user=root',
    '--bind-address=127.0.0.1',
    `--port=${ports.mariadb}`,
    `--socket=${paths.mysqlSocket}`,
    `--pid-file=${paths.mysqlPid}`,
    `--log-error=${paths.mysqlLog}`,
    '--skip-name-resolve',
    // Loopback only, so no TLS. MariaDB 11.8 (Debian 13, the 24.11 sandbox) turns TLS on
    // by itself, and slurmdbd 24.11.5 then fails its first query ("5027 Number of
    // columns in result ... exceeds maximum allowed").
    '--skip-ssl',
    // What slurmdbd asks for (it logs "Database settings not recommended values" otherwise).
    '--innodb-buffer-pool-size=128M',
    '--innodb-lock-wait-timeout=900',
  ]
}

/**
 * Options of the `mariadb` client as root over the server's socket, without TLS (the
 * server has none; MariaDB 11.8's client would otherwise insist on it).
 */
export function mariadbClientArgs(paths: SandboxPaths): string[] {
  return ['--no-defaults', `--socket=${paths.mysqlSocket}`, '--user=root', '--skip-ssl']
}

/** argv of the one-time data directory initialisation. */
export function mariadbInstallArgs(paths: SandboxPaths): string[] {
  return [
    '--no-defaults',
    `--datadir=${paths.mysqlData}`,
    '--user=root',
    '--auth-root-authentication-method=socket',
    '--skip-test-db',
    '--skip-name-resolve',
  ]
}

/** Device files that `gres.conf` names for the emulated nodes' GPUs. */
export function gpuDeviceFiles(spec: ClusterSpec, nodes: readonly EmulatedNode[]): string[] {
  const groups = new Set(nodes.map((n) => n.group))
  const files = spec.nodeGroups
    .filter((g) => g.gpus && groups.has(g.name))
    .flatMap((g) => expandDevices(gpuDevices(g)))
  return [...new Set(files)].sort()
}

/** Slurm's `major.minor` as a number: "22.05.8" -> 2205. */
export function releaseNumber(version: string): number {
  const release = slurmRelease(version)
  if (Number.isNaN(release)) throw new SandboxLayoutError(`cannot read a Slurm version from "${version}"`)
  return release
}

/** How a running sandbox takes a new set of files. */
export type ConfigChange = 'none' | 'reconfigure' | 'restart'

export interface AppliedConfig {
  clusterName: string
  /** Content of each file in etc/, as the running daemons read it. */
  files: Record<string, string>
}

/** Files in etc/ that slurmctld or slurmd read (slurmdbd.conf is slurmdbd's, handled apart). */
const SLURM_READS = new Set(['slurm.conf', 'gres.conf', 'cgroup.conf', 'plugstack.conf', 'topology.conf', 'acct_gather.conf', 'job_container.conf'])

/** Lines that matter to Slurm: no comments, no blank lines, trailing spaces ignored. */
export function meaningfulLines(content: string): string[] {
  return content.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '' && !l.trimStart().startsWith('#'))
}

/**
 * What it takes to go from the applied config to the next one. Only partition lines may
 * change under `scontrol reconfigure` everywhere; node lines too from Slurm 24.11. Before
 * 24.11 a changed node set with `reconfigure` makes slurmctld exit ("MaxNodeCount has
 * changed ... slurmctld must be restarted"), and plugins, ports and paths are read at start
 * only, so anything else is a restart.
 */
export function configChange(applied: AppliedConfig | undefined, next: AppliedConfig, slurmRelease: number): ConfigChange {
  if (!applied || applied.clusterName !== next.clusterName) return 'restart'
  const names = new Set([...Object.keys(applied.files), ...Object.keys(next.files)])
  const changed = [...names].filter((name) => meaningfulLines(applied.files[name] ?? '').join('\n') !== meaningfulLines(next.files[name] ?? '').join('\n'))
  if (changed.length === 0) return 'none'
  // Files slurmctld and slurmd never read (pam snippet, provisioning parameters) need neither.
  const slurmFiles = changed.filter((name) => SLURM_READS.has(name))
  if (slurmFiles.length === 0) return 'none'
  if (slurmFiles.some((name) => name !== 'slurm.conf')) return 'restart'
  const before = meaningfulLines(applied.files['slurm.conf'] ?? '')
  const after = meaningfulLines(next.files['slurm.conf'] ?? '')
  const reconfigurable = slurmRelease >= 2411 ? /^(PartitionName|NodeName)=/ : /^PartitionName=/
  const others = (lines: string[]) => lines.filter((l) => !reconfigurable.test(l)).join('\n')
  return others(before) === others(after) ? 'reconfigure' : 'restart'
}

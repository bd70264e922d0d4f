/**
 * `steward sandbox up [FILE] [--nodes-per-group N] | reload [--restart] | down [--purge] |
 * status [--json] | env`, each with `--slurm 22.05|24.11` (default `STEWARD_SANDBOX_SLURM`,
 * else the host's release): the local real-Slurm sandbox (src/sandbox). Exit codes: 0 ok, 1 failure (which daemon,
 * and the tail of its log), 2 bad usage or an unreadable spec.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { loadSpecFile } from '../spec/load.js'
import {
  DEFAULT_NODES_PER_GROUP, RELEASE_ENV, SANDBOX_RELEASES, SandboxDaemonError, SandboxError, SandboxInstallError, SandboxLayoutError,
  type SandboxRelease, parseRelease, rootArgv, sandboxDown, sandboxReload, sandboxStatus, sandboxTarget, sandboxUp,
} from '../sandbox/index.js'
import { UsageError } from './usage.js'
import { projectRoot } from '../project-root.js'

const SANDBOX_USAGE = `steward sandbox up [FILE] [--nodes-per-group N] | reload [--restart] | down [--purge] | status [--json] | env, each with [--slurm ${SANDBOX_RELEASES.join('|')}]`

/** `--slurm`, shared by every sandbox command. */
const SLURM_OPTION = { slurm: { type: 'string' } } as const

/** The release of `--slurm`, or undefined (then `STEWARD_SANDBOX_SLURM` or the host's). */
function releaseOf(values: { slurm?: string | undefined }): { release?: SandboxRelease } {
  if (values.slurm === undefined) return {}
  try {
    return { release: parseRelease(values.slurm) }
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

const progress = (message: string) => console.error(`sandbox: ${message}`)

/** The spec `up` boots without FILE: the project's example (examples/campus.yaml). */
export function defaultSpecFile(root = projectRoot()): string {
  const candidates = [join(root, 'examples', 'campus.yaml'), resolve(root, '..', 'shared', 'examples', 'campus.yaml')]
  return candidates.find((c) => existsSync(c)) ?? (candidates[0] as string)
}

/** `export NAME=value` (default `SLURM_CONF`), quoted for a POSIX shell when the value needs it. */
export function exportLine(value: string, name = 'SLURM_CONF'): string {
  const quoted = /^[\w./:@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`
  return `export ${name}=${quoted}`
}

function parseNodesPerGroup(text: string | undefined): number {
  if (text === undefined) return DEFAULT_NODES_PER_GROUP
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1) throw new UsageError(`--nodes-per-group takes a whole number from 1, not "${text}"`)
  return Number(text)
}

async function up(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'nodes-per-group': { type: 'string', short: 'n' }, ...SLURM_OPTION } })
  if (positionals.length > 1) throw new UsageError(`sandbox up takes one spec file, not ${positionals.length}`)
  const release = releaseOf(values)
  const nodesPerGroup = parseNodesPerGroup(values['nodes-per-group'])
  const file = positionals[0] ?? defaultSpecFile()
  const { spec, warnings } = await loadSpecFile(file)
  for (const w of warnings) console.error(`${w.severity}: ${w.path || '/'}: ${w.message}`)
  const target = sandboxTarget(release)
  progress(`booting ${file} (cluster ${spec.cluster.name}, ${nodesPerGroup} node(s) per group) on Slurm ${target.release}${target.rootfs ? ` in ${target.rootfs}` : ''}`)
  const result = await sandboxUp({ spec, nodesPerGroup, log: progress, ...release })
  console.log(`sandbox ${result.action}: cluster ${result.clusterName} on Slurm ${result.slurmVersion}${result.rootfs ? ` (Debian root ${result.rootfs})` : ''} in ${(result.durationMs / 1000).toFixed(1)} s`)
  console.log(`  emulated nodes (${result.nodes.length}): ${result.nodes.map((n) => `${n.name}:${n.port}`).join(' ') || '(none)'}`)
  console.log(`  nodes rendered down (not emulated): ${result.downNodes}`)
  console.log(`  job output directory: ${result.jobsDir}`)
  console.log(`  use it: eval "$(steward sandbox env${release.release ? ` --slurm ${release.release}` : ''})"`)
  return 0
}

/** `reload [--restart]`: make the running sandbox take the files installed in its etc/ (by apply). */
async function reload(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { restart: { type: 'boolean' }, ...SLURM_OPTION } })
  if (positionals.length > 0) throw new UsageError('sandbox reload takes no arguments besides --restart and --slurm')
  const result = await sandboxReload({ restart: values.restart === true, log: progress, ...releaseOf(values) })
  console.log(`sandbox ${result.action}: cluster ${result.clusterName}, ${result.nodes.length} emulated node(s), in ${(result.durationMs / 1000).toFixed(1)} s${result.reason ? ` (${result.reason})` : ''}`)
  return 0
}

async function down(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { purge: { type: 'boolean' }, ...SLURM_OPTION } })
  if (positionals.length > 0) throw new UsageError('sandbox down takes no arguments besides --purge and --slurm')
  const result = await sandboxDown({ purge: values.purge === true, log: progress, ...releaseOf(values) })
  const stopped = result.stopped.length > 0 ? `stopped ${result.stopped.join(', ')}` : 'nothing was running'
  const jobs = result.cancelledJobs > 0 ? `; cancelled ${result.cancelledJobs} job(s)` : ''
  const devices = result.removedDevices.length > 0 ? `; removed ${result.removedDevices.join(' ')}` : ''
  console.log(`sandbox down: ${stopped}${jobs}${devices}${result.purged ? `; deleted ${result.stateDir}` : ''}`)
  return 0
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' }, ...SLURM_OPTION } })
  if (positionals.length > 0) throw new UsageError('sandbox status takes no arguments besides --json and --slurm')
  const s = await sandboxStatus(releaseOf(values))
  if (values.json) {
    console.log(JSON.stringify(s, null, 2))
    return 0
  }
  const summary = !s.configured ? 'never booted here' : s.running ? 'running' : 'not (fully) running'
  console.log(`sandbox ${s.stateDir} (Slurm ${s.release}${s.rootfs ? `, Debian root ${s.rootfs}${s.rootNote ? `: ${s.rootNote}` : ', not made yet'}` : ', this host\'s packages'}): ${summary}${s.clusterName ? ` (cluster ${s.clusterName}, Slurm ${s.slurmVersion}, ${s.nodesPerGroup} node(s) per group)` : ''}`)
  for (const d of s.daemons) {
    const name = d.node ? `${d.name} -N ${d.node}` : d.name
    console.log(`  ${name.padEnd(24)} ${d.alive ? 'running' : 'stopped'}${d.pid !== undefined ? ` (pid ${d.pid}${d.alive ? '' : ', stale'})` : ''}  log ${d.logFile}`)
  }
  if (s.devices.length > 0) console.log(`  GPU stand-in devices: ${s.devices.join(' ')}`)
  if (s.configured) console.log(`  ${exportLine(s.slurmConf)}`)
  return 0
}

/**
 * `env`: the exports that point Slurm's commands (and `steward plan/apply/import
 * --sandbox`) at the sandbox, and which release runs. For a release in a root, Slurm's
 * commands must run inside it (its clients speak its protocol): a comment says how.
 */
function env(args: string[]): number {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...SLURM_OPTION } })
  if (positionals.length > 0) throw new UsageError('sandbox env takes no arguments besides --slurm')
  const target = sandboxTarget(releaseOf(values))
  console.log(`# HPC Steward sandbox: Slurm ${target.release}${target.rootfs ? ` inside the Debian root ${target.rootfs}` : ' (this host\'s packages)'}`)
  console.log(exportLine(target.paths.slurmConf))
  console.log(exportLine(target.release, RELEASE_ENV))
  if (target.rootfs) console.log(`# run Slurm's commands inside the root, e.g.: ${rootArgv(target.rootfs, ['sinfo']).join(' ')}`)
  return 0
}

/** `steward sandbox ...` */
export async function sandboxCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  try {
    switch (sub) {
      case 'up':
        return await up(rest)
      case 'reload':
        return await reload(rest)
      case 'down':
        return await down(rest)
      case 'status':
        return await status(rest)
      case 'env':
        return env(rest)
      default:
        throw new UsageError(sub ? `unknown sandbox command "${sub}": ${SANDBOX_USAGE}` : `give a sandbox command: ${SANDBOX_USAGE}`)
    }
  } catch (err) {
    if (err instanceof SandboxDaemonError) {
      console.error(`steward: sandbox failed: ${err.message}`)
      if (err.logTail) console.error(`--- last lines of ${err.logFile} ---\n${err.logTail}`)
      return 1
    }
    if (err instanceof SandboxError || err instanceof SandboxInstallError || err instanceof SandboxLayoutError) {
      console.error(`steward: ${err.message}`)
      return 1
    }
    throw err
  }
}

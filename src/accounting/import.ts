/**
 * `steward import`: reads a live cluster's accounting (and the POSIX identity of its
 * users) and writes a spec that plans empty against the same cluster.
 */
import type { Executor } from '../adapters/executor.js'
import { validateSpec } from '../spec/validate.js'
import { SpecInvalidError } from '../spec/problems.js'
import { parseParsable } from '../slurm/sacctmgr.js'
import { readLiveAccounting } from './live.js'
import { getentLookup } from './posix.js'
import { buildImportedSpec, type ImportResult } from './import-spec.js'
import { LiveStateError } from './errors.js'

export interface ImportOptions {
  /** The cluster to import; default: the only cluster slurmdbd knows. */
  cluster?: string
  protectedAccounts?: readonly string[]
  protectedUsers?: readonly string[]
}

async function run(executor: Executor, argv: string[]): Promise<string> {
  const r = await executor.run(argv)
  if (r.code !== 0) throw new LiveStateError(`${argv.join(' ')} on ${executor.target} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`)
  return r.stdout
}

/** `22.05` from `slurm 22.05.8`. */
export function slurmRelease(versionOutput: string): string {
  const m = /(\d{2}\.\d{2})/.exec(versionOutput)
  if (!m?.[1]) throw new LiveStateError(`cannot read the Slurm version from "${versionOutput.trim()}"`)
  return m[1]
}

/** Imports a cluster's accounting as a spec; the spec is validated before it is returned. */
export async function importFromCluster(executor: Executor, options: ImportOptions = {}): Promise<ImportResult> {
  const clusters = parseParsable(await run(executor, ['sacctmgr', '-n', '-P', 'show', 'cluster', 'format=Cluster,ControlHost']), ['Cluster', 'ControlHost'] as const)
  const cluster = options.cluster ?? (clusters.length === 1 ? clusters[0]?.Cluster : undefined)
  if (!cluster) throw new LiveStateError(`slurmdbd knows ${clusters.length} clusters (${clusters.map((c) => c.Cluster).join(', ')}): name one with --cluster`)
  const row = clusters.find((c) => c.Cluster === cluster)
  if (!row) throw new LiveStateError(`slurmdbd does not know cluster "${cluster}"`)
  const slurmVersion = slurmRelease(await run(executor, ['sacctmgr', '--version']))
  const accounting = await readLiveAccounting(executor, cluster)
  const names = [...new Set([...accounting.associations.values()].map((a) => a.user))]
  const passwd = new Map((await getentLookup(executor, 'passwd', names)).map((e) => [e.name, e]))
  // A controller that has not registered yet has no ControlHost; localhost keeps the spec valid.
  const controllerHost = row.ControlHost && /^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(row.ControlHost) ? row.ControlHost : 'localhost'
  const result = buildImportedSpec(accounting, {
    slurmVersion, controllerHost, passwd,
    ...(options.protectedAccounts ? { protectedAccounts: options.protectedAccounts } : {}),
    ...(options.protectedUsers ? { protectedUsers: options.protectedUsers } : {}),
  })
  const validation = validateSpec(result.spec)
  if (!validation.ok) throw new SpecInvalidError(validation.errors)
  return result
}

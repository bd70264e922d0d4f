/**
 * Reads a cluster's live state through its Executor (argv only, `LC_ALL=C`, `TZ=UTC`):
 * nodes from `scontrol -o show node -d`, node events from `sacctmgr -n -P show event`.
 * Reads are cached for a few seconds per cluster (and shared while in flight), so a
 * dashboard with many viewers asks slurmctld once per interval, not once per page.
 */
import type { Executor } from '../adapters/executor.js'
import { formatIsoSeconds } from './time.js'
import { parseNodes, summarizeGpus, type GpuSummary, type NodeGpus } from './gpus.js'
import { DEFAULT_ADMINS, EVENT_FORMAT, parseEvents, type NodeEvent } from './reliability.js'

/** Thrown when a Slurm read fails on the controller (its message is Slurm's). */
export class ClusterReadError extends Error {
  override name = 'ClusterReadError'
}

export const DEFAULT_CACHE_MS = 5_000

export interface ClusterStateOptions {
  /** The executor of a cluster's controller. */
  executorFor(cluster: string): Promise<Executor>
  /** How long a read is reused (default 5 s); 0 reads every time. */
  cacheMs?: number
  /** Users whose maintenance drains count as planned (default root, slurm). */
  admins?: readonly string[]
  now?: () => Date
}

export interface GpuState extends GpuSummary {
  /** When Slurm was read (the answer may be up to `cacheSeconds` old). */
  readAt: string
  cacheSeconds: number
}

export interface ClusterStateService {
  nodes(cluster: string): Promise<{ nodes: NodeGpus[]; readAt: string }>
  gpus(cluster: string): Promise<GpuState>
  events(cluster: string, from: Date, to: Date): Promise<NodeEvent[]>
  readonly cacheSeconds: number
}

/** The plain environment every Slurm read runs in, as argv (no shell). */
const slurmArgv = (...argv: string[]): string[] => ['env', 'LC_ALL=C', 'TZ=UTC', ...argv]

async function run(executor: Executor, argv: string[]): Promise<string> {
  const r = await executor.run(argv, { timeoutMs: 30_000 })
  if (r.code !== 0) throw new ClusterReadError(`${argv.slice(3, 6).join(' ')} failed on ${executor.target}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`)
  return r.stdout
}

/** A cluster-state reader with a short cache. */
export function createClusterStateService(options: ClusterStateOptions): ClusterStateService {
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS
  const now = options.now ?? (() => new Date())
  const cache = new Map<string, { at: number; value: Promise<unknown> }>()

  function cached<T>(key: string, read: () => Promise<T>): Promise<T> {
    const hit = cache.get(key)
    const t = now().getTime()
    if (hit && t - hit.at < cacheMs) return hit.value as Promise<T>
    const value = read()
    cache.set(key, { at: t, value })
    // A failed read is not kept: the next request tries again.
    value.catch(() => { if (cache.get(key)?.value === value) cache.delete(key) })
    return value
  }

  const nodes = (cluster: string) => cached(`nodes\u0000${cluster}`, async () => {
    const executor = await options.executorFor(cluster)
    const readAt = now().toISOString()
    return { nodes: parseNodes(await run(executor, slurmArgv('scontrol', '-o', 'show', 'node', '-d'))), readAt }
  })

  return {
    cacheSeconds: cacheMs / 1000,
    nodes,
    // Summarised once per read, not once per request.
    gpus: (cluster) => cached(`gpus\u0000${cluster}`, async () => {
      const r = await nodes(cluster)
      return { ...summarizeGpus(r.nodes), readAt: r.readAt, cacheSeconds: cacheMs / 1000 }
    }),
    events(cluster, from, to) {
      return cached(`events\u0000${cluster}\u0000${from.getTime()}\u0000${to.getTime()}`, async () => {
        const executor = await options.executorFor(cluster)
        const argv = slurmArgv('sacctmgr', '-n', '-P', 'show', 'event', 'Event=node', `Start=${formatIsoSeconds(from)}`, `End=${formatIsoSeconds(to)}`, `format=${EVENT_FORMAT}`)
        return parseEvents(await run(executor, argv), options.admins ?? DEFAULT_ADMINS)
      })
    },
  }
}

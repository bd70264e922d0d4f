/**
 * `steward gpus TARGET` and `steward reliability --spec FILE TARGET`: GPUs free now and
 * node reliability read straight from a controller (the same reads the service makes).
 * With `--server URL --token-file F` they go through the service instead (remote.ts).
 */
import { parseArgs } from 'node:util'
import { createClusterStateService } from '../cluster-state/read.js'
import { reliabilityReport, reliabilityWindow, withLiveUnhealthy } from '../cluster-state/reliability.js'
import { loadSpecFile } from '../spec/load.js'
import { TARGET_OPTIONS, withController } from './controller.js'
import { formatGpus, formatReliability } from './cluster-state-format.js'
import { UsageError } from './usage.js'

/** A whole number option, or a usage error naming it. */
export function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`)
  return Number(value)
}

export const RELIABILITY_OPTIONS = {
  days: { type: 'string' },
  since: { type: 'string' },
  nodes: { type: 'string' },
  'checkpoint-seconds': { type: 'string' },
} as const

/** The reliability ask of parsed options. */
export function reliabilityAsk(values: { days?: string; since?: string; nodes?: string; 'checkpoint-seconds'?: string }) {
  const days = intOption('days', values.days, 1, 3650)
  const nodes = intOption('nodes', values.nodes, 1, 100_000)
  const checkpointSeconds = intOption('checkpoint-seconds', values['checkpoint-seconds'], 1, 86_400)
  return { ...(days ? { days } : {}), ...(values.since ? { since: values.since } : {}), ...(nodes ? { nodes } : {}), ...(checkpointSeconds ? { checkpointSeconds } : {}) }
}

export async function gpusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { ...TARGET_OPTIONS, json: { type: 'boolean' } }, allowPositionals: true, strict: true })
  if (positionals.length > 0) throw new UsageError('gpus takes no arguments (say which cluster with --sandbox, --local or --controller)')
  const summary = await withController(values, (executor) => createClusterStateService({ executorFor: async () => executor, cacheMs: 0 }).gpus('local'))
  console.log(values.json ? JSON.stringify(summary, null, 2) : formatGpus(summary))
  return 0
}

export async function reliabilityCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { ...TARGET_OPTIONS, ...RELIABILITY_OPTIONS, spec: { type: 'string' }, json: { type: 'boolean' } }, allowPositionals: true, strict: true })
  if (positionals.length > 0) throw new UsageError('reliability takes no arguments')
  if (!values.spec) throw new UsageError('reliability needs --spec FILE (its node groups)')
  const { spec } = await loadSpecFile(values.spec)
  const ask = reliabilityAsk(values)
  const { from, to } = reliabilityWindow(ask, new Date())
  const [events, live] = await withController(values, (executor) => {
    const state = createClusterStateService({ executorFor: async () => executor, cacheMs: 0 })
    return Promise.all([state.events(spec.cluster.name, from, to), state.nodes(spec.cluster.name)])
  })
  const report = withLiveUnhealthy(reliabilityReport(spec.nodeGroups, events, from, to, ask), spec.nodeGroups, live.nodes)
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReliability(report))
  return 0
}

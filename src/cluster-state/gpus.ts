/**
 * GPUs free now, from `scontrol -o show node -d` (pure parsing and counting; the read
 * itself is in read.ts). Totals come from each node's `Gres=` (`gpu:h100:8`,
 * `shard:a10g:16`, `mps:...`); what is allocated from `AllocTRES=` (`gres/gpu=3`,
 * `gres/gpu:h100=3`, `gres/shard=5`), which Slurm 22.05 reports correctly for shards
 * where `GresUsed=` does not (it prints the number of GPUs holding shards), and from
 * `GresUsed=` when AllocTRES has no GRES entry at all. GPUs on a drained or down node
 * are neither allocated nor free: they are `unavailable`.
 */
import { parseRecords } from '../slurm/conf-parse.js'

/** The five node states the dashboard shows; anything else (future, unknown) is `other`. */
export type NodeStateName = 'idle' | 'mixed' | 'allocated' | 'drained' | 'down' | 'other'
export const NODE_STATES: readonly NodeStateName[] = ['idle', 'mixed', 'allocated', 'drained', 'down', 'other']

/** One node as far as GPUs go. */
export interface NodeGpus {
  name: string
  partitions: string[]
  state: NodeStateName
  /** Slurm's state text, e.g. `MIXED+DRAIN`. */
  slurmState: string
  reason?: string
  /** GPU type (`h100`, or `''` for untyped GPUs) -> count; empty for a CPU node. */
  gpus: Map<string, number>
  gpusAllocated: Map<string, number>
  shards: number
  shardsAllocated: number
  mps: number
  mpsAllocated: number
}

export type StateCounts = Record<NodeStateName, number>

export interface GpuRow {
  partition: string
  /** GPU type, `''` for GPUs configured without one. */
  type: string
  total: number
  allocated: number
  free: number
  /** GPUs on drained or down nodes. */
  unavailable: number
  shards: { total: number; allocated: number; free: number }
  mps: { total: number; allocated: number; free: number }
  nodes: StateCounts
}

export interface PartitionNodes {
  partition: string
  nodes: StateCounts
}

export interface GpuSummary {
  /** One row per partition and GPU type, partitions and types in name order. */
  gpus: GpuRow[]
  /** Every partition (also those without GPUs) with its nodes by state. */
  partitions: PartitionNodes[]
}

/** Thrown when scontrol output lacks what is needed (a node without NodeName or State). */
export class NodeStateParseError extends Error {
  override name = 'NodeStateParseError'
}

/** `IDLE+DRAIN` -> drained, `DOWN*` -> down, `MIXED` -> mixed, ... */
export function stateName(state: string): NodeStateName {
  const [base = '', ...flags] = state.replace(/\*$/, '+NOT_RESPONDING').split('+')
  if (base === 'DOWN' || flags.includes('NOT_RESPONDING') || flags.includes('FAIL')) return 'down'
  if (flags.includes('DRAIN') || base === 'DRAINED' || base === 'DRAINING') return 'drained'
  if (base === 'IDLE') return 'idle'
  if (base === 'MIXED') return 'mixed'
  if (base === 'ALLOCATED' || base === 'COMPLETING') return 'allocated'
  return 'other'
}

/** Splits a GRES list at commas outside parentheses (`gpu:h100:3(IDX:0,2-3),shard:0`). */
function gresItems(value: string): string[] {
  const items: string[] = []
  let depth = 0
  let current = ''
  for (const ch of value) {
    if (ch === '(') depth++
    if (ch === ')') depth--
    if (ch === ',' && depth === 0) {
      items.push(current)
      current = ''
    } else current += ch
  }
  items.push(current)
  return items.map((s) => s.trim()).filter((s) => s !== '' && s !== '(null)')
}

/** `gpu:h100:8(S:0-1)` -> {name: gpu, type: h100, count: 8}; `gpu:2` -> type ''. */
function gresItem(item: string): { name: string; type: string; count: number } | undefined {
  const paren = item.indexOf('(')
  const parts = (paren < 0 ? item : item.slice(0, paren)).split(':')
  const name = parts[0] ?? ''
  const countText = parts[parts.length - 1] ?? ''
  if (parts.length < 2 || !/^\d+$/.test(countText)) return undefined
  return { name, type: parts.length >= 3 ? (parts[1] ?? '') : '', count: Number(countText) }
}

/** Adds a GRES list (`Gres=` or `GresUsed=`) into per-name, per-type counts. */
function addGres(value: string, into: { gpus: Map<string, number>; shards: number; mps: number }): void {
  for (const raw of gresItems(value)) {
    const g = gresItem(raw)
    if (!g) continue
    if (g.name === 'gpu') into.gpus.set(g.type, (into.gpus.get(g.type) ?? 0) + g.count)
    else if (g.name === 'shard') into.shards += g.count
    else if (g.name === 'mps') into.mps += g.count
  }
}

/**
 * GPUs allocated per type from `AllocTRES` (`gres/gpu=3,gres/gpu:h100=3`): the typed
 * entries when Slurm tracks the type as its own TRES, else the untyped count given to the
 * node's one type. Undefined when AllocTRES names no GPU at all.
 */
function allocatedGpus(allocTres: string, types: string[]): Map<string, number> | undefined {
  const typed = new Map<string, number>()
  let untyped: number | undefined
  for (const item of allocTres.split(',')) {
    const m = /^gres\/gpu(?::([^=]+))?=(\d+)$/.exec(item.trim())
    if (!m) continue
    if (m[1] !== undefined) typed.set(m[1], Number(m[2]))
    else untyped = Number(m[2])
  }
  if (typed.size > 0) return typed
  if (untyped === undefined) return undefined
  return new Map([[types.length === 1 ? (types[0] ?? '') : '', untyped]])
}

function tresCount(allocTres: string, name: string): number | undefined {
  const m = new RegExp(`(?:^|,)gres/${name}=(\\d+)(?:,|$)`).exec(allocTres)
  return m ? Number(m[1]) : undefined
}

/** Parses `scontrol -o show node -d` output. */
export function parseNodes(text: string): NodeGpus[] {
  return parseRecords(text).map((r) => {
    const name = r.get('NodeName')
    const state = r.get('State')
    if (!name || !state) throw new NodeStateParseError(`a node record without NodeName or State: "${[...r.keys()].slice(0, 5).join(' ')}..."`)
    const total = { gpus: new Map<string, number>(), shards: 0, mps: 0 }
    addGres(r.get('Gres') ?? '', total)
    const used = { gpus: new Map<string, number>(), shards: 0, mps: 0 }
    addGres(r.get('GresUsed') ?? '', used)
    const allocTres = r.get('AllocTRES') ?? ''
    const reason = r.get('Reason')
    return {
      name,
      partitions: (r.get('Partitions') ?? '').split(',').filter((p) => p !== '' && p !== '(null)'),
      state: stateName(state),
      slurmState: state,
      ...(reason ? { reason } : {}),
      gpus: total.gpus,
      gpusAllocated: allocatedGpus(allocTres, [...total.gpus.keys()]) ?? used.gpus,
      shards: total.shards,
      shardsAllocated: tresCount(allocTres, 'shard') ?? used.shards,
      mps: total.mps,
      mpsAllocated: tresCount(allocTres, 'mps') ?? used.mps,
    }
  })
}

export function emptyStates(): StateCounts {
  return { idle: 0, mixed: 0, allocated: 0, drained: 0, down: 0, other: 0 }
}

const usable = (n: NodeGpus): boolean => n.state === 'idle' || n.state === 'mixed' || n.state === 'allocated'

/** Counts GPUs per partition and type, and nodes per partition and state. */
export function summarizeGpus(nodes: readonly NodeGpus[]): GpuSummary {
  const rows = new Map<string, GpuRow>()
  const partitions = new Map<string, StateCounts>()
  for (const node of nodes) {
    for (const partition of node.partitions) {
      const states = partitions.get(partition) ?? emptyStates()
      states[node.state]++
      partitions.set(partition, states)
      for (const [type, count] of node.gpus) {
        const key = `${partition}\u0000${type}`
        let row = rows.get(key)
        if (!row) {
          row = { partition, type, total: 0, allocated: 0, free: 0, unavailable: 0, shards: { total: 0, allocated: 0, free: 0 }, mps: { total: 0, allocated: 0, free: 0 }, nodes: emptyStates() }
          rows.set(key, row)
        }
        const allocated = Math.min(count, node.gpusAllocated.get(type) ?? 0)
        row.total += count
        row.allocated += allocated
        row.nodes[node.state]++
        // Shards and MPS belong to the node's GPUs; a node with two GPU types would
        // count them twice, so they go with its first type only.
        const first = node.gpus.keys().next().value === type
        if (usable(node)) {
          row.free += count - allocated
          if (first) {
            row.shards.free += Math.max(0, node.shards - node.shardsAllocated)
            row.mps.free += Math.max(0, node.mps - node.mpsAllocated)
          }
        } else row.unavailable += count - allocated
        if (first) {
          row.shards.total += node.shards
          row.shards.allocated += node.shardsAllocated
          row.mps.total += node.mps
          row.mps.allocated += node.mpsAllocated
        }
      }
    }
  }
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
  return {
    gpus: [...rows.values()].sort((a, b) => byName(a.partition, b.partition) || byName(a.type, b.type)),
    partitions: [...partitions].map(([partition, states]) => ({ partition, nodes: states })).sort((a, b) => byName(a.partition, b.partition)),
  }
}

/**
 * QoS operations: adds (in an order where a QoS exists before another one preempts it),
 * changes as the minimal `set` list, and prune-only removals. sacctmgr merges TRES
 * settings key by key, so a key the spec dropped is cleared explicitly with `key=-1`;
 * `Preempt=` and `Flags=` replace the whole list.
 */
import { tresToMap } from '../slurm/sacctmgr.js'
import { sameList, type QosState } from './model.js'
import { sacctmgr, type Operation } from './operations.js'

const TRES_FIELDS = [
  ['maxTresPerUser', 'MaxTRESPerUser'],
  ['maxTresPerJob', 'MaxTRESPerJob'],
  ['grpTres', 'GrpTRES'],
] as const
const COUNT_FIELDS = [
  ['maxJobsPerUser', 'MaxJobsPerUser'],
  ['maxSubmitJobsPerUser', 'MaxSubmitJobsPerUser'],
] as const

/** Slurm 22.05 stores PreemptMode=off as "not set" and prints it as `cluster`. */
function preemptMode(mode: string): string {
  return mode === 'off' ? 'cluster' : mode
}

function tresDelta(desired: string, live: string): string {
  const want = tresToMap(desired)
  const clear = [...tresToMap(live).keys()].filter((k) => !want.has(k)).map((k) => `${k}=-1`)
  return [desired, ...clear].filter((s) => s !== '').join(',')
}

function sameFlags(a: string[], b: string[]): boolean {
  return sameList(a.map((f) => f.toLowerCase()).sort(), b.map((f) => f.toLowerCase()).sort())
}

/**
 * The `Key=value` settings that turn `live` into `desired` (all non-default settings
 * when `live` is undefined, for an add). `preempt: false` leaves Preempt out.
 */
export function qosSettings(desired: QosState, live: QosState | undefined, preempt = true): string[] {
  const out: string[] = []
  if (desired.description !== undefined && desired.description !== (live ? live.description?.toLowerCase() : desired.name)) {
    out.push(`Description=${desired.description}`)
  }
  if (desired.priority !== (live?.priority ?? 0)) out.push(`Priority=${desired.priority}`)
  for (const [field, key] of TRES_FIELDS) {
    if (desired[field] !== (live?.[field] ?? '')) out.push(`${key}=${tresDelta(desired[field], live?.[field] ?? '')}`)
  }
  if (desired.maxWall !== (live?.maxWall ?? '')) out.push(`MaxWall=${desired.maxWall || '-1'}`)
  for (const [field, key] of COUNT_FIELDS) {
    if (desired[field] !== live?.[field]) out.push(`${key}=${desired[field] ?? -1}`)
  }
  if (preempt && !sameList(desired.preempt, live?.preempt ?? [])) out.push(`Preempt=${desired.preempt.join(',')}`)
  if (preemptMode(desired.preemptMode) !== preemptMode(live?.preemptMode ?? 'cluster')) out.push(`PreemptMode=${desired.preemptMode}`)
  if (Math.abs(desired.usageFactor - (live?.usageFactor ?? 1)) > 1e-6) out.push(`UsageFactor=${desired.usageFactor}`)
  if (!sameFlags(desired.flags, live?.flags ?? [])) out.push(`Flags=${desired.flags.length > 0 ? desired.flags.join(',') : '-1'}`)
  return out
}

/** Orders new QoS so each one's preempt targets exist first; cycles get Preempt in a later modify. */
function addOrder(added: QosState[], existing: ReadonlySet<string>): { ordered: QosState[]; deferred: QosState[] } {
  const known = new Set(existing)
  const ordered: QosState[] = []
  let pending = added
  for (;;) {
    const ready = pending.filter((q) => q.preempt.every((p) => known.has(p) || p === q.name))
    if (ready.length === 0) break
    for (const q of ready) known.add(q.name)
    ordered.push(...ready)
    pending = pending.filter((q) => !ready.includes(q))
  }
  return { ordered, deferred: pending }
}

/** QoS adds and changes (phase `qos`). */
export function planQos(desired: ReadonlyMap<string, QosState>, live: ReadonlyMap<string, QosState>): Operation[] {
  const ops: Operation[] = []
  const added = [...desired.values()].filter((q) => !live.has(q.name))
  const { ordered, deferred } = addOrder(added, new Set(live.keys()))
  for (const q of [...ordered, ...deferred]) {
    const settings = qosSettings(q, undefined, !deferred.includes(q))
    ops.push({
      phase: 'qos', action: 'add', kind: 'qos', targets: [q.name],
      argv: sacctmgr('add', 'qos', q.name, ...settings),
      summary: `add QoS ${q.name}${settings.length ? ` with ${settings.join(' ')}` : ''}`,
    })
  }
  for (const q of deferred) {
    ops.push({
      phase: 'qos', action: 'modify', kind: 'qos', targets: [q.name],
      argv: sacctmgr('modify', 'qos', 'where', `name=${q.name}`, 'set', `Preempt=${q.preempt.join(',')}`),
      summary: `let QoS ${q.name} preempt ${q.preempt.join(', ')} (after the QoS it names exist)`,
    })
  }
  for (const q of desired.values()) {
    const current = live.get(q.name)
    if (!current) continue
    const settings = qosSettings(q, current)
    if (settings.length === 0) continue
    ops.push({
      phase: 'qos', action: 'modify', kind: 'qos', targets: [q.name],
      argv: sacctmgr('modify', 'qos', 'where', `name=${q.name}`, 'set', ...settings),
      summary: `change QoS ${q.name}: ${settings.join(' ')}`,
    })
  }
  return ops
}

/** A QoS a prune keeps although the spec does not name it, and why. */
export interface KeptQos {
  name: string
  why: string
}

/**
 * Removals of QoS the spec does not name (prune only; protected QoS are kept). QoS are
 * global in slurmdbd: one that an association of another cluster names (in its QOS list
 * or as DefaultQOS) is kept. sacctmgr refuses to delete a QoS that is some association's
 * DefaultQOS (and discards the whole command), so those still defaults of this cluster's
 * associations that stay are kept too.
 */
export function planQosRemovals(desired: ReadonlyMap<string, QosState>, live: ReadonlyMap<string, QosState>, protectedQos: ReadonlySet<string>, stillDefault: ReadonlySet<string>, usedElsewhere: ReadonlyMap<string, ReadonlySet<string>>): { operations: Operation[]; kept: KeptQos[] } {
  const candidates = [...live.keys()].filter((name) => !desired.has(name) && !protectedQos.has(name)).sort()
  const kept: KeptQos[] = []
  const gone: string[] = []
  for (const q of candidates) {
    const clusters = usedElsewhere.get(q)
    if (clusters && clusters.size > 0) {
      kept.push({ name: q, why: `is not in the spec but associations of cluster${clusters.size > 1 ? 's' : ''} ${[...clusters].sort().join(', ')} use it (QoS are shared by every cluster of this slurmdbd); kept` })
    } else if (stillDefault.has(q)) {
      kept.push({ name: q, why: 'is not in the spec but is the DefaultQOS of an association that stays; kept' })
    } else {
      gone.push(q)
    }
  }
  if (gone.length === 0) return { operations: [], kept }
  return { kept, operations: [{
    phase: 'removals', action: 'delete', kind: 'qos', targets: gone,
    argv: sacctmgr('delete', 'qos', 'where', `name=${gone.join(',')}`),
    summary: `remove QoS ${gone.join(', ')} (not in the spec, --prune)`,
  }] }
}

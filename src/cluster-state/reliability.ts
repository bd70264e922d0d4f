/**
 * Node reliability from slurmdbd's node events (`sacctmgr -n -P show event`): pure
 * classification and arithmetic; the read itself is in read.ts.
 *
 * Failure or planned maintenance, decided per event (the rule, also in docs/dashboard.md):
 * 1. a reason that names a fault (`Not responding`, `Kill task failed`, a health check,
 *    `NHC`, an Xid or ECC error, `failed`, `error`) is a failure, whoever set it;
 * 2. otherwise a DRAIN, DOWN, MAINT or REBOOT set by an admin (a user in `admins`, by
 *    default root and slurm) whose reason says maintenance (`maint`, `planned`,
 *    `upgrade`, `firmware`, `patch`, `scheduled`, `reboot`) is planned;
 * 3. everything else is a failure: slurmctld marking a node DOWN, a drain by a non-admin
 *    or a health-check script, an admin's DOWN with a reason that is not maintenance.
 *
 * Per node group, over a window: failures (failure incidents that began in the window; a
 * node's overlapping failure events are one incident), in-service node-hours (nodes x
 * window minus the hours nodes spent in any event), the observed failure rate per
 * node-hour, MTBF (in-service node-hours / failures), MTTR (mean length of failure
 * incidents that ended in the window) and the nodes unhealthy now (an open event).
 */
import { expandHostlist } from '../slurm/hostlist.js'
import { SacctmgrParseError, parseParsable } from '../slurm/sacctmgr.js'

export const EVENT_FIELDS = ['node', 'start', 'end', 'state', 'user', 'reason'] as const
/** sacctmgr's names for {@link EVENT_FIELDS}, in the same order (free text last). */
export const EVENT_FORMAT = 'NodeName,TimeStart,TimeEnd,State,User,Reason'
export const DEFAULT_ADMINS: readonly string[] = ['root', 'slurm']

const FAULT_REASON = /not[ _]responding|kill task failed|health|\bnhc\b|\bxid\b|\becc\b|fail|error|hardware/i
const MAINTENANCE_REASON = /maint|planned|upgrade|firmware|patch|scheduled|reboot/i
const OUT_OF_SERVICE_STATE = /DRAIN|DOWN|MAINT|REBOOT|FAIL/i

export interface NodeEvent {
  node: string
  start: Date
  /** null while the event is still open (the node is still in that state). */
  end: Date | null
  state: string
  /** User name without the uid (`root(0)` -> `root`). */
  user: string
  reason: string
  kind: 'failure' | 'planned'
}

/** Classifies one event by the rule of this module's header. */
export function classifyEvent(e: { state: string; user: string; reason: string }, admins: readonly string[] = DEFAULT_ADMINS): 'failure' | 'planned' {
  if (FAULT_REASON.test(e.reason)) return 'failure'
  if (admins.includes(e.user) && OUT_OF_SERVICE_STATE.test(e.state) && MAINTENANCE_REASON.test(e.reason)) return 'planned'
  return 'failure'
}

/** A sacctmgr time (printed in UTC: read.ts runs it with TZ=UTC); `Unknown`/empty -> null. */
function parseTime(text: string, what: string): Date | null {
  if (text === '' || text === 'Unknown' || text === 'None') return null
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text)) throw new SacctmgrParseError(`event ${what} "${text}" is not a time like 2026-12-01T16:50:00`)
  return new Date(`${text}Z`)
}

/** Parses `sacctmgr -n -P show event format=<EVENT_FORMAT>` output (node events only). */
export function parseEvents(text: string, admins: readonly string[] = DEFAULT_ADMINS): NodeEvent[] {
  const events: NodeEvent[] = []
  for (const row of parseParsable(text, EVENT_FIELDS)) {
    if (row.node === '') continue // a cluster event
    const start = parseTime(row.start, 'start')
    if (!start) throw new SacctmgrParseError(`event of ${row.node} without a start time`)
    const user = row.user.replace(/\(\d+\)$/, '')
    const fields = { state: row.state, user, reason: row.reason }
    events.push({ node: row.node, start, end: parseTime(row.end, 'end'), ...fields, kind: classifyEvent(fields, admins) })
  }
  return events
}

export interface GroupReliability {
  group: string
  nodes: number
  failures: number
  planned: number
  inServiceNodeHours: number
  /** Failures per node-hour in service; 0 when none were seen. */
  failureRatePerNodeHour: number
  mtbfHours: number | null
  mttrHours: number | null
  unhealthy: Array<{ node: string; state: string; reason: string; since: string; kind: 'failure' | 'planned' }>
}

export interface ReliabilityReport {
  window: { from: string; to: string; hours: number }
  rule: string
  groups: GroupReliability[]
}

export const RULE_TEXT = 'failure: a fault reason (not responding, health check, Xid, ECC, failed, error) or any DOWN/DRAIN not set by an admin with a maintenance reason; planned: a DRAIN/DOWN/MAINT/REBOOT set by an admin with a maintenance reason (maint, planned, upgrade, firmware, patch, scheduled, reboot)'

interface Interval { start: number; end: number }

/** Merges overlapping intervals (sorted by start). */
function merge(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.start - b.start)
  const out: Interval[] = []
  for (const i of sorted) {
    const last = out[out.length - 1]
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end)
    else out.push({ ...i })
  }
  return out
}

const HOUR_MS = 3_600_000

/**
 * Reliability of each node group over [from, to] from `events`; groups are `name ->
 * hostlist` (the spec's node groups). Nodes in no group are left out.
 */
export function computeReliability(groups: ReadonlyArray<{ name: string; nodes: string }>, events: readonly NodeEvent[], from: Date, to: Date): ReliabilityReport {
  const t0 = from.getTime()
  const t1 = to.getTime()
  const byNode = new Map<string, NodeEvent[]>()
  for (const e of events) {
    const list = byNode.get(e.node) ?? []
    list.push(e)
    byNode.set(e.node, list)
  }
  const report: GroupReliability[] = groups.map((g) => {
    const nodes = expandHostlist(g.nodes)
    let failures = 0
    let planned = 0
    let outMs = 0
    const repairs: number[] = []
    const unhealthy: GroupReliability['unhealthy'] = []
    for (const node of nodes) {
      const list = byNode.get(node) ?? []
      const span = (e: NodeEvent): Interval => ({ start: e.start.getTime(), end: e.end?.getTime() ?? t1 })
      // Time out of service: the union of every event, clipped to the window.
      for (const i of merge(list.map(span))) outMs += Math.max(0, Math.min(i.end, t1) - Math.max(i.start, t0))
      for (const incident of merge(list.filter((e) => e.kind === 'failure').map(span))) {
        if (incident.start >= t0 && incident.start <= t1) failures++
        const ended = list.some((e) => e.kind === 'failure' && e.end !== null && e.end.getTime() === incident.end)
        if (ended && incident.end >= t0 && incident.end <= t1) repairs.push(incident.end - incident.start)
      }
      planned += merge(list.filter((e) => e.kind === 'planned').map(span)).filter((i) => i.start >= t0 && i.start <= t1).length
      const open = list.filter((e) => e.end === null).sort((a, b) => b.start.getTime() - a.start.getTime())[0]
      if (open) unhealthy.push({ node, state: open.state, reason: open.reason, since: open.start.toISOString(), kind: open.kind })
    }
    const inService = Math.max(0, nodes.length * (t1 - t0) - outMs) / HOUR_MS
    const rate = inService > 0 ? failures / inService : 0
    return {
      group: g.name,
      nodes: nodes.length,
      failures,
      planned,
      inServiceNodeHours: inService,
      failureRatePerNodeHour: rate,
      mtbfHours: failures > 0 ? inService / failures : null,
      mttrHours: repairs.length > 0 ? repairs.reduce((a, b) => a + b, 0) / repairs.length / HOUR_MS : null,
      unhealthy,
    }
  })
  return { window: { from: from.toISOString(), to: to.toISOString(), hours: (t1 - t0) / HOUR_MS }, rule: RULE_TEXT, groups: report }
}

export interface JobRisk {
  nodes: number
  /** Expected hours between failures for a job on `nodes` nodes: 1 / (N x rate). */
  meanHoursBetweenFailures: number | null
  checkpointCostSeconds: number
  /** Young: sqrt(2 C M). */
  youngIntervalHours: number | null
  /** Daly's higher-order estimate (2006), which Young's is the first term of. */
  dalyIntervalHours: number | null
}

/** The expected time between failures of an N-node job and the checkpoint interval that minimises lost work. */
export function jobRisk(ratePerNodeHour: number, nodes: number, checkpointCostSeconds: number): JobRisk {
  const base = { nodes, checkpointCostSeconds }
  if (ratePerNodeHour <= 0 || nodes <= 0) return { ...base, meanHoursBetweenFailures: null, youngIntervalHours: null, dalyIntervalHours: null }
  const m = 1 / (nodes * ratePerNodeHour)
  const c = checkpointCostSeconds / 3600
  const young = Math.sqrt(2 * c * m)
  const daly = c < 2 * m ? Math.sqrt(2 * c * m) * (1 + Math.sqrt(c / (2 * m)) / 3 + c / (2 * m) / 9) - c : m
  return { ...base, meanHoursBetweenFailures: m, youngIntervalHours: young, dalyIntervalHours: daly }
}

/** What a reliability request asks: the window (last `days`, or from `since`) and an optional job. */
export interface ReliabilityAsk { days?: number; since?: string; nodes?: number; checkpointSeconds?: number }

/** Thrown for a window that cannot be (a `since` that is not a time or not in the past). */
export class ReliabilityWindowError extends Error {
  override name = 'ReliabilityWindowError'
}

/** The window of `ask` ending at `now`, in whole seconds (sacctmgr takes them; equal windows share a cached read). */
export function reliabilityWindow(ask: ReliabilityAsk, now: Date): { from: Date; to: Date } {
  const to = new Date(Math.floor(now.getTime() / 1000) * 1000)
  const since = ask.since === undefined ? undefined : Date.parse(ask.since)
  if (since !== undefined && Number.isNaN(since)) throw new ReliabilityWindowError(`since "${ask.since}" is not an ISO 8601 time`)
  const from = since !== undefined ? new Date(Math.floor(since / 1000) * 1000) : new Date(to.getTime() - (ask.days ?? 30) * 86_400_000)
  if (!(from < to)) throw new ReliabilityWindowError('since must be in the past')
  return { from, to }
}

/** {@link computeReliability} with each group's {@link jobRisk} when `ask.nodes` is given. */
export function reliabilityReport(groups: ReadonlyArray<{ name: string; nodes: string }>, events: readonly NodeEvent[], from: Date, to: Date, ask: ReliabilityAsk): ReliabilityReport & { groups: Array<GroupReliability & { job?: JobRisk }> } {
  const report = computeReliability(groups, events, from, to)
  const nodes = ask.nodes
  if (!nodes) return report
  return { ...report, groups: report.groups.map((g) => ({ ...g, job: jobRisk(g.failureRatePerNodeHour, nodes, ask.checkpointSeconds ?? DEFAULT_CHECKPOINT_SECONDS) })) }
}

export const DEFAULT_CHECKPOINT_SECONDS = 300

/**
 * Adds to each group's `unhealthy` the nodes that Slurm says are down or drained now but
 * that have no open event (slurmdbd records none for a node that was down when slurmctld
 * started). Who set it and when come from the reason's `[user@time]` suffix when present.
 */
export function withLiveUnhealthy<R extends ReliabilityReport>(report: R, groups: ReadonlyArray<{ name: string; nodes: string }>, live: ReadonlyArray<{ name: string; state: string; slurmState: string; reason?: string }>, admins: readonly string[] = DEFAULT_ADMINS): R {
  const byName = new Map(live.map((n) => [n.name, n]))
  const hostlists = new Map(groups.map((g) => [g.name, g.nodes]))
  return {
    ...report,
    groups: report.groups.map((g) => {
      const known = new Set(g.unhealthy.map((u) => u.node))
      const extra = expandHostlist(hostlists.get(g.group) ?? '').flatMap((node) => {
        const n = byName.get(node)
        if (!n || known.has(node) || (n.state !== 'down' && n.state !== 'drained')) return []
        const text = n.reason ?? ''
        const open = text.lastIndexOf(' [')
        const m = open >= 0 ? /^\[([^@\]]+)@([^\]]+)\]$/.exec(text.slice(open + 1)) : null
        const reason = m ? text.slice(0, open) : text
        const user = m?.[1] ?? ''
        return [{ node, state: n.slurmState, reason, since: m?.[2] ? `${m[2]}Z` : '', kind: classifyEvent({ state: n.slurmState, user, reason }, admins) }]
      })
      return { ...g, unhealthy: [...g.unhealthy, ...extra] }
    }),
  }
}

/**
 * Aggregation of job records into usage: per (account, user, partition, node group) cell,
 * GPU-, CPU- and node-seconds, jobs, and the exact chargeback numerator. Each record is
 * clipped to the page it was read in (and the page to the window), so a job that spans a
 * boundary is split at it and a job seen in several pages is charged once per second.
 * Memory stays bounded by the number of cells (accounts x users x partitions x groups),
 * never by the number of jobs.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { departmentAccounts } from '../spec/model.js'
import { costCents, ExactSum, groupRates, NodeGroups, shareNumerator, shareNodeHours, type GroupRate } from './chargeback.js'
import type { GarbledLine, JobRecord } from './sacct.js'

/** A half-open time window in epoch seconds. */
export interface Window {
  from: number
  to: number
}

interface Cell {
  account: string
  user: string
  partition: string
  group: string
  jobs: number
  cpuSeconds: number
  gpuSeconds: number
  nodeSeconds: number
  numerator: ExactSum
}

/** Dimensions usage can be grouped by. */
export const GROUP_BY = ['department', 'account', 'user', 'partition', 'nodeGroup'] as const
export type GroupBy = (typeof GROUP_BY)[number]

/** One line of a usage report. */
export interface UsageLine {
  /** The value of the grouped dimension (a department, an account, ...). */
  key: string
  jobs: number
  gpuHours: number
  cpuHours: number
  nodeHours: number
  /** Node-hours of the share the chargeback bills (a full node for an hour is 1). */
  billedNodeHours: number
  /** Cost in cents: the sum over node groups of each group's exact cost rounded to the cent. */
  costCents: number
}

/** A garbled line with the page it came from. */
export interface GarbledRecord extends GarbledLine {
  page: string
}

/** Why a record was not charged though it parsed. */
export interface Uncharged {
  jobId: string
  reason: string
}

/** Rounds to 4 decimals for display. */
const hours = (seconds: number): number => Math.round((seconds / 3600) * 10_000) / 10_000

/** The usage of a window, built page by page. */
export class UsageAggregator {
  private readonly cells = new Map<string, Map<string, Cell>>()
  /** The same cells per UTC day (epoch day number): for usage over time; bounded by days x cells. */
  private readonly days = new Map<number, Map<string, Cell>>()
  private readonly rates: Map<string, GroupRate>
  private readonly groups: NodeGroups
  private readonly departmentOf = new Map<string, string>()
  readonly garbled: GarbledRecord[] = []
  readonly uncharged: Uncharged[] = []
  /** Garbled lines beyond this many are counted, not kept. */
  static readonly MAX_KEPT = 1000
  garbledCount = 0
  records = 0

  constructor(spec: Pick<ClusterSpec, 'nodeGroups' | 'pricing' | 'departments'>, readonly window: Window, private readonly now: number = Date.now() / 1000) {
    this.rates = groupRates(spec)
    this.groups = new NodeGroups(spec)
    for (const d of spec.departments) for (const a of departmentAccounts(d)) this.departmentOf.set(a, d.name)
  }

  /** The department of an account, or `-` for an account the spec does not name. */
  department(account: string): string {
    return this.departmentOf.get(account) ?? '-'
  }

  /** Records a garbled line of a page (kept up to `MAX_KEPT`). */
  addGarbled(page: string, g: GarbledLine): void {
    this.garbledCount += 1
    if (this.garbled.length < UsageAggregator.MAX_KEPT) this.garbled.push({ ...g, page })
  }

  /** Adds a record read from `page` (a sub-window of the window). */
  add(r: JobRecord, page: Window): void {
    this.records += 1
    if (r.start === null) return
    const from = Math.max(page.from, this.window.from)
    const to = Math.min(page.to, this.window.to)
    const start = Math.max(r.start, from)
    const end = Math.min(r.end ?? Math.min(this.now, to), to)
    const seconds = Math.max(0, end - start)
    // Counted once: in the page where it started, or the window's first page if it started before.
    const counted = (r.start >= from && r.start < to) || (r.start < from && from === this.window.from && seconds > 0) ? 1 : 0
    if (seconds === 0 && counted === 0) return
    const split = r.nodes > 0 ? this.groups.of(r.nodeList) : null
    if (split === null) {
      if (seconds > 0) this.uncharged.push({ jobId: r.jobId, reason: `nodes "${r.nodeList}" are in no node group of the spec` })
      this.cell(r, '-').jobs += counted
      return
    }
    let first = true
    for (let k = 0; k < split.length; k++) {
      const [group, nodes] = split[k] as readonly [string, number]
      const c = this.cell(r, group)
      // A job on several groups: each group gets its nodes' part of the allocation.
      const part = nodes / r.nodes
      const alloc = part === 1 ? r : { cpus: Math.round(r.cpus * part), memMiB: Math.round(r.memMiB * part), gpus: Math.round(r.gpus * part) }
      c.jobs += first ? counted : 0
      first = false
      c.cpuSeconds += alloc.cpus * seconds
      c.gpuSeconds += alloc.gpus * seconds
      c.nodeSeconds += nodes * seconds
      const numerator = shareNumerator(this.rates.get(group) as GroupRate, alloc, seconds)
      c.numerator.add(numerator)
      if (seconds > 0) {
        const d = this.dayCell(r, group, Math.floor(start / 86_400))
        d.cpuSeconds += alloc.cpus * seconds
        d.gpuSeconds += alloc.gpus * seconds
        d.nodeSeconds += nodes * seconds
        d.numerator.add(numerator)
      }
    }
  }

  /** A record's cell of one day (a page is a day by default; a longer page counts on its first day). */
  private dayCell(r: JobRecord, group: string, day: number): Cell {
    let cells = this.days.get(day)
    if (!cells) this.days.set(day, cells = new Map())
    const key = `${r.account}|${r.user}|${group}`
    let c = cells.get(key)
    if (!c) cells.set(key, c = { account: r.account, user: r.user, partition: r.partition, group, jobs: 0, cpuSeconds: 0, gpuSeconds: 0, nodeSeconds: 0, numerator: new ExactSum() })
    return c
  }

  /** Usage per UTC day (`YYYY-MM-DD`) grouped by department, only cells `keep` accepts; days in order. */
  daily(keep: (cell: { department: string; account: string; user: string }) => boolean = () => true): Array<{ day: string; lines: UsageLine[] }> {
    return [...this.days.keys()].sort((a, b) => a - b).map((day) => ({
      day: new Date(day * 86_400_000).toISOString().slice(0, 10),
      lines: this.linesOf((this.days.get(day) as Map<string, Cell>).values(), 'department', keep),
    }))
  }

  private cell(r: JobRecord, group: string): Cell {
    // Two levels (account|user|partition, then group): no key is built per record.
    const key = r.cellKey ?? `${r.account}|${r.user}|${r.partition}`
    let byGroup = this.cells.get(key)
    if (!byGroup) this.cells.set(key, byGroup = new Map())
    let c = byGroup.get(group)
    if (!c) {
      c = { account: r.account, user: r.user, partition: r.partition, group, jobs: 0, cpuSeconds: 0, gpuSeconds: 0, nodeSeconds: 0, numerator: new ExactSum() }
      byGroup.set(group, c)
    }
    return c
  }

  /** Usage lines grouped by one dimension, optionally only cells `keep` accepts; sorted by key. */
  lines(by: GroupBy, keep: (cell: { department: string; account: string; user: string }) => boolean = () => true): UsageLine[] {
    const all = this.cells.values()
    return this.linesOf((function* () { for (const byGroup of all) yield* byGroup.values() })(), by, keep)
  }

  private linesOf(cells: Iterable<Cell>, by: GroupBy, keep: (cell: { department: string; account: string; user: string }) => boolean): UsageLine[] {
    const acc = new Map<string, { line: UsageLine; numerators: Map<string, ExactSum> }>()
    for (const c of cells) {
      const department = this.department(c.account)
      if (!keep({ department, account: c.account, user: c.user })) continue
      const key = by === 'department' ? department : by === 'account' ? c.account : by === 'user' ? c.user : by === 'partition' ? c.partition : c.group
      let entry = acc.get(key)
      if (!entry) acc.set(key, entry = { line: { key, jobs: 0, gpuHours: 0, cpuHours: 0, nodeHours: 0, billedNodeHours: 0, costCents: 0 }, numerators: new Map() })
      const l = entry.line
      l.jobs += c.jobs
      l.gpuHours += c.gpuSeconds
      l.cpuHours += c.cpuSeconds
      l.nodeHours += c.nodeSeconds
      if (c.group !== '-') {
        let n = entry.numerators.get(c.group)
        if (!n) entry.numerators.set(c.group, n = new ExactSum())
        n.addSum(c.numerator)
      }
    }
    return [...acc.values()].map(({ line, numerators }) => {
      let cents = 0n
      let billed = 0
      for (const [group, n] of numerators) {
        const rate = this.rates.get(group) as GroupRate
        cents += costCents(rate, n.value())
        billed += shareNodeHours(rate, n.value())
      }
      return {
        ...line,
        gpuHours: hours(line.gpuHours), cpuHours: hours(line.cpuHours), nodeHours: hours(line.nodeHours),
        billedNodeHours: Math.round(billed * 10_000) / 10_000, costCents: Number(cents),
      }
    }).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  /** Cost in cents per department (for budgets). */
  departmentCents(): Map<string, number> {
    return new Map(this.lines('department').map((l) => [l.key, l.costCents]))
  }
}

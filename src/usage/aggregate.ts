/**
 * Aggregation of job records into usage: per (account, user, partition, node group) cell,
 * GPU-, CPU- and node-seconds, jobs, and the exact chargeback numerator. Each record is
 * clipped to the page it was read in (and the page to the window), so a job that spans a
 * boundary is split at it and a job seen in several pages is charged once per second.
 * Memory stays bounded by the number of cells (accounts x users x partitions x groups)
 * times the window's days (each cell keeps its per-day figures in one array by day),
 * never by the number of jobs. A job costs two map lookups (its `account|user|partition`,
 * then its node list, whose node groups are resolved once) and builds no string or object:
 * records (`add`) or lines scanned in place (`UsagePageStream`, fused.ts) charge alike.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { departmentAccounts } from '../spec/model.js'
import { costCents, EXACT_BELOW, ExactSum, groupRates, NodeGroups, shareNumerator, shareNodeHours, type GroupRate } from './chargeback.js'
import type { GarbledLine, JobRecord } from './sacct.js'
import { P_HASH, P_KEY, P_KEY_END, P_LIST, P_LIST_END, textOf } from './scan.js'
import { ByteKeys } from './byte-keys.js'

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
  /** The group's rate (null for `-`, jobs on no node group). */
  rate: GroupRate | null
  /**
   * Per UTC day of the window (the offset from its first day), four values: CPU-, GPU- and
   * node-seconds and the numerator (kept below `EXACT_BELOW`, the rest in `dayOverflow`).
   * Made at the cell's first charged second; bounded by the window's days.
   */
  days: Float64Array | null
  dayOverflow: Map<number, bigint> | null
}

/** The cells of one `account|user|partition`, per node group, and its targets per node list. */
interface Row {
  key: string
  account: string
  user: string
  partition: string
  groups: Map<string, Cell>
  /** A cache (at most `MAX_TARGETS`): the cells stay in `groups`. */
  targets: Map<string, Target>
}

const MAX_TARGETS = 4096
/** Targets `targetAt` keeps by their bytes. */
const MAX_BYTE_TARGETS = 1 << 14


/**
 * A copy of `s` that keeps no larger string alive: a key cut from a page's text (or from a
 * line of it) would otherwise keep the whole page in memory as long as the aggregator.
 */
const own = (s: string): string => ` ${s}`.slice(1)

/** What jobs of one `account|user|partition` on one node list charge. */
export interface Target {
  readonly cellKey: string
  readonly nodeList: string
  readonly row: Row
  /** The cells of the list's node groups (undefined until a job with nodes needs them; null when a node is in no group). */
  cells: Cell[] | null | undefined
  /** The nodes of the list in each of `cells`. */
  nodes: number[]
  /** The row's `-` cell, for jobs on no node group. */
  none: Cell | null
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
  private readonly rows = new Map<string, Row>()
  /** `targetAt`'s targets by the bytes of their key and node list. */
  private readonly byBytes = new ByteKeys<Target>(MAX_BYTE_TARGETS)
  /** Every cell, in the order made. */
  private readonly all: Cell[] = []
  /** The window's first UTC day (epoch day number) and how many days it touches. */
  private readonly firstDay: number
  private readonly dayCount: number
  private readonly rates: Map<string, GroupRate>
  private readonly groups: NodeGroups
  private readonly departmentOf = new Map<string, string>()
  readonly garbled: GarbledRecord[] = []
  readonly uncharged: Uncharged[] = []
  /** Garbled lines and uncharged jobs beyond this many each are counted, not kept. */
  static readonly MAX_KEPT = 1000
  garbledCount = 0
  unchargedCount = 0
  records = 0

  constructor(spec: Pick<ClusterSpec, 'nodeGroups' | 'pricing' | 'departments'>, readonly window: Window, readonly now: number = Date.now() / 1000) {
    this.rates = groupRates(spec)
    this.groups = new NodeGroups(spec)
    for (const d of spec.departments) for (const a of departmentAccounts(d)) this.departmentOf.set(a, d.name)
    this.firstDay = Math.floor(window.from / 86_400)
    this.dayCount = Math.max(0, Math.ceil(window.to / 86_400) - this.firstDay)
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
    const to = Math.min(page.to, this.window.to)
    const key = r.cellKey ?? `${r.account}|${r.user}|${r.partition}`
    const t = this.target(key, 0, key.length, r.nodeList, 0, r.nodeList.length, r)
    if (this.charge(t, r.start, r.end ?? Math.min(this.now, to), r.nodes, r.cpus, r.memMiB, r.gpus, Math.max(page.from, this.window.from), to)) this.addUncharged(r.jobId, r.nodeList)
  }

  /** Records a job that ran on nodes of no node group: not charged (kept up to `MAX_KEPT`). */
  addUncharged(jobId: string, nodeList: string): void {
    this.unchargedCount += 1
    if (this.uncharged.length < UsageAggregator.MAX_KEPT) this.uncharged.push({ jobId, reason: `nodes "${nodeList}" are in no node group of the spec` })
  }

  /**
   * What jobs of the cell key `key[k0, k1)` (`account|user|partition`) on the node list
   * `list[l0, l1)` charge: the row of the key, then the target of the list in it (two map
   * lookups, no string built; the node list's groups are resolved once per target). `names`
   * gives the account, user and partition of a new row (else the key is split at `|`).
   */
  target(key: string, k0: number, k1: number, list: string, l0: number, l1: number, names: Pick<JobRecord, 'account' | 'user' | 'partition'> | null): Target {
    const cellKey = k0 === 0 && k1 === key.length ? key : key.slice(k0, k1)
    let row = this.rows.get(cellKey)
    if (row === undefined) {
      const kept = own(cellKey)
      const [account = '', user = '', partition = ''] = names === null ? kept.split('|') : [own(names.account), own(names.user), own(names.partition)]
      this.rows.set(kept, row = { key: kept, account, user, partition, groups: new Map(), targets: new Map() })
    }
    const nodeList = l0 === 0 && l1 === list.length ? list : list.slice(l0, l1)
    let t = row.targets.get(nodeList)
    if (t === undefined) {
      if (row.targets.size >= MAX_TARGETS) row.targets.clear()
      const kept = own(nodeList)
      row.targets.set(kept, t = { cellKey: row.key, nodeList: kept, row, cells: undefined, nodes: [], none: null })
    }
    return t
  }

  /**
   * `target` for a line scanned as bytes (`scanLine`; `view` a DataView of `b`): the key `b[pos[P_KEY], pos[P_KEY_END])`
   * and the node list `b[pos[P_LIST], pos[P_LIST_END])`, found by their hash `pos[P_HASH]`
   * and compared byte by byte (`ByteKeys`), so a known job cuts no string.
   */
  targetAt(b: Uint8Array, view: DataView, pos: Int32Array): Target {
    const k0 = pos[P_KEY] as number
    const k1 = pos[P_KEY_END] as number
    const l0 = pos[P_LIST] as number
    const l1 = pos[P_LIST_END] as number
    const hash = pos[P_HASH] as number
    const known = this.byBytes.find(b, view, k0, k1, l0, l1, hash)
    if (known !== undefined) return known
    const key = textOf(b, k0, k1)
    const list = textOf(b, l0, l1)
    const t = this.target(key, 0, key.length, list, 0, list.length, null)
    this.byBytes.add(b, k0, k1, l0, l1, hash, t)
    return t
  }

  /**
   * Charges one job of target `t` that started at `start` and ended at `end` (or runs up to
   * it) with `nodes`, `cpus`, `memMiB` and `gpus`, clipped to `[from, to)` (its page within
   * the window). True when it had seconds there but its nodes are in no node group: the
   * caller reports it uncharged.
   */
  charge(t: Target, start: number, end: number, nodes: number, cpus: number, memMiB: number, gpus: number, from: number, to: number): boolean {
    const begin = start > from ? start : from
    const stop = end < to ? end : to
    const seconds = stop > begin ? stop - begin : 0
    // Counted once: in the page where it started, or the window's first page if it started before.
    const counted = (start >= from && start < to) || (start < from && from === this.window.from && seconds > 0) ? 1 : 0
    if (seconds === 0 && counted === 0) return false
    const cells = nodes > 0 ? (t.cells === undefined ? this.split(t) : t.cells) : null
    if (cells === null) {
      (t.none ??= this.cellOf(t.row, '-')).jobs += counted
      return seconds > 0
    }
    // A page is a day by default; a longer page counts on its first day.
    const day = seconds > 0 ? (Math.floor(begin / 86_400) - this.firstDay) * 4 : -1
    for (let k = 0; k < cells.length; k++) {
      const c = cells[k] as Cell
      const n = t.nodes[k] as number
      // A job on several groups: each group gets its nodes' part of the allocation.
      const part = n / nodes
      const cp = part === 1 ? cpus : Math.round(cpus * part)
      const mem = part === 1 ? memMiB : Math.round(memMiB * part)
      const gp = part === 1 ? gpus : Math.round(gpus * part)
      if (k === 0) c.jobs += counted
      c.cpuSeconds += cp * seconds
      c.gpuSeconds += gp * seconds
      c.nodeSeconds += n * seconds
      const numerator = shareNumerator(c.rate as GroupRate, cp, mem, gp, seconds)
      c.numerator.add(numerator)
      if (day < 0) continue
      const d = c.days ?? (c.days = new Float64Array(this.dayCount * 4))
      d[day] = (d[day] as number) + cp * seconds
      d[day + 1] = (d[day + 1] as number) + gp * seconds
      d[day + 2] = (d[day + 2] as number) + n * seconds
      const sum = (d[day + 3] as number) + numerator
      if (sum < EXACT_BELOW) d[day + 3] = sum
      else {
        const overflow = c.dayOverflow ??= new Map()
        overflow.set(day, (overflow.get(day) ?? 0n) + BigInt(sum))
        d[day + 3] = 0
      }
    }
    return false
  }

  /** Resolves the node groups of a target's node list (once per target). */
  private split(t: Target): Cell[] | null {
    const pairs = this.groups.of(t.nodeList)
    t.cells = pairs === null ? null : pairs.map(([group]) => this.cellOf(t.row, group))
    t.nodes = pairs === null ? [] : pairs.map(([, n]) => n)
    return t.cells
  }

  private cellOf(row: Row, group: string): Cell {
    let c = row.groups.get(group)
    if (c === undefined) {
      c = { account: row.account, user: row.user, partition: row.partition, group, jobs: 0, cpuSeconds: 0, gpuSeconds: 0, nodeSeconds: 0, numerator: new ExactSum(), rate: this.rates.get(group) ?? null, days: null, dayOverflow: null }
      row.groups.set(group, c)
      this.all.push(c)
    }
    return c
  }

  /** Usage per UTC day (`YYYY-MM-DD`) grouped by department, only cells `keep` accepts; days in order, only days with usage. */
  daily(keep: (cell: { department: string; account: string; user: string }) => boolean = () => true): Array<{ day: string; lines: UsageLine[] }> {
    const out: Array<{ day: string; lines: UsageLine[] }> = []
    for (let day = 0; day < this.dayCount; day++) {
      const o = day * 4
      const cells: Cell[] = []
      for (const c of this.all) {
        const d = c.days
        if (d === null || !((d[o + 2] as number) > 0)) continue
        const numerator = new ExactSum()
        numerator.add(d[o + 3] as number)
        numerator.addBig(c.dayOverflow?.get(o) ?? 0n)
        cells.push({ ...c, jobs: 0, cpuSeconds: d[o] as number, gpuSeconds: d[o + 1] as number, nodeSeconds: d[o + 2] as number, numerator, days: null, dayOverflow: null })
      }
      if (cells.length > 0) out.push({ day: new Date((this.firstDay + day) * 86_400_000).toISOString().slice(0, 10), lines: this.linesOf(cells, 'department', keep) })
    }
    return out
  }

  /** Usage lines grouped by one dimension, optionally only cells `keep` accepts; sorted by key. */
  lines(by: GroupBy, keep: (cell: { department: string; account: string; user: string }) => boolean = () => true): UsageLine[] {
    return this.linesOf(this.all, by, keep)
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

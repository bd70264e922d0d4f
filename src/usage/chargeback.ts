/**
 * The chargeback rule, exact. A job on a node group is charged its share of the group's
 * node-hour price: its GPUs over the node's GPUs on a GPU node; the larger of its CPU share
 * and its memory share on a CPU node. So a whole node for an hour costs exactly the price.
 *
 * Exactness: within one node group every share has the same denominator (GPUs per node,
 * or CPUs x MiB per node) times 3600 s, so a job adds an integer "share-second numerator"
 * (`gpus x seconds`, or `max(cpus x MiB/node, MiB x CPUs/node) x seconds`). Numerators are
 * summed exactly (a float accumulator flushed into a BigInt before it could lose a unit),
 * prices are held in 1/10,000 of the currency unit, and the cost is rounded once, to the
 * cent, half up: cost = numerator x price / (denominator x 3600). A line that spans node
 * groups (a department on CPU and GPU nodes) costs the sum of its per-group costs, each
 * rounded to the cent.
 */
import type { ClusterSpec, NodeGroup } from '../spec/schema.js'
import { expandHostlist, HostlistError } from '../slurm/hostlist.js'
import { MONEY_DECIMALS } from '../spec/budget-schema.js'

/** A price in 1/10,000 of the currency unit (prices have at most four decimals). */
export function priceUnits(price: number): bigint {
  return BigInt(Math.round(price * 10 ** MONEY_DECIMALS))
}

/** What the rule needs of a node group. */
export interface GroupRate {
  name: string
  /** Per node: GPUs (GPU groups), else 0. */
  gpus: number
  cpus: number
  memMiB: number
  /** Price of one node-hour in 1/10,000 of the currency unit; null when the spec gives none. */
  price: bigint | null
  /** Denominator of one node-hour share: `gpus x 3600` or `cpus x memMiB x 3600`. */
  denominator: bigint
}

/** The rates of a spec's node groups, by name. */
export function groupRates(spec: Pick<ClusterSpec, 'nodeGroups' | 'pricing'>): Map<string, GroupRate> {
  const out = new Map<string, GroupRate>()
  for (const g of spec.nodeGroups) out.set(g.name, rateOf(g, spec.pricing?.nodeGroups[g.name]))
  return out
}

function rateOf(g: NodeGroup, price: number | undefined): GroupRate {
  const gpus = g.gpus?.count ?? 0
  return {
    name: g.name, gpus, cpus: g.cpus, memMiB: g.realMemoryMiB,
    price: price === undefined ? null : priceUnits(price),
    denominator: BigInt(gpus > 0 ? gpus * 3600 : g.cpus * g.realMemoryMiB * 3600),
  }
}

/**
 * A job's share-second numerator on one group (see the file comment), for `seconds` of
 * its allocation of `cpus`, `memMiB` and `gpus` there.
 */
export function shareNumerator(rate: GroupRate, cpus: number, memMiB: number, gpus: number, seconds: number): number {
  if (rate.gpus > 0) return gpus * seconds
  return Math.max(cpus * rate.memMiB, memMiB * rate.cpus) * seconds
}

/** Where a float sum of integer numerators is flushed into a BigInt: one more numerator below it cannot lose a unit. */
export const EXACT_BELOW = 2 ** 52

/** An exact sum of numerators: a float part kept below 2^52 and a BigInt for the rest. */
export class ExactSum {
  private small = 0
  private big = 0n

  add(n: number): void {
    const small = this.small + n
    if (small < EXACT_BELOW) this.small = small
    else {
      this.small = small
      this.flush()
    }
  }

  addSum(other: ExactSum): void {
    this.big += other.value()
  }

  /** Adds a sum already held as a BigInt. */
  addBig(n: bigint): void {
    this.big += n
  }

  value(): bigint {
    this.flush()
    return this.big
  }

  private flush(): void {
    // Numerators are integers (integer counts times integer seconds): exact below 2^53.
    this.big += BigInt(Math.round(this.small))
    this.small = 0
  }
}

/** The cost in cents (half up) of a numerator summed on one group; 0 without a price. */
export function costCents(rate: GroupRate, numerator: bigint): bigint {
  if (rate.price === null || numerator === 0n) return 0n
  // cents = numerator x price(1e-4) x 100 / (denominator x 1e4) = numerator x price / (denominator x 100)
  const num = numerator * rate.price
  const den = rate.denominator * 100n
  return (2n * num + den) / (2n * den)
}

/** Node-hours of share (`numerator / denominator`), for display. */
export function shareNodeHours(rate: GroupRate, numerator: bigint): number {
  return Number(numerator) / Number(rate.denominator)
}

/** Cents as a decimal string of the currency (`12345n` -> `"123.45"`). */
export function formatCents(cents: bigint): string {
  const negative = cents < 0n
  const abs = negative ? -cents : cents
  const whole = abs / 100n
  const frac = (abs % 100n).toString().padStart(2, '0')
  return `${negative ? '-' : ''}${whole}.${frac}`
}

/** Which node group each node belongs to; hostlists of jobs are expanded once and cached (bounded). */
export class NodeGroups {
  private readonly byNode = new Map<string, string>()
  private readonly cache = new Map<string, Array<[string, number]> | null>()

  constructor(spec: Pick<ClusterSpec, 'nodeGroups'>) {
    for (const g of spec.nodeGroups) for (const n of expandHostlist(g.nodes)) this.byNode.set(n, g.name)
  }

  /** `[group, nodes]` pairs of a job's hostlist; null when a node is in no group or the list does not parse. */
  of(nodeList: string): ReadonlyArray<readonly [string, number]> | null {
    const hit = this.cache.get(nodeList)
    if (hit !== undefined) return hit
    let counts: Map<string, number> | null = new Map()
    try {
      for (const n of expandHostlist(nodeList)) {
        const g = this.byNode.get(n)
        if (g === undefined) { counts = null; break }
        counts.set(g, (counts.get(g) ?? 0) + 1)
      }
    } catch (err) {
      if (!(err instanceof HostlistError)) throw err
      counts = null
    }
    const out = counts === null ? null : [...counts]
    if (this.cache.size >= 10_000) this.cache.clear()
    this.cache.set(nodeList, out)
    return out
  }
}

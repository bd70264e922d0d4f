/**
 * The chargeback rule rendered into Slurm: `TRESBillingWeights` per partition, with
 * `PriorityFlags=MAX_TRES`, so the `billing` TRES that `sshare`, fairshare and limits see
 * is the job's hourly cost in 1/10,000 of the currency unit. On a GPU node group only GPUs
 * weigh (`GRES/gpu = price / GPUs per node`); on a CPU group `CPU = price / CPUs per node`
 * and `Mem = price / MiB per node` (per MiB: no suffix), and MAX_TRES bills the larger.
 *
 * Where Slurm rounds: it keeps a job's billing as an integer, so a job's `billing` is its
 * exact hourly cost in 1/10,000 of the currency, rounded by Slurm to a whole unit (at most
 * 0.0001 of the currency per hour away); weights are written with up to 6 decimals. The
 * service's own cost (src/usage/chargeback.ts) is exact and does not read `billing`.
 */
import type { ClusterSpec, NodeGroup } from '../spec/schema.js'
import type { ResolvedPartition } from '../spec/model.js'
import { MONEY_DECIMALS } from '../spec/units.js'

/** A weight as slurm.conf takes it: at most 6 decimals, no trailing zeros. */
function weight(x: number): string {
  return String(Number(x.toFixed(6)))
}

/** The `TRESBillingWeights` value of one node group, or undefined without a price. */
export function groupBillingWeights(spec: Pick<ClusterSpec, 'pricing'>, g: NodeGroup): string | undefined {
  const price = spec.pricing?.nodeGroups[g.name]
  if (price === undefined) return undefined
  const units = Math.round(price * 10 ** MONEY_DECIMALS)
  if (g.gpus) return `GRES/gpu=${weight(units / g.gpus.count)}`
  return `CPU=${weight(units / g.cpus)},Mem=${weight(units / g.realMemoryMiB)}`
}

/**
 * A partition's `TRESBillingWeights`: its node groups' weights when they all agree (one
 * group, or groups priced alike); undefined when a group has no price or they differ
 * (Slurm has one weight set per partition; docs/budgets.md).
 */
export function partitionBillingWeights(spec: Pick<ClusterSpec, 'pricing'>, partition: ResolvedPartition, groups: ReadonlyMap<string, NodeGroup>): string | undefined {
  if (!spec.pricing) return undefined
  const weights = new Set(partition.partition.nodeGroups.map((name) => {
    const g = groups.get(name)
    return g ? groupBillingWeights(spec, g) : undefined
  }))
  if (weights.size !== 1) return undefined
  return [...weights][0]
}

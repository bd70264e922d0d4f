/**
 * Units of the spec that code reading Slurm needs without loading the spec's schema
 * (TypeBox): the CLI's reads start before the schema loads (src/cli/plan.ts). names.ts
 * and budget-schema.ts re-export them.
 */
import type { TresMap } from './names.js'

/** Spec TRES keys to Slurm TRES names, in the order Slurm prints them. */
export const TRES_NAMES: ReadonlyArray<readonly [keyof TresMap, string]> = [
  ['cpu', 'cpu'],
  ['mem', 'mem'],
  ['node', 'node'],
  ['gpu', 'gres/gpu'],
  ['shard', 'gres/shard'],
]

/** Most decimals a price or a budget may have (exact arithmetic in 1/10,000 of the currency unit). */
export const MONEY_DECIMALS = 4

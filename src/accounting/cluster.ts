/**
 * The accounting capability against one controller: read the live state, plan, apply.
 * The CLI and (later) the service call these; tests call the pure parts directly.
 */
import type { Executor } from '../adapters/executor.js'
import type { ClusterSpec } from '../spec/schema.js'
import { desiredState, type BudgetActions, type DesiredState } from './desired.js'
import { readLiveAccounting } from './live.js'
import { readPosixState } from './posix.js'
import { partitionQosWarnings, planFromStates, type LiveState, type PlanOptions } from './plan.js'
import type { Plan } from './operations.js'

/** Options of a plan on a real cluster. */
export interface ClusterPlanOptions extends PlanOptions {
  /** Skip POSIX users (e.g. when identity is managed elsewhere); default: include them. */
  posix?: boolean
  /** Budget actions in force by department (src/budgets/): carried into the desired accounting. */
  budgetActions?: BudgetActions | undefined
}

/** Reads what the plan compares against: accounting from slurmdbd and the spec's POSIX names. */
export async function readLiveState(executor: Executor, desired: DesiredState, posix = true): Promise<LiveState> {
  const accounting = await readLiveAccounting(executor, desired.accounting.cluster)
  return posix ? { accounting, posix: await readPosixState(executor, desired.posixUsers) } : { accounting }
}

/** Reads the live state and plans a spec against it. */
export async function planOnCluster(executor: Executor, spec: ClusterSpec, options: ClusterPlanOptions = {}): Promise<Plan> {
  const desired = desiredState(spec, options.budgetActions)
  const live = await readLiveState(executor, desired, options.posix ?? true)
  const plan = planFromStates(desired, live, options)
  return { ...plan, warnings: [...plan.warnings, ...partitionQosWarnings(spec, plan)] }
}

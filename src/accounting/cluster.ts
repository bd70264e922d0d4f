/**
 * The accounting capability against one controller: read the live state, plan, apply.
 * The CLI and (later) the service call these; tests call the pure parts directly.
 */
import { runAll, type Executor } from '../adapters/executor.js'
import type { ClusterSpec } from '../spec/schema.js'
import { budgetActionsInForce, desiredAccounting, desiredPosixUsers, type BudgetActions, type DesiredState } from './desired.js'
import { LIVE_READ_TIMEOUT_MS, liveOutputsOf, liveReads, parseLiveAccounting, type LiveOutputs } from './live.js'
import { posixLookups, posixStateOf } from './posix.js'
import { partitionQosWarnings, planFromStates, type LiveState, type PlanOptions } from './plan.js'
import type { Plan } from './operations.js'

/** Options of a plan on a real cluster. */
export interface ClusterPlanOptions extends PlanOptions {
  /** Skip POSIX users (e.g. when identity is managed elsewhere); default: include them. */
  posix?: boolean
  /** The accounting reads, already started (`readLiveOutputs`: they need no spec), e.g. while the spec loads. */
  liveAccounting?: Promise<LiveOutputs>
  /**
   * Budget actions in force by department (src/budgets/): carried into the desired
   * accounting. Undefined when the caller has no record of them (the CLI): the ones live
   * on the cluster that the spec's budgets explain are kept (`budgetActionsInForce`).
   */
  budgetActions?: BudgetActions | undefined
}

/** What `readLiveState` reads for: the cluster's name and the POSIX users to look up. */
export interface LiveReadTargets {
  accounting: Pick<DesiredState['accounting'], 'cluster'>
  posixUsers: DesiredState['posixUsers']
}

/**
 * Reads what the plan compares against, every read together (over SSH in one session):
 * accounting from slurmdbd and the spec's POSIX names. Of the desired state it needs only
 * the cluster's name and the POSIX users (neither depends on budget actions).
 */
export async function readLiveState(executor: Executor, desired: LiveReadTargets, posix = true, started?: Promise<LiveOutputs>): Promise<LiveState> {
  if (started) {
    const lookups = posix ? posixLookups(desired.posixUsers) : []
    const [outputs, results] = await Promise.all([started, runAll(executor, lookups.map((l) => l.argv))])
    const accounting = parseLiveAccounting(desired.accounting.cluster, outputs)
    return posix ? { accounting, posix: posixStateOf(executor.target, lookups, results) } : { accounting }
  }
  const reads = liveReads()
  const lookups = posix ? posixLookups(desired.posixUsers) : []
  const results = await runAll(executor, [...reads.map(([, argv]) => argv), ...lookups.map((l) => l.argv)], { timeoutMs: LIVE_READ_TIMEOUT_MS })
  const accounting = parseLiveAccounting(desired.accounting.cluster, liveOutputsOf(executor.target, reads, results.slice(0, reads.length)))
  return posix ? { accounting, posix: posixStateOf(executor.target, lookups, results.slice(reads.length)) } : { accounting }
}

/** Reads the live state and plans a spec against it. */
export async function planOnCluster(executor: Executor, spec: ClusterSpec, options: ClusterPlanOptions = {}): Promise<Plan> {
  const posixUsers = desiredPosixUsers(spec)
  const live = await readLiveState(executor, { accounting: { cluster: spec.cluster.name }, posixUsers }, options.posix ?? true, options.liveAccounting)
  // The accounting is built once, with the actions it carries known: the caller's, or (no
  // record of them: the CLI) the ones live on the cluster that the budgets explain.
  const kept = options.budgetActions === undefined ? budgetActionsInForce(spec, live.accounting) : new Map<string, 'restrict' | 'block'>()
  const desired: DesiredState = { accounting: desiredAccounting(spec, options.budgetActions ?? kept), posixUsers }
  const plan = planFromStates(desired, live, options)
  const keptWarnings = [...kept].map(([department, action]) => ({
    subject: `department ${department}`,
    message: `its budget's ${action} is in force and kept; the service lifts it (a new month, a raised budget, or steward budgets lift)`,
  }))
  return { ...plan, warnings: [...plan.warnings, ...keptWarnings, ...partitionQosWarnings(spec, plan)] }
}

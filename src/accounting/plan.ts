/**
 * The accounting plan: a pure diff from live to desired state, as ordered operations.
 * Nothing here runs a command; `apply.ts` does, and `live.ts`/`posix.ts` read.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { resolvePartitions } from '../spec/model.js'
import { desiredState, type DesiredState } from './desired.js'
import { associationKey, type AccountingState, type PosixState } from './model.js'
import { PHASES, sacctmgr, type Operation, type Plan } from './operations.js'
import { planQos, planQosRemovals } from './qos-plan.js'
import { planAccountRemovals, planAccountSettings, planAccounts } from './accounts-plan.js'
import { planAssociationRemovals, planAssociations, removable, type AssociationScope } from './associations-plan.js'
import { planPosix } from './posix.js'
import { PlanClashError, type PlanProblem } from './errors.js'

/** What a plan may touch. */
export interface PlanOptions {
  /** Remove QoS, accounts and users the spec does not mention. */
  prune?: boolean
  /** Accounts never modified or removed (`root` always is). */
  protectedAccounts?: readonly string[]
  /** Users never modified or removed (`root` always is). */
  protectedUsers?: readonly string[]
  /** QoS never removed (default: `normal`, Slurm's own). */
  protectedQos?: readonly string[]
}

/** The live side of a plan. `posix` may be omitted to plan accounting only (e.g. the bench). */
export interface LiveState {
  accounting: AccountingState
  posix?: PosixState
}

function protectedProblems(desired: DesiredState, accounts: ReadonlySet<string>, users: ReadonlySet<string>): PlanProblem[] {
  const problems: PlanProblem[] = []
  for (const name of desired.accounting.accounts.keys()) {
    if (accounts.has(name)) problems.push({ subject: `account ${name}`, message: 'is protected: the spec may not define it; rename the department or supervisor account' })
  }
  for (const u of desired.posixUsers) {
    if (users.has(u.name)) problems.push({ subject: `user ${u.name}`, message: 'is protected: the spec may not manage it' })
  }
  return problems
}

/** DefaultQOS values of every association that exists after the plan (desired, kept or unmanaged). */
function defaultsThatStay(want: AccountingState, have: AccountingState, scope: AssociationScope, removedAccounts: ReadonlySet<string>): Set<string> {
  const out = new Set<string>()
  const add = (q: string | undefined): void => { if (q) out.add(q) }
  for (const a of want.accounts.values()) add(a.defaultQos)
  for (const a of want.associations.values()) add(a.defaultQos)
  for (const a of have.accounts.values()) if (!want.accounts.has(a.name) && !removedAccounts.has(a.name)) add(a.defaultQos)
  for (const a of have.associations.values()) if (!removable(a, want, scope) && !want.associations.has(associationKey(a.user, a.account))) add(a.defaultQos)
  return out
}

/**
 * Plans the changes that make `live` equal to `desired`. Throws `PlanClashError` with
 * every clash (POSIX uid/name clashes, protected names in the spec): nothing may apply.
 */
export function planFromStates(desired: DesiredState, live: LiveState, options: PlanOptions = {}): Plan {
  const protectedAccounts = new Set(['root', ...(options.protectedAccounts ?? [])])
  const protectedUsers = new Set(['root', ...(options.protectedUsers ?? [])])
  const protectedQos = new Set(options.protectedQos ?? ['normal'])
  const want = desired.accounting
  const have = live.accounting
  const posix = live.posix ? planPosix(desired.posixUsers, live.posix) : { operations: [], problems: [], warnings: [] }
  const problems = [...protectedProblems(desired, protectedAccounts, protectedUsers), ...posix.problems]
  if (problems.length > 0) throw new PlanClashError(problems)

  const ops: Operation[] = [...posix.operations]
  if (!have.clusterExists) {
    ops.push({ phase: 'cluster', action: 'add', kind: 'cluster', targets: [want.cluster], argv: sacctmgr('add', 'cluster', want.cluster), summary: `register cluster ${want.cluster} in slurmdbd` })
  }
  ops.push(...planQos(want.qos, have.qos))
  ops.push(...planAccounts(want, have))
  ops.push(...planAssociations(want, have, protectedUsers))
  ops.push(...planAccountSettings(want, have))
  const specUsers = new Set(desired.posixUsers.map((u) => u.name))
  const scope: AssociationScope = { prune: options.prune ?? false, specUsers, protectedUsers, protectedAccounts }
  ops.push(...planAssociationRemovals(want, have, scope))
  const warnings = [...posix.warnings]
  if (options.prune) {
    const accounts = planAccountRemovals(want, have, protectedAccounts, protectedUsers)
    ops.push(...accounts.operations)
    for (const name of accounts.kept) warnings.push({ subject: `account ${name}`, message: 'is not in the spec but holds a protected user\'s association; kept' })
    const stillDefault = defaultsThatStay(want, have, scope, new Set(accounts.operations.flatMap((o) => o.targets)))
    const qos = planQosRemovals(want.qos, have.qos, protectedQos, stillDefault, have.qosUsedElsewhere)
    ops.push(...qos.operations)
    for (const kept of qos.kept) warnings.push({ subject: `QoS ${kept.name}`, message: kept.why })
  }
  // Each planner emits its own phase in order; a stable sort guards the global order.
  const rank = new Map(PHASES.map((p, i) => [p, i]))
  ops.sort((a, b) => (rank.get(a.phase) ?? 0) - (rank.get(b.phase) ?? 0))
  return { cluster: want.cluster, operations: ops, warnings }
}

/**
 * Warnings for QoS the plan adds that partitions name: slurmctld resolves a partition's
 * AllowQos/QOS when it reads slurm.conf, so a QoS created (or deleted and re-created,
 * with a new id) afterwards is refused there ("Invalid qos specification") until
 * `scontrol reconfigure` or a restart.
 */
export function partitionQosWarnings(spec: ClusterSpec, plan: Plan): Plan['warnings'] {
  const named = new Set(resolvePartitions(spec).flatMap((p) => [...p.allowQos, ...(p.partition.qos ? [p.partition.qos] : [])]))
  return plan.operations
    .filter((o) => o.kind === 'qos' && o.action === 'add' && named.has(o.targets[0] ?? ''))
    .map((o) => ({ subject: `QoS ${o.targets[0]}`, message: 'is new and named by partitions: run scontrol reconfigure after apply (or install slurm.conf) so slurmctld accepts it there' }))
}

/** Plans a spec against live state (see `planFromStates`). */
export function planSpec(spec: ClusterSpec, live: LiveState, options: PlanOptions = {}): Plan {
  const plan = planFromStates(desiredState(spec), live, options)
  return { ...plan, warnings: [...plan.warnings, ...partitionQosWarnings(spec, plan)] }
}

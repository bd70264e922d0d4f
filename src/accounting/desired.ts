/**
 * The accounting a spec asks for, in the shape live state is read into. Every value is
 * set explicitly on every association (no reliance on Slurm's inheritance of QOS and
 * DefaultQOS), because `sacctmgr show assoc` prints the effective value and an explicit
 * desired value is the only one a diff can compare without knowing the tree's history.
 */
import type { ClusterSpec, Qos } from '../spec/schema.js'
import { homeOf, supervisorAccount } from '../spec/model.js'
import { departmentPreemptibleQos } from '../spec/budget-rules.js'
import { normalizeTime, specTresToString } from '../slurm/sacctmgr.js'
import {
  associationKey, emptyAccountingState, sameList, sortedUnique,
  type AccountingState, type PosixUser, type QosState,
} from './model.js'

/** The whole desired state: accounting plus the POSIX users it needs. */
export interface DesiredState {
  accounting: AccountingState
  posixUsers: PosixUser[]
}

/** Slurm's defaults for what a spec leaves out (checked on 22.05.8). */
export const SLURM_DEFAULTS = { priority: 0, preemptMode: 'cluster', usageFactor: 1, fairshare: 1 } as const

/** A spec QoS in canonical form. */
export function desiredQos(q: Qos): QosState {
  return {
    name: q.name,
    description: q.description?.toLowerCase(),
    priority: q.priority ?? SLURM_DEFAULTS.priority,
    maxTresPerUser: specTresToString(q.maxTresPerUser),
    maxTresPerJob: specTresToString(q.maxTresPerJob),
    grpTres: specTresToString(q.grpTres),
    maxWall: normalizeTime(q.maxWallDurationPerJob),
    maxJobsPerUser: q.maxJobsPerUser,
    maxSubmitJobsPerUser: q.maxSubmitJobsPerUser,
    preempt: sortedUnique(q.preempt ?? []),
    preemptMode: q.preemptMode ?? SLURM_DEFAULTS.preemptMode,
    usageFactor: q.usageFactor ?? SLURM_DEFAULTS.usageFactor,
    flags: sortedUnique(q.flags ?? []),
  }
}

/** Budget actions in force, by department (src/budgets/): what the accounting must carry besides the spec. */
export type BudgetActions = ReadonlyMap<string, 'restrict' | 'block'>

/**
 * The accounting state a (valid) spec describes, with the budget actions in force:
 * `restrict` leaves the department's accounts and user associations only the department's
 * preemptible QoS (the first one their default); `block` sets `GrpSubmitJobs=0` and
 * `GrpJobs=0` on the department account, which Slurm applies to its whole subtree.
 */
export function desiredAccounting(spec: ClusterSpec, actions: BudgetActions = new Map()): AccountingState {
  const state = emptyAccountingState(spec.cluster.name)
  state.clusterExists = true
  for (const q of spec.qos) state.qos.set(q.name, desiredQos(q))
  const extraQos = new Map(spec.users.map((u) => [u.name, u.qos ?? []]))
  // One pass instead of defaultAccountOf per user: 50,000 users x 2,000 accounts is slow.
  const explicitDefault = new Map(spec.users.map((u) => [u.name, u.defaultAccount]))
  for (const d of spec.departments) {
    const action = actions.get(d.name)
    const restricted = action === 'restrict' ? departmentPreemptibleQos(spec, d) : undefined
    const qos = sortedUnique(restricted ?? d.qos)
    const defaultQos = restricted ? restricted[0] : d.defaultQos
    state.accounts.set(d.name, {
      name: d.name,
      parent: 'root',
      description: d.description?.toLowerCase(),
      organization: d.organization?.toLowerCase(),
      fairshare: d.fairshare ?? SLURM_DEFAULTS.fairshare,
      qos,
      defaultQos,
      blocked: action === 'block',
    })
    for (const s of d.supervisors ?? []) {
      const account = supervisorAccount(d, s)
      state.accounts.set(account, {
        name: account,
        parent: d.name,
        fairshare: s.fairshare ?? SLURM_DEFAULTS.fairshare,
        qos,
        defaultQos,
        blocked: false,
      })
      for (const user of s.users) {
        state.associations.set(associationKey(user, account), {
          user,
          account,
          qos: restricted ? qos : sortedUnique([...d.qos, ...(extraQos.get(user) ?? [])]),
          defaultQos,
        })
        // The first supervisor account listing a user is its default unless the spec says otherwise.
        if (!state.users.has(user)) state.users.set(user, { name: user, defaultAccount: explicitDefault.get(user) ?? account })
      }
    }
  }
  return state
}

/**
 * The budget actions live on a cluster that the spec's department budgets allow: a block
 * (both limits at 0) on a department whose budget blocks, and a restriction (the
 * department account holds exactly its preemptible QoS, which are not all its QoS) on one
 * whose budget restricts. For a plan made without the service's record of actions (the
 * CLI): it keeps what the service put in force instead of undoing it. A block or a
 * restriction the budgets do not explain is a hand edit, and the plan still undoes it.
 */
export function budgetActionsInForce(spec: ClusterSpec, live: AccountingState): Map<string, 'restrict' | 'block'> {
  const out = new Map<string, 'restrict' | 'block'>()
  for (const budget of spec.budgets?.departments ?? []) {
    const department = spec.departments.find((d) => d.name === budget.department)
    const account = live.accounts.get(budget.department)
    if (!department || !account) continue
    if (budget.onExceeded === 'block' && account.blocked) out.set(budget.department, 'block')
    if (budget.onExceeded === 'restrict') {
      const restricted = sortedUnique(departmentPreemptibleQos(spec, department))
      if (restricted.length > 0 && !sameList(restricted, sortedUnique(department.qos)) && sameList(account.qos, restricted)) out.set(budget.department, 'restrict')
    }
  }
  return out
}

/** The POSIX users of a spec, with their primary group and home. */
export function desiredPosixUsers(spec: ClusterSpec): PosixUser[] {
  // A department's gid is that department's group, named after it.
  const departmentGroups = new Map(spec.departments.filter((d) => d.gid !== undefined).map((d) => [d.gid, d.name]))
  return spec.users.map((u) => ({
    name: u.name,
    uid: u.uid,
    gid: u.gid ?? u.uid,
    groupName: (u.gid !== undefined ? departmentGroups.get(u.gid) : undefined) ?? u.name,
    ownGroup: u.gid === undefined,
    home: homeOf(spec, u),
  }))
}

/** The desired state of a spec: accounting and POSIX users. */
export function desiredState(spec: ClusterSpec, actions?: BudgetActions): DesiredState {
  return { accounting: desiredAccounting(spec, actions), posixUsers: desiredPosixUsers(spec) }
}

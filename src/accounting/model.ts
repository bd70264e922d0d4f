/**
 * The one shape both sides of the accounting diff are normalised into: the desired state
 * built from a spec and the live state read from slurmdbd. Lists are sorted, TRES strings
 * canonical (`cpu=256,gres/gpu=8`), times in Slurm's print, so equality is plain `===`.
 */

/** A QoS with every setting HPC Steward manages, in canonical form. */
export interface QosState {
  name: string
  /** Lower-cased (sacctmgr lower-cases it); `undefined` in a desired state: not managed. */
  description?: string | undefined
  priority: number
  maxTresPerUser: string
  maxTresPerJob: string
  grpTres: string
  /** `D-HH:MM:SS`/`HH:MM:SS`, or `''` for no limit. */
  maxWall: string
  maxJobsPerUser?: number | undefined
  maxSubmitJobsPerUser?: number | undefined
  preempt: string[]
  /** Lower-case; `cluster` is Slurm's "not set". */
  preemptMode: string
  usageFactor: number
  /** Sorted, in Slurm's spelling (`DenyOnLimit`); compared case-blind. */
  flags: string[]
}

/** An account with its association on the cluster. */
export interface AccountState {
  name: string
  parent: string
  /** Lower-cased; `undefined` in a desired state: set on creation only, never compared. */
  description?: string | undefined
  organization?: string | undefined
  fairshare: number | 'parent'
  qos: string[]
  defaultQos?: string | undefined
  /**
   * A budget's `block` (src/budgets/): `GrpSubmitJobs=0` and `GrpJobs=0` on the account.
   * Desired: true while the block is in force. Live: both limits read as 0; `zeroLimits`
   * names those that are 0 (what an unblock sets back to -1). Undefined: not read.
   */
  blocked?: boolean | undefined
  zeroLimits?: string[] | undefined
}

/** The global part of an account: its free text, lower-cased. */
export interface AccountRecord {
  description: string
  organization: string
}

/** One user's association with one account (no partition). */
export interface AssociationState {
  user: string
  account: string
  qos: string[]
  defaultQos?: string | undefined
}

/** A Slurm user record. */
export interface UserState {
  name: string
  /** `''` when the user has none (e.g. after its accounts were deleted). */
  defaultAccount: string
}

/** The accounting of one cluster. */
export interface AccountingState {
  cluster: string
  /** False when slurmdbd does not know the cluster yet. */
  clusterExists: boolean
  qos: Map<string, QosState>
  /** Accounts with an association on this cluster, by name. */
  accounts: Map<string, AccountState>
  /**
   * Account records (global in slurmdbd) with their free text, whether or not they have
   * an association on this cluster: `add account` on an existing record only adds the
   * association and silently ignores Description/Organization.
   */
  accountRecords: Map<string, AccountRecord>
  /** User associations by `associationKey(user, account)`. */
  associations: Map<string, AssociationState>
  users: Map<string, UserState>
  /**
   * QoS that associations of other clusters in the same slurmdbd name (in their QOS list
   * or as DefaultQOS), with those clusters: QoS are global in slurmdbd, so a prune of
   * this cluster must keep them.
   */
  qosUsedElsewhere: Map<string, Set<string>>
}

/** The key of a user association. NUL cannot appear in a name. */
export function associationKey(user: string, account: string): string {
  return `${user}\u0000${account}`
}

/** An empty accounting state, as a fresh slurmdbd (without its root account) would give. */
export function emptyAccountingState(cluster: string): AccountingState {
  return {
    cluster,
    clusterExists: false,
    qos: new Map(),
    accounts: new Map(),
    accountRecords: new Map(),
    associations: new Map(),
    users: new Map(),
    qosUsedElsewhere: new Map(),
  }
}

/** A POSIX user the spec wants on the controller. */
export interface PosixUser {
  name: string
  uid: number
  gid: number
  /** The group to create when `gid` does not exist yet. */
  groupName: string
  /** True when the spec gave no gid: the group must be the user's own (`name`, gid = uid). */
  ownGroup: boolean
  home: string
}

/** A passwd or group entry as `getent` prints it. */
export interface PosixEntry {
  name: string
  id: number
  gid?: number
  home?: string
}

/** What `getent` knows about the names and ids the spec asks for. */
export interface PosixState {
  usersByName: Map<string, PosixEntry>
  usersById: Map<number, PosixEntry>
  groupsByName: Map<string, PosixEntry>
  groupsById: Map<number, PosixEntry>
}

/** Compares sorted string lists. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

/** Sorted copy without duplicates. */
export function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort()
}

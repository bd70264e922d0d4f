/**
 * The store's contract: what the service persists and the operations it needs. Two
 * implementations (SQLite file, PostgreSQL) behave the same; the test suite runs the
 * same tests on both. Records are plain data; times are ISO-8601 strings (UTC).
 */
import type { ClusterSpec } from '../spec/schema.js'

export interface ClusterRecord {
  name: string
  description: string
  createdAt: string
  /** Newest revision number, or 0 when the cluster has no spec yet. */
  latestRevision: number
  /** Revision last applied successfully, if any. */
  appliedRevision: number | null
}

export interface RevisionRecord {
  cluster: string
  /** 1, 2, 3, ... per cluster; immutable once written. */
  number: number
  spec: ClusterSpec
  /** sha256 of the canonical spec JSON (`specHash`). */
  specHash: string
  author: string
  message: string
  createdAt: string
}

export type ApplyStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'rolled-back' | 'interrupted'

export interface ApplyStepRecord {
  seq: number
  name: string
  status: 'running' | 'ok' | 'failed' | 'skipped'
  /** The command or action, for humans (argv joined for display only). */
  detail: string
  output: string
  startedAt: string
  finishedAt: string | null
}

export interface ApplyRecord {
  id: string
  cluster: string
  revision: number
  status: ApplyStatus
  startedBy: string
  createdAt: string
  finishedAt: string | null
  error: string | null
  steps: ApplyStepRecord[]
}

export interface AuditRecord {
  id: number
  at: string
  /** Token id and role of whoever acted, or `cli:<user>` / `system`. */
  actor: string
  /** e.g. `spec.put`, `department.create`, `apply.start`, `token.create`. */
  action: string
  /** e.g. `clusters/campus/departments/nlp`. */
  resource: string
  cluster: string | null
  /** Before/after values or a revision diff; whatever tells what changed. */
  change: unknown
  /** Where the request came from (IP address, `cli`). */
  source: string
}

export type Role = 'admin' | 'department-admin' | 'researcher'

export interface TokenRecord {
  id: string
  role: Role
  /** Departments a department-admin may manage (empty for other roles). */
  departments: string[]
  /** The researcher's user name (researcher role only). */
  user: string | null
  /** The cluster a department-admin or researcher token is bound to; null for admin tokens (every cluster). */
  cluster: string | null
  description: string
  createdAt: string
  createdBy: string
  revokedAt: string | null
}

/** What a new token is: its scope and who made it. */
export interface TokenInput {
  secretHash: string
  role: Role
  departments: string[]
  user: string | null
  /** The cluster it is bound to; null or absent for none (admin tokens). */
  cluster?: string | null
  description: string
  createdBy: string
}

/** The message of a missing cluster: one wording, so a cluster a token may not see reads as one that does not exist. */
export function noSuchCluster(name: string): string {
  return `cluster ${name} does not exist`
}

/** A page of a list: `nextCursor` is passed back to get the next page, null at the end. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface PageRequest {
  limit: number
  cursor?: string | undefined
}

export interface AuditFilter {
  cluster?: string
  actor?: string
  action?: string
  /** Resource prefix, e.g. `clusters/campus/departments/nlp`. */
  resource?: string
  since?: string
  until?: string
}

/** Thrown when a write conflicts with the stored state (stale revision, duplicate name). */
export class StoreConflictError extends Error {
  override name = 'StoreConflictError'
}

/** Thrown when a named record does not exist. */
export class StoreNotFoundError extends Error {
  override name = 'StoreNotFoundError'
}

/** Thrown by `ApplyLock.check` when the lock is no longer this holder's (lease ran out, taken over). */
export class ApplyLockLostError extends Error {
  override name = 'ApplyLockLostError'
}

/** A held apply lock; `release` is idempotent. */
export interface ApplyLock {
  cluster: string
  holder: string
  /** The fencing token of this hold: a new one at every acquisition. */
  token: string
  /**
   * Resolves while this hold is still current (its token in the lock row, its lease not
   * run out); throws `ApplyLockLostError` otherwise. Called before every step that
   * changes a controller.
   */
  check(): Promise<void>
  release(): Promise<void>
}

/** The uids a revision records in the transaction that stores it. */
export interface UidPlan {
  /** Uids the spec chose: recorded for their users (conflict when a uid is another user's). */
  reserve: Array<{ user: string; uid: number }>
  /** Users to allocate a uid for, at or above `from`, skipping `avoid` (the spec's other uids and gids). */
  allocate: { users: string[]; from: number; avoid: ReadonlySet<number> }
}

/** What `appendRevision` stores: the spec, or how to complete it once the allocated uids are known. */
export interface RevisionInput {
  spec: ClusterSpec | ((allocated: ReadonlyMap<string, number>) => ClusterSpec)
  author: string
  message: string
  /** Refuse (`StoreConflictError`) unless the newest revision is this number (0 = none yet). */
  expectedLatest?: number | undefined
  /** Uids to reserve and allocate with the revision: all of them or, when anything fails, none. */
  uids?: UidPlan
}

/** A budget notification, claimed before it is sent (its key is unique: never sent twice). */
export interface BudgetNotificationRecord {
  /** `<cluster>/<department or cluster>/<month>/<threshold>`. */
  key: string
  cluster: string
  /** Null for the cluster's budget. */
  department: string | null
  month: string
  thresholdPercent: number
  status: 'sending' | 'sent'
  recipients: string[]
  createdAt: string
  sentAt: string | null
}

/** What a budget event records (POST .../budgets/events). */
export interface BudgetEventInput {
  eventId: string
  cluster: string
  budgetName: string
  department: string | null
  month: string
  thresholdPercent: number
  notificationType: 'ACTUAL' | 'FORECASTED'
  /** The action the event ran. */
  action: 'none' | 'notify' | 'restrict' | 'block'
  payload: unknown
}

export interface BudgetEventRecord extends BudgetEventInput {
  recordedAt: string
}

/** A budget action on a department for a month. */
export interface BudgetActionRecord {
  cluster: string
  department: string
  month: string
  action: 'restrict' | 'block'
  reason: string
  startedAt: string
  endedAt: string | null
  /** `lifted`, `new month`, `under budget`, `no budget`. */
  endedReason: string | null
  endedBy: string | null
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres'
  /** Runs pending migrations; safe to call at every start-up and from several replicas. */
  migrate(): Promise<void>
  close(): Promise<void>

  createCluster(name: string, description: string): Promise<ClusterRecord>
  getCluster(name: string): Promise<ClusterRecord>
  /** Clusters by name; with `only`, just those of these names (what a bound token may see). */
  listClusters(page: PageRequest, only?: readonly string[]): Promise<Page<ClusterRecord>>

  /**
   * Appends a revision. With `expectedLatest`, fails with `StoreConflictError` unless the
   * newest revision is that number (0 = none yet): the optimistic lock behind If-Match.
   */
  appendRevision(cluster: string, input: RevisionInput): Promise<RevisionRecord>
  getRevision(cluster: string, number: number): Promise<RevisionRecord>
  /** Newest first. */
  listRevisions(cluster: string, page: PageRequest): Promise<Page<Omit<RevisionRecord, 'spec'>>>
  setAppliedRevision(cluster: string, number: number): Promise<void>

  /**
   * Takes the cluster's apply lock, held across replicas (a lock row with a lease and a
   * fencing token), or returns null when another live holder has it.
   */
  tryApplyLock(cluster: string, holder: string): Promise<ApplyLock | null>
  createApply(input: { cluster: string; revision: number; startedBy: string }): Promise<ApplyRecord>
  updateApply(id: string, patch: { status?: ApplyStatus; error?: string | null; finishedAt?: string | null }): Promise<void>
  /** Adds a step or, with the same seq, updates it. */
  putApplyStep(id: string, step: ApplyStepRecord): Promise<void>
  getApply(id: string): Promise<ApplyRecord>
  listApplies(cluster: string, page: PageRequest): Promise<Page<Omit<ApplyRecord, 'steps'>>>
  /** Applies left `running` or `queued` (by a crash), oldest first; of one cluster when given. */
  listUnfinishedApplies(cluster?: string): Promise<ApplyRecord[]>

  /** Appends an audit row; there is no update or delete. */
  appendAudit(input: Omit<AuditRecord, 'id' | 'at'> & { at?: string }): Promise<AuditRecord>
  listAudit(filter: AuditFilter, page: PageRequest): Promise<Page<AuditRecord>>

  /** Stores a token by the sha256 of its secret; the secret itself is never stored. */
  createToken(input: TokenInput): Promise<TokenRecord>
  findTokenBySecretHash(secretHash: string): Promise<TokenRecord | null>
  listTokens(page: PageRequest): Promise<Page<TokenRecord>>
  revokeToken(id: string): Promise<void>

  /**
   * Allocates the next free uid at or above `from` for `user` (returns the existing one
   * when the user already has one); a uid once allocated is never given to anyone else.
   */
  allocateUid(user: string, from: number): Promise<number>
  /** Records a uid chosen elsewhere (from a spec); conflict when it belongs to another user. */
  reserveUid(user: string, uid: number): Promise<void>
  listUidAllocations(page: PageRequest): Promise<Page<{ user: string; uid: number; allocatedAt: string }>>

  /** Claims a budget notification's key; false when it was claimed or sent before. */
  claimBudgetNotification(n: Pick<BudgetNotificationRecord, 'key' | 'cluster' | 'department' | 'month' | 'thresholdPercent' | 'recipients'>): Promise<boolean>
  /** Marks a claimed notification sent, or frees its key when the send failed. */
  finishBudgetNotification(key: string, sent: boolean): Promise<void>
  listBudgetNotifications(cluster: string, month: string): Promise<BudgetNotificationRecord[]>
  /** The notification of `key` (claimed or sent), or undefined: one row, by its primary key. */
  getBudgetNotification(key: string): Promise<BudgetNotificationRecord | undefined>
  /** Records a budget event; false for a duplicate (same id, or same budget, month, threshold and type). */
  recordBudgetEvent(e: BudgetEventInput): Promise<boolean>
  listBudgetEvents(cluster: string, month: string): Promise<BudgetEventRecord[]>
  /** Puts a department's action in force for a month (not after a lift that month); true when it was not in force. */
  startBudgetAction(a: Pick<BudgetActionRecord, 'cluster' | 'department' | 'month' | 'action' | 'reason'>): Promise<boolean>
  /** Ends a department's action of a month; false when none was in force. */
  endBudgetAction(cluster: string, department: string, month: string, reason: string, by: string): Promise<boolean>
  /** Actions still in force (any month) and all of `month`. */
  listBudgetActions(cluster: string, month: string): Promise<BudgetActionRecord[]>
}

/**
 * The `Store` over a `Db`: one class for both dialects, delegating to the modules that
 * hold the queries. The dialect files construct it with their `Db`.
 */
import type {
  ApplyLock, ApplyRecord, ApplyStatus, ApplyStepRecord, AuditFilter, AuditRecord, ClusterRecord, Page, PageRequest,
  RevisionInput, RevisionRecord, Store, TokenInput, TokenRecord,
  BudgetActionRecord, BudgetEventInput, BudgetEventRecord, BudgetNotificationRecord,
} from './types.js'
import type { Db } from './sql.js'
import * as clusters from './clusters.js'
import * as applies from './applies.js'
import * as audit from './audit.js'
import * as tokens from './tokens.js'
import * as uids from './uids.js'
import * as budgets from './budgets.js'

/** A store backed by SQL; `kind` tells which database. */
export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres'
  /** See `allocateUid`: starting points that skip uids known to be taken. */
  private readonly uidHints = new Map<number, number>()

  constructor(private readonly db: Db) {
    this.kind = db.kind
  }

  migrate(): Promise<void> {
    return this.db.migrate()
  }

  close(): Promise<void> {
    return this.db.close()
  }

  createCluster(name: string, description: string): Promise<ClusterRecord> {
    return clusters.createCluster(this.db, name, description)
  }

  getCluster(name: string): Promise<ClusterRecord> {
    return clusters.getCluster(this.db, name)
  }

  listClusters(page: PageRequest, only?: readonly string[]): Promise<Page<ClusterRecord>> {
    return clusters.listClusters(this.db, page, only)
  }

  appendRevision(cluster: string, input: RevisionInput): Promise<RevisionRecord> {
    return clusters.appendRevision(this.db, cluster, input)
  }

  getRevision(cluster: string, number: number): Promise<RevisionRecord> {
    return clusters.getRevision(this.db, cluster, number)
  }

  listRevisions(cluster: string, page: PageRequest): Promise<Page<Omit<RevisionRecord, 'spec'>>> {
    return clusters.listRevisions(this.db, cluster, page)
  }

  setAppliedRevision(cluster: string, number: number): Promise<void> {
    return clusters.setAppliedRevision(this.db, cluster, number)
  }

  tryApplyLock(cluster: string, holder: string): Promise<ApplyLock | null> {
    return this.db.tryApplyLock(cluster, holder)
  }

  createApply(input: { cluster: string; revision: number; startedBy: string }): Promise<ApplyRecord> {
    return applies.createApply(this.db, input)
  }

  updateApply(id: string, patch: { status?: ApplyStatus; error?: string | null; finishedAt?: string | null }): Promise<void> {
    return applies.updateApply(this.db, id, patch)
  }

  putApplyStep(id: string, step: ApplyStepRecord): Promise<void> {
    return applies.putApplyStep(this.db, id, step)
  }

  getApply(id: string): Promise<ApplyRecord> {
    return applies.getApply(this.db, id)
  }

  listApplies(cluster: string, page: PageRequest): Promise<Page<Omit<ApplyRecord, 'steps'>>> {
    return applies.listApplies(this.db, cluster, page)
  }

  listUnfinishedApplies(cluster?: string): Promise<ApplyRecord[]> {
    return applies.listUnfinishedApplies(this.db, cluster)
  }

  appendAudit(input: Omit<AuditRecord, 'id' | 'at'> & { at?: string }): Promise<AuditRecord> {
    return audit.appendAudit(this.db, input)
  }

  listAudit(filter: AuditFilter, page: PageRequest): Promise<Page<AuditRecord>> {
    return audit.listAudit(this.db, filter, page)
  }

  createToken(input: TokenInput): Promise<TokenRecord> {
    return tokens.createToken(this.db, input)
  }

  findTokenBySecretHash(secretHash: string): Promise<TokenRecord | null> {
    return tokens.findTokenBySecretHash(this.db, secretHash)
  }

  listTokens(page: PageRequest): Promise<Page<TokenRecord>> {
    return tokens.listTokens(this.db, page)
  }

  revokeToken(id: string): Promise<void> {
    return tokens.revokeToken(this.db, id)
  }

  allocateUid(user: string, from: number): Promise<number> {
    return uids.allocateUid(this.db, this.uidHints, user, from)
  }

  reserveUid(user: string, uid: number): Promise<void> {
    return uids.reserveUid(this.db, user, uid)
  }

  listUidAllocations(page: PageRequest): Promise<Page<{ user: string; uid: number; allocatedAt: string }>> {
    return uids.listUidAllocations(this.db, page)
  }

  claimBudgetNotification(n: Pick<BudgetNotificationRecord, 'key' | 'cluster' | 'department' | 'month' | 'thresholdPercent' | 'recipients'>): Promise<boolean> {
    return budgets.claimBudgetNotification(this.db, n)
  }

  finishBudgetNotification(key: string, sent: boolean): Promise<void> {
    return budgets.finishBudgetNotification(this.db, key, sent)
  }

  listBudgetNotifications(cluster: string, month: string): Promise<BudgetNotificationRecord[]> {
    return budgets.listBudgetNotifications(this.db, cluster, month)
  }

  getBudgetNotification(key: string): Promise<BudgetNotificationRecord | undefined> {
    return budgets.getBudgetNotification(this.db, key)
  }

  recordBudgetEvent(e: BudgetEventInput): Promise<boolean> {
    return budgets.recordBudgetEvent(this.db, e)
  }

  listBudgetEvents(cluster: string, month: string): Promise<BudgetEventRecord[]> {
    return budgets.listBudgetEvents(this.db, cluster, month)
  }

  startBudgetAction(a: Pick<BudgetActionRecord, 'cluster' | 'department' | 'month' | 'action' | 'reason'>): Promise<boolean> {
    return budgets.startBudgetAction(this.db, a)
  }

  endBudgetAction(cluster: string, department: string, month: string, reason: string, by: string): Promise<boolean> {
    return budgets.endBudgetAction(this.db, cluster, department, month, reason, by)
  }

  listBudgetActions(cluster: string, month: string): Promise<BudgetActionRecord[]> {
    return budgets.listBudgetActions(this.db, cluster, month)
  }
}

/**
 * Budget records: notifications sent (a unique key, so none is ever sent twice), budget
 * events from AWS Budgets (deduplicated by event id and by what they say), and the budget
 * actions in force on departments (`restrict` or `block`, one row per department and month,
 * ended by a new month, a raised budget or an admin's lift).
 */
import type { BudgetActionRecord, BudgetEventInput, BudgetEventRecord, BudgetNotificationRecord } from './types.js'
import { jsonParam, now, timeOf, timeOrNull, type Db, type Row } from './sql.js'

const NOTIFICATION = 'key, cluster, department, month, threshold, status, recipients, created_at, sent_at'
const EVENT = 'event_id, cluster, budget_name, department, month, threshold, notification_type, action, payload, recorded_at'
const ACTION = 'cluster, department, month, action, reason, started_at, ended_at, ended_reason, ended_by'

function toNotification(db: Db, row: Row): BudgetNotificationRecord {
  return {
    key: String(row.key), cluster: String(row.cluster), department: row.department === null ? null : String(row.department),
    month: String(row.month), thresholdPercent: Number(row.threshold), status: String(row.status) as BudgetNotificationRecord['status'],
    recipients: db.decodeJson(row.recipients) as string[], createdAt: timeOf(row.created_at), sentAt: timeOrNull(row.sent_at),
  }
}

function toEvent(db: Db, row: Row): BudgetEventRecord {
  return {
    eventId: String(row.event_id), cluster: String(row.cluster), budgetName: String(row.budget_name),
    department: row.department === null ? null : String(row.department), month: String(row.month),
    thresholdPercent: Number(row.threshold), notificationType: String(row.notification_type) as BudgetEventRecord['notificationType'],
    action: String(row.action) as BudgetEventRecord['action'], payload: db.decodeJson(row.payload), recordedAt: timeOf(row.recorded_at),
  }
}

function toAction(row: Row): BudgetActionRecord {
  return {
    cluster: String(row.cluster), department: String(row.department), month: String(row.month),
    action: String(row.action) as BudgetActionRecord['action'], reason: String(row.reason), startedAt: timeOf(row.started_at),
    endedAt: timeOrNull(row.ended_at), endedReason: row.ended_reason === null ? null : String(row.ended_reason),
    endedBy: row.ended_by === null ? null : String(row.ended_by),
  }
}

/** Claims a notification's key before it is sent; false when it was claimed (or sent) already. */
export async function claimBudgetNotification(db: Db, n: Pick<BudgetNotificationRecord, 'key' | 'cluster' | 'department' | 'month' | 'thresholdPercent' | 'recipients'>): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO budget_notifications (key, cluster, department, month, threshold, status, recipients, created_at) VALUES (?, ?, ?, ?, ?, 'sending', ?, ?)
     ON CONFLICT (key) DO NOTHING RETURNING key`,
    [n.key, n.cluster, n.department, n.month, String(n.thresholdPercent), jsonParam(n.recipients), now()],
  )
  return rows.length > 0
}

/** Marks a claimed notification sent, or (`sent` false: the send failed) frees its key for the next check. */
export async function finishBudgetNotification(db: Db, key: string, sent: boolean): Promise<void> {
  if (sent) await db.query("UPDATE budget_notifications SET status = 'sent', sent_at = ? WHERE key = ?", [now(), key])
  else await db.query("DELETE FROM budget_notifications WHERE key = ? AND status = 'sending'", [key])
}

export async function listBudgetNotifications(db: Db, cluster: string, month: string): Promise<BudgetNotificationRecord[]> {
  const { rows } = await db.query(`SELECT ${NOTIFICATION} FROM budget_notifications WHERE cluster = ? AND month = ? ORDER BY created_at, key`, [cluster, month])
  return rows.map((r) => toNotification(db, r))
}

/** The notification of `key`, or undefined (one row by the primary key, whatever its month). */
export async function getBudgetNotification(db: Db, key: string): Promise<BudgetNotificationRecord | undefined> {
  const { rows } = await db.query(`SELECT ${NOTIFICATION} FROM budget_notifications WHERE key = ?`, [key])
  return rows[0] === undefined ? undefined : toNotification(db, rows[0])
}

/** Records an event; false when its id, or the same (budget, month, threshold, type), was recorded already. */
export async function recordBudgetEvent(db: Db, e: BudgetEventInput): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO budget_events (event_id, cluster, budget_name, department, month, threshold, notification_type, action, payload, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING RETURNING event_id`,
    [e.eventId, e.cluster, e.budgetName, e.department, e.month, String(e.thresholdPercent), e.notificationType, e.action, jsonParam(e.payload), now()],
  )
  return rows.length > 0
}

export async function listBudgetEvents(db: Db, cluster: string, month: string): Promise<BudgetEventRecord[]> {
  const { rows } = await db.query(`SELECT ${EVENT} FROM budget_events WHERE cluster = ? AND month = ? ORDER BY recorded_at, event_id`, [cluster, month])
  return rows.map((r) => toEvent(db, r))
}

/**
 * Puts an action in force for a department and month. A row ended by a lift stays ended
 * for that month (the admin's decision holds); one ended otherwise (a raised budget) is
 * put back in force. Returns true when the row is (now) in force and was not before.
 */
export async function startBudgetAction(db: Db, a: Pick<BudgetActionRecord, 'cluster' | 'department' | 'month' | 'action' | 'reason'>): Promise<boolean> {
  const { rows } = await db.query(
    `INSERT INTO budget_actions (cluster, department, month, action, reason, started_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (cluster, department, month) DO UPDATE SET action = excluded.action, reason = excluded.reason, started_at = excluded.started_at,
       ended_at = NULL, ended_reason = NULL, ended_by = NULL
     WHERE budget_actions.ended_at IS NOT NULL AND budget_actions.ended_reason <> 'lifted'
     RETURNING cluster`,
    [a.cluster, a.department, a.month, a.action, a.reason, now()],
  )
  return rows.length > 0
}

/** Ends the action in force of a department and month; false when none was in force. */
export async function endBudgetAction(db: Db, cluster: string, department: string, month: string, reason: string, by: string): Promise<boolean> {
  const { changes } = await db.query(
    'UPDATE budget_actions SET ended_at = ?, ended_reason = ?, ended_by = ? WHERE cluster = ? AND department = ? AND month = ? AND ended_at IS NULL',
    [now(), reason, by, cluster, department, month],
  )
  return changes > 0
}

/** Actions of a cluster: every one still in force (any month) and every one of `month`. */
export async function listBudgetActions(db: Db, cluster: string, month: string): Promise<BudgetActionRecord[]> {
  const { rows } = await db.query(`SELECT ${ACTION} FROM budget_actions WHERE cluster = ? AND (ended_at IS NULL OR month = ?) ORDER BY department, month`, [cluster, month])
  return rows.map(toAction)
}

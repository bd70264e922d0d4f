/**
 * The budget-alert Lambda: subscribed to the SNS topic AWS Budgets notifies. For each
 * message: parse it (plain-text "AWS Budget Notification" or JSON), read the budget back
 * through the Budgets API when the message leaves something open, map the budget to the
 * cluster's department through the policy parameter, ask the service to record the event
 * and run the configured action (`POST /v1/clusters/{c}/budgets/events`), and tell the
 * budget's contacts through the notices topic when the service recorded it the first time.
 *
 * Environment: `STEWARD_CLUSTER` (required), `STEWARD_API_URL` and
 * `STEWARD_API_TOKEN_PARAMETER` (a SecureString, read once a container), optional
 * `STEWARD_NOTICE_TOPIC_ARN` (contacts are told through it), `STEWARD_POLICY_PARAMETER`
 * (default `/hpc-steward/<cluster>/policy`), `POLICY_TTL_SECONDS` (default 60).
 *
 * Duplicate deliveries have one effect: a MessageId seen before is skipped, and so is an
 * alert (budget, month, threshold, type) already handled by this container; the service
 * dedupes the same key across containers. The contacts' notice is kept by the service too:
 * the event asks whether it must still be sent (`notice: wanted`), and once sent it is
 * confirmed (`notice: sent`). A notice that failed, or whose confirmation was lost, is sent
 * by SNS's retry in whatever container it runs (at least once; never lost, never after a
 * confirmation). A message that is not a budget alert, an
 * unknown budget or one the service does not know is logged and dropped (no retry storm);
 * a failure to reach the service is thrown, so SNS's delivery is retried, then dead-lettered.
 */
import { Logger } from '@aws-lambda-powertools/logger'
import { BudgetsClient } from '@aws-sdk/client-budgets'
import { SSMClient } from '@aws-sdk/client-ssm'
import { policyParameterName } from '../src/sessions/policy.js'
import { alertKey, eventBody, monthOf, needsReadback, parseBudgetMessage, resolveAlert, type ResolvedAlert } from '../src/budgets/aws-alert.js'
import { accountOfTopic, createAwsBudgets } from '../src/adapters/aws/budgets.js'
import { createPolicyReader, PolicyUnavailableError } from '../src/adapters/aws/ssm-policy.js'
import { createServiceApi } from '../src/adapters/aws/service-api.js'
import { createSnsNotifier } from '../src/adapters/aws/sns.js'
import type { Notifier } from '../src/budgets/notify.js'

const logger = new Logger({ serviceName: 'hpc-steward-budget-alert' })
const ssm = new SSMClient({})
const budgetsClient = new BudgetsClient({})
const cluster = process.env.STEWARD_CLUSTER ?? ''
const readPolicy = createPolicyReader(process.env.STEWARD_POLICY_PARAMETER ?? policyParameterName(cluster), Number(process.env.POLICY_TTL_SECONDS ?? 60) * 1000, ssm)
const apiUrl = process.env.STEWARD_API_URL ?? ''
const tokenParameter = process.env.STEWARD_API_TOKEN_PARAMETER ?? ''
const api = apiUrl && tokenParameter ? createServiceApi({ baseUrl: apiUrl, tokenParameter, ssm }) : undefined
const noticeTopic = process.env.STEWARD_NOTICE_TOPIC_ARN
const notifier: Notifier | undefined = noticeTopic ? createSnsNotifier(noticeTopic) : undefined

/** What was done with each record: bounded memory of the container's recent work. */
const SEEN_MAX = 1000
const seenMessages = new Set<string>()
const handledAlerts = new Set<string>()

function remember(set: Set<string>, value: string): void {
  set.add(value)
  if (set.size > SEEN_MAX) set.delete(set.values().next().value as string)
}

export interface RecordResult {
  messageId: string
  outcome: 'recorded' | 'duplicate' | 'dropped'
  reason?: string
  action?: string
  budgetName?: string
  key?: string
  notified?: boolean
}

export interface HandlerResult { status: 'done' | 'dropped'; records: RecordResult[] }

interface SnsRecord { Sns?: { MessageId?: unknown; Message?: unknown; Timestamp?: unknown; TopicArn?: unknown } }

function notice(alert: ResolvedAlert, month: string, department: string | null, key: string, recipients: string[]) {
  const who = department ? `department ${department}` : `cluster ${cluster}`
  const spend = alert.notificationType === 'FORECASTED' ? alert.forecastedSpend : alert.actualSpend
  const currency = alert.currency ?? 'USD'
  return {
    key, cluster, department, month, thresholdPercent: alert.thresholdPercent,
    spend: spend ?? 0, budget: alert.budgetLimit ?? 0, currency, recipients,
    subject: `HPC Steward: ${who} ${alert.notificationType === 'FORECASTED' ? 'is forecast to pass' : 'passed'} ${alert.thresholdPercent}% of budget ${alert.budgetName} (${month})`,
    text: [
      `AWS Budgets reports that the ${alert.notificationType} cost of budget ${alert.budgetName} (${who}) passed ${alert.thresholdPercent}% in ${month}.`,
      ...(spend !== undefined ? [`${alert.notificationType === 'FORECASTED' ? 'Forecast' : 'Spend'}: ${spend.toFixed(2)} ${currency}`] : []),
      ...(alert.budgetLimit !== undefined ? [`Budget: ${alert.budgetLimit.toFixed(2)} ${currency} a month`] : []),
      '', 'The HPC Steward service has recorded the event and applies the action its spec sets for this budget.',
    ].join('\n'),
  }
}

async function handleRecord(record: SnsRecord): Promise<RecordResult> {
  const sns = record.Sns ?? {}
  const messageId = typeof sns.MessageId === 'string' ? sns.MessageId : ''
  const drop = (reason: string, extra: Partial<RecordResult> = {}): RecordResult => {
    logger.warn('budget alert dropped', { messageId, reason, ...extra })
    if (messageId) remember(seenMessages, messageId)
    return { messageId, outcome: 'dropped', reason, ...extra }
  }
  if (!messageId || typeof sns.Message !== 'string') return drop('not an SNS notification')
  if (seenMessages.has(messageId)) return { messageId, outcome: 'duplicate', reason: 'MessageId already handled' }
  const parsed = parseBudgetMessage(sns.Message)
  if (!parsed) return drop(`not an AWS Budgets notification: ${sns.Message.slice(0, 200)}`)
  const policy = await readPolicy()
  const entry = policy.budgets?.byName[parsed.budgetName]
  if (!entry) return drop(`budget ${parsed.budgetName} is not one of cluster ${cluster}'s budgets`, { budgetName: parsed.budgetName })
  let back
  if (needsReadback(parsed)) {
    const account = parsed.accountId ?? accountOfTopic(String(sns.TopicArn ?? ''))
    back = await createAwsBudgets(account, budgetsClient).readback(parsed.budgetName)
    if (!back) return drop(`budget ${parsed.budgetName} does not exist in account ${account}`, { budgetName: parsed.budgetName })
  }
  const alert = resolveAlert(parsed, back)
  if (typeof alert === 'string') return drop(alert, { budgetName: parsed.budgetName })
  const month = monthOf(String(sns.Timestamp ?? '')) ?? new Date().toISOString().slice(0, 7)
  const key = alertKey(alert, month)
  if (handledAlerts.has(key)) {
    remember(seenMessages, messageId)
    return { messageId, outcome: 'duplicate', reason: 'alert already handled', budgetName: alert.budgetName, key }
  }
  if (!api) throw new Error('STEWARD_API_URL and STEWARD_API_TOKEN_PARAMETER must be set')
  const body = eventBody(alert, month, entry.department)
  const tells = notifier !== undefined && entry.contacts.length > 0
  const outcome = await api.postBudgetEvent(cluster, tells ? { ...body, notice: 'wanted' } : body)
  if (outcome.kind === 'refused') return drop(`the service refused the event (${outcome.status}): ${outcome.reason}`, { budgetName: alert.budgetName, key })
  let notified = false
  if (tells && outcome.notice === 'send') {
    // Thrown on failure (of the send or of its confirmation): SNS retries, and the service still answers `send`.
    await notifier.send(notice(alert, month, entry.department, key, entry.contacts))
    await api.postBudgetEvent(cluster, { ...body, notice: 'sent' })
    notified = true
  }
  remember(handledAlerts, key)
  remember(seenMessages, messageId)
  logger.info(outcome.recorded ? 'budget alert recorded' : 'budget alert already recorded by the service', { messageId, key, action: outcome.action, department: entry.department, notified })
  return { messageId, outcome: outcome.recorded ? 'recorded' : 'duplicate', action: outcome.action, budgetName: alert.budgetName, key, notified }
}

export const handler = async (event: unknown): Promise<HandlerResult> => {
  const records = (event as { Records?: unknown } | null)?.Records
  if (!Array.isArray(records) || records.length === 0) {
    logger.warn('event dropped: not an SNS event', { event: JSON.stringify(event)?.slice(0, 2000) ?? null })
    return { status: 'dropped', records: [] }
  }
  if (!cluster) {
    logger.error('STEWARD_CLUSTER is not set: the function cannot know whose policy to read')
    return { status: 'dropped', records: [] }
  }
  const results: RecordResult[] = []
  for (const record of records as SnsRecord[]) {
    try {
      results.push(await handleRecord(record))
    } catch (err) {
      if (!(err instanceof PolicyUnavailableError)) throw err
      logger.error('policy unavailable; alert dropped', { reason: err.message })
      results.push({ messageId: String(record.Sns?.MessageId ?? ''), outcome: 'dropped', reason: err.message })
    }
  }
  return { status: 'done', records: results }
}

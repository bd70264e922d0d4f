/**
 * The cluster's AWS Budget as data: from a plain input (cluster, budget name, monthly
 * amount, thresholds, e-mail contacts, the SNS topic) the desired COST/MONTHLY budget,
 * filtered on the `ClusterName` cost-allocation tag, with an ACTUAL and a FORECASTED
 * notification at each threshold; and, against what AWS has, the smallest plan of calls
 * that makes AWS match (nothing when it already does). Pure: no SDK, no I/O.
 *
 * AWS Budgets' documented quotas are checked before anything is planned: at most
 * {@link MAX_NOTIFICATIONS} notifications a budget, and per notification at most
 * {@link MAX_SNS_SUBSCRIBERS} SNS and {@link MAX_EMAIL_SUBSCRIBERS} e-mail subscribers.
 */
import { EMAIL_RE, NAME_RE } from '../spec/names.js'

/** AWS Budgets: notifications a budget. */
export const MAX_NOTIFICATIONS = 5
/** AWS Budgets: SNS subscribers a notification. */
export const MAX_SNS_SUBSCRIBERS = 1
/** AWS Budgets: e-mail subscribers a notification. */
export const MAX_EMAIL_SUBSCRIBERS = 10
/** The cost-allocation tag that names a resource's cluster. */
export const CLUSTER_TAG = 'ClusterName'
/** The thresholds the service accepts (percent of the monthly amount). */
export const MAX_THRESHOLD_PERCENT = 1000

const TOPIC_ARN_RE = /^arn:aws(?:-cn|-us-gov)?:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[\w-]{1,256}$/
const CURRENCY_RE = /^[A-Z]{3}$/

/** What the cluster's budget should be (the lead maps the spec's `budgets.cluster` to it). */
export interface AwsBudgetInput {
  clusterName: string
  budgetName: string
  /** The monthly amount, in `currency`. */
  monthly: number
  currency: string
  /** Percent of `monthly`, 0 < x <= 1000. */
  thresholds: number[]
  /** E-mail addresses AWS Budgets notifies directly. */
  notify: string[]
  /** The SNS topic the budget-alert Lambda is subscribed to. */
  topicArn: string
}

export type NotificationType = 'ACTUAL' | 'FORECASTED'
export type SubscriptionType = 'SNS' | 'EMAIL'

export interface Subscriber { type: SubscriptionType; address: string }

export interface BudgetNotificationSpec {
  type: NotificationType
  /** Percent of the budget (ThresholdType PERCENTAGE, ComparisonOperator GREATER_THAN). */
  threshold: number
  /** Set on a live notification this module does not make (another operator, an absolute threshold...): the plan removes it. */
  foreign?: { notificationType: string; comparison: string; thresholdType: string }
}

export interface DesiredNotification extends BudgetNotificationSpec { subscribers: Subscriber[] }

/** The budget fields this module decides. */
export interface BudgetShape {
  name: string
  amount: number
  currency: string
  /** Cost filter values: `user:ClusterName$<cluster>`. */
  tagFilter: string[]
  budgetType: string
  timeUnit: string
}

export interface DesiredBudget { budget: BudgetShape; notifications: DesiredNotification[] }

/** What AWS has for the budget (as the adapter reads it back); `undefined` budget = none. */
export interface LiveBudget { budget: BudgetShape; notifications: DesiredNotification[] }

/** One call of the plan; the adapter turns each into exactly one Budgets API call. */
export type BudgetStep =
  | { op: 'createBudget'; desired: DesiredBudget }
  | { op: 'updateBudget'; budget: BudgetShape; changes: string[] }
  | { op: 'deleteNotification'; notification: BudgetNotificationSpec }
  | { op: 'createNotification'; notification: DesiredNotification }
  | { op: 'deleteSubscriber'; notification: BudgetNotificationSpec; subscriber: Subscriber }
  | { op: 'createSubscriber'; notification: BudgetNotificationSpec; subscriber: Subscriber }

/** Thrown for an input that is not a budget AWS would accept, or one beyond AWS's quotas. */
export class AwsBudgetInputError extends Error {
  override name = 'AwsBudgetInputError'
  constructor(readonly problems: string[]) {
    super(`the AWS budget cannot be built: ${problems.join('; ')}`)
  }
}

/** `user:ClusterName$<cluster>`: the cost filter value AWS Budgets uses for a user tag. */
export const clusterTagFilter = (cluster: string): string => `user:${CLUSTER_TAG}$${cluster}`

/** The budget ARN IAM scopes Budgets actions to. */
export const budgetArn = (account: string, budgetName: string, partition = 'aws'): string => `arn:${partition}:budgets::${account}:budget/${budgetName}`

function problemsOf(input: AwsBudgetInput): string[] {
  const p: string[] = []
  if (!NAME_RE.test(input.clusterName)) p.push(`clusterName "${input.clusterName}" is not a cluster name (${NAME_RE.source})`)
  const name = input.budgetName
  if (name.length < 1 || name.length > 100 || /[:\\]/.test(name) || name.includes('/action/')) {
    p.push(`budgetName "${name}" must be 1-100 characters without ":", "\\" or "/action/"`)
  }
  if (!Number.isFinite(input.monthly) || input.monthly <= 0) p.push(`monthly ${input.monthly} must be a positive amount`)
  if (!CURRENCY_RE.test(input.currency)) p.push(`currency "${input.currency}" must be an ISO 4217 code such as USD`)
  if (!TOPIC_ARN_RE.test(input.topicArn)) p.push(`topicArn "${input.topicArn}" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`)
  if (input.thresholds.length === 0) p.push('thresholds: at least one threshold is needed')
  for (const t of input.thresholds) {
    if (!Number.isFinite(t) || t <= 0 || t > MAX_THRESHOLD_PERCENT) p.push(`threshold ${t} must be a percentage in (0, ${MAX_THRESHOLD_PERCENT}]`)
  }
  const dupes = input.thresholds.filter((t, i) => input.thresholds.indexOf(t) !== i)
  if (dupes.length) p.push(`thresholds: ${[...new Set(dupes)].join(', ')} listed twice`)
  const notifications = input.thresholds.length * 2
  if (notifications > MAX_NOTIFICATIONS) {
    p.push(`${input.thresholds.length} thresholds make ${notifications} notifications (ACTUAL and FORECASTED each); AWS Budgets allows ${MAX_NOTIFICATIONS} a budget: use at most ${Math.floor(MAX_NOTIFICATIONS / 2)} thresholds`)
  }
  const emails = [...new Set(input.notify.map((e) => e.toLowerCase()))]
  for (const e of input.notify) if (!EMAIL_RE.test(e)) p.push(`notify: "${e}" is not an e-mail address`)
  if (emails.length > MAX_EMAIL_SUBSCRIBERS) p.push(`notify has ${emails.length} e-mail addresses; AWS Budgets allows ${MAX_EMAIL_SUBSCRIBERS} e-mail subscribers a notification`)
  return p
}

/** The desired budget; throws {@link AwsBudgetInputError} with every problem at once. */
export function desiredBudget(input: AwsBudgetInput): DesiredBudget {
  const problems = problemsOf(input)
  if (problems.length) throw new AwsBudgetInputError(problems)
  const subscribers: Subscriber[] = [
    { type: 'SNS', address: input.topicArn },
    ...[...new Set(input.notify.map((e) => e.toLowerCase()))].sort().map((address) => ({ type: 'EMAIL' as const, address })),
  ]
  const thresholds = [...input.thresholds].sort((a, b) => a - b)
  return {
    budget: {
      name: input.budgetName, amount: input.monthly, currency: input.currency,
      tagFilter: [clusterTagFilter(input.clusterName)], budgetType: 'COST', timeUnit: 'MONTHLY',
    },
    notifications: thresholds.flatMap((threshold) => (['ACTUAL', 'FORECASTED'] as const).map((type) => ({ type, threshold, subscribers: subscribers.map((s) => ({ ...s })) }))),
  }
}

const notificationKey = (n: BudgetNotificationSpec): string =>
  n.foreign ? `${n.foreign.notificationType}:${n.foreign.comparison}:${n.foreign.thresholdType}@${n.threshold}` : `${n.type}@${n.threshold}`
const subscriberKey = (s: Subscriber): string => `${s.type}:${s.type === 'EMAIL' ? s.address.toLowerCase() : s.address}`
/** Amounts compare to the cent: AWS echoes "1000.0" for 1000. */
const sameAmount = (a: number, b: number): boolean => Math.round(a * 100) === Math.round(b * 100)

/** What differs between the live budget's own fields and the desired ones (empty = none). */
export function budgetChanges(live: BudgetShape, want: BudgetShape): string[] {
  const changes: string[] = []
  if (!sameAmount(live.amount, want.amount) || live.currency !== want.currency) changes.push(`limit ${live.amount} ${live.currency} -> ${want.amount} ${want.currency}`)
  if ([...live.tagFilter].sort().join(',') !== [...want.tagFilter].sort().join(',')) changes.push(`cost filter [${live.tagFilter.join(', ')}] -> [${want.tagFilter.join(', ')}]`)
  if (live.budgetType !== want.budgetType) changes.push(`budget type ${live.budgetType} -> ${want.budgetType}`)
  if (live.timeUnit !== want.timeUnit) changes.push(`time unit ${live.timeUnit} -> ${want.timeUnit}`)
  return changes
}

/**
 * The calls that make `live` into `desired`, in an order that never passes a quota:
 * removals before additions. `[]` when AWS already matches.
 */
export function planBudget(desired: DesiredBudget, live: LiveBudget | undefined): BudgetStep[] {
  if (!live) return [{ op: 'createBudget', desired }]
  const steps: BudgetStep[] = []
  const changes = budgetChanges(live.budget, desired.budget)
  if (changes.length) steps.push({ op: 'updateBudget', budget: desired.budget, changes })
  const want = new Map(desired.notifications.map((n) => [notificationKey(n), n]))
  const have = new Map(live.notifications.map((n) => [notificationKey(n), n]))
  const additions: BudgetStep[] = []
  for (const [key, n] of have) if (!want.has(key)) steps.push({ op: 'deleteNotification', notification: { type: n.type, threshold: n.threshold, ...(n.foreign ? { foreign: n.foreign } : {}) } })
  for (const [key, n] of want) {
    const current = have.get(key)
    if (!current) {
      additions.push({ op: 'createNotification', notification: n })
      continue
    }
    const spec = { type: n.type, threshold: n.threshold }
    const wanted = new Set(n.subscribers.map(subscriberKey))
    const present = new Set(current.subscribers.map(subscriberKey))
    for (const s of current.subscribers) if (!wanted.has(subscriberKey(s))) steps.push({ op: 'deleteSubscriber', notification: spec, subscriber: s })
    for (const s of n.subscribers) if (!present.has(subscriberKey(s))) additions.push({ op: 'createSubscriber', notification: spec, subscriber: s })
  }
  return [...steps, ...additions]
}

/** One line per step, for logs and the CLI. */
export function describeStep(step: BudgetStep): string {
  switch (step.op) {
    case 'createBudget': return `create budget ${step.desired.budget.name} (${step.desired.budget.amount} ${step.desired.budget.currency} a month, ${step.desired.notifications.length} notifications)`
    case 'updateBudget': return `update budget ${step.budget.name}: ${step.changes.join(', ')}`
    case 'deleteNotification': return `delete notification ${notificationKey(step.notification)}%`
    case 'createNotification': return `create notification ${notificationKey(step.notification)}% (${step.notification.subscribers.length} subscribers)`
    case 'deleteSubscriber': return `unsubscribe ${step.subscriber.type} ${step.subscriber.address} from ${notificationKey(step.notification)}%`
    case 'createSubscriber': return `subscribe ${step.subscriber.type} ${step.subscriber.address} to ${notificationKey(step.notification)}%`
  }
}

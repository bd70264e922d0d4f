/**
 * AWS Budgets for the emulator front (JSON protocol, target prefix `AWSBudgetServiceGateway`).
 *
 * moto 5.2.1's budgets backend has Create/Describe/DeleteBudget(s), Create/DeleteNotification
 * and DescribeNotificationsForBudget, but no UpdateBudget, UpdateNotification, Create/Delete/
 * UpdateSubscriber or DescribeSubscribersForNotification, and it enforces no quota. Those
 * missing operations must see the budgets moto holds, so the whole service lives here, with
 * AWS's documented rules: 5 notifications a budget, 1 SNS and 10 e-mail subscribers a
 * notification (`CreationLimitExceededException`), duplicate names and notifications
 * (`DuplicateRecordException`), unknown ones (`NotFoundException`), budget names without
 * `:` or `\`, page sizes up to 100.
 */
import { AwsFault, type FrontService } from './protocol.js'

export const BUDGET_NOTIFICATIONS_MAX = 5
export const SNS_SUBSCRIBERS_MAX = 1
export const EMAIL_SUBSCRIBERS_MAX = 10
const PAGE_MAX = 100

interface StoredNotification { notification: Record<string, unknown>; subscribers: Array<{ SubscriptionType: string; Address: string }> }
interface StoredBudget { budget: Record<string, unknown>; notifications: StoredNotification[] }

export interface EmulatedBudgets {
  service: FrontService
  /** A budget as stored (for assertions), or undefined. */
  get(account: string, name: string): StoredBudget | undefined
  /** Sets the budget's calculated spend (what AWS would compute from the bill). */
  setSpend(account: string, name: string, actual: number, forecasted: number): void
  clear(): void
}

const invalid = (message: string) => new AwsFault('InvalidParameterException', message)
const notFound = (message: string) => new AwsFault('NotFoundException', message)

function str(body: Record<string, unknown>, key: string): string {
  const v = body[key]
  if (typeof v !== 'string' || v.length === 0) throw invalid(`${key} is required`)
  return v
}

function accountOf(body: Record<string, unknown>): string {
  const account = str(body, 'AccountId')
  if (!/^\d{12}$/.test(account)) throw invalid(`AccountId ${account} must be 12 digits`)
  return account
}

function checkNotification(n: unknown): Record<string, unknown> {
  if (typeof n !== 'object' || n === null) throw invalid('Notification is required')
  const o = n as Record<string, unknown>
  if (o.NotificationType !== 'ACTUAL' && o.NotificationType !== 'FORECASTED') throw invalid(`NotificationType ${String(o.NotificationType)} must be ACTUAL or FORECASTED`)
  if (!['GREATER_THAN', 'LESS_THAN', 'EQUAL_TO'].includes(String(o.ComparisonOperator))) throw invalid(`ComparisonOperator ${String(o.ComparisonOperator)} is not valid`)
  if (typeof o.Threshold !== 'number' || o.Threshold < 0 || o.Threshold > 1_000_000_000) throw invalid('Threshold must be a number between 0 and 1000000000')
  const thresholdType = o.ThresholdType ?? 'PERCENTAGE'
  if (thresholdType !== 'PERCENTAGE' && thresholdType !== 'ABSOLUTE_VALUE') throw invalid(`ThresholdType ${String(thresholdType)} is not valid`)
  return { NotificationType: o.NotificationType, ComparisonOperator: o.ComparisonOperator, Threshold: o.Threshold, ThresholdType: thresholdType, NotificationState: 'OK' }
}

const sameNotification = (a: Record<string, unknown>, b: Record<string, unknown>): boolean =>
  a.NotificationType === b.NotificationType && a.ComparisonOperator === b.ComparisonOperator && a.Threshold === b.Threshold && a.ThresholdType === b.ThresholdType

function checkSubscriber(s: unknown): { SubscriptionType: string; Address: string } {
  const o = (s ?? {}) as Record<string, unknown>
  if (o.SubscriptionType !== 'SNS' && o.SubscriptionType !== 'EMAIL') throw invalid(`SubscriptionType ${String(o.SubscriptionType)} must be SNS or EMAIL`)
  if (typeof o.Address !== 'string' || o.Address.length === 0 || o.Address.length > 2147483647) throw invalid('Address is required')
  if (o.SubscriptionType === 'SNS' && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(o.Address)) throw invalid(`Address ${o.Address} is not an SNS topic ARN`)
  if (o.SubscriptionType === 'EMAIL' && !/^[^@\s]+@[\w-]+(?:\.[\w-]+)+$/.test(o.Address)) throw invalid(`Address ${o.Address} is not an e-mail address`)
  return { SubscriptionType: o.SubscriptionType, Address: o.Address }
}

function checkSubscribers(list: Array<{ SubscriptionType: string }>): void {
  const sns = list.filter((s) => s.SubscriptionType === 'SNS').length
  const email = list.filter((s) => s.SubscriptionType === 'EMAIL').length
  if (list.length === 0) throw invalid('a notification needs at least one subscriber')
  if (sns > SNS_SUBSCRIBERS_MAX) throw new AwsFault('CreationLimitExceededException', `You can have at most ${SNS_SUBSCRIBERS_MAX} SNS subscriber per notification`)
  if (email > EMAIL_SUBSCRIBERS_MAX) throw new AwsFault('CreationLimitExceededException', `You can have at most ${EMAIL_SUBSCRIBERS_MAX} email subscribers per notification`)
}

function checkBudget(b: unknown): Record<string, unknown> {
  if (typeof b !== 'object' || b === null) throw invalid('Budget is required')
  const o = b as Record<string, unknown>
  const name = o.BudgetName
  if (typeof name !== 'string' || name.length < 1 || name.length > 100 || /[:\\]/.test(name) || name.includes('/action/')) throw invalid(`BudgetName ${String(name)} is not valid`)
  if (!['COST', 'USAGE', 'RI_UTILIZATION', 'RI_COVERAGE', 'SAVINGS_PLANS_UTILIZATION', 'SAVINGS_PLANS_COVERAGE'].includes(String(o.BudgetType))) throw invalid(`BudgetType ${String(o.BudgetType)} is not valid`)
  if (!['DAILY', 'MONTHLY', 'QUARTERLY', 'ANNUALLY', 'CUSTOM'].includes(String(o.TimeUnit))) throw invalid(`TimeUnit ${String(o.TimeUnit)} is not valid`)
  const limit = o.BudgetLimit as { Amount?: unknown; Unit?: unknown } | undefined
  if (o.BudgetType === 'COST' && (!limit || typeof limit.Amount !== 'string' || !/^\d+(?:\.\d+)?$/.test(limit.Amount) || typeof limit.Unit !== 'string')) throw invalid('a COST budget needs BudgetLimit {Amount, Unit}')
  if (o.CostFilters !== undefined && o.FilterExpression !== undefined) throw invalid('CostFilters and FilterExpression cannot both be given')
  return structuredClone(o)
}

function page<T>(list: T[], body: Record<string, unknown>): { items: T[]; next?: string } {
  const max = body.MaxResults ?? PAGE_MAX
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > PAGE_MAX) throw invalid(`MaxResults must be between 1 and ${PAGE_MAX}`)
  const start = body.NextToken === undefined ? 0 : Number.parseInt(String(body.NextToken), 10)
  if (!Number.isInteger(start) || start < 0 || start > list.length) throw new AwsFault('InvalidNextTokenException', 'The next token is not valid')
  const items = list.slice(start, start + max)
  return { items, ...(start + max < list.length ? { next: String(start + max) } : {}) }
}

/** The Budgets service of the front; budgets are kept per account. */
export function createBudgets(): EmulatedBudgets {
  const accounts = new Map<string, Map<string, StoredBudget>>()
  const spend = new Map<string, { actual: number; forecasted: number }>()
  const of = (account: string) => accounts.get(account) ?? accounts.set(account, new Map()).get(account)!
  function budgetOf(body: Record<string, unknown>): StoredBudget {
    const name = str(body, 'BudgetName')
    const b = of(accountOf(body)).get(name)
    if (!b) throw notFound(`Unable to get budget: ${name} - the budget doesn't exist.`)
    return b
  }
  function notificationOf(b: StoredBudget, n: unknown): StoredNotification {
    const want = checkNotification(n)
    const found = b.notifications.find((x) => sameNotification(x.notification, want))
    if (!found) throw notFound(`Unable to find notification ${JSON.stringify(n)} of budget ${String(b.budget.BudgetName)}`)
    return found
  }
  function view(account: string, b: StoredBudget): Record<string, unknown> {
    const s = spend.get(`${account}/${String(b.budget.BudgetName)}`) ?? { actual: 0, forecasted: 0 }
    const unit = (b.budget.BudgetLimit as { Unit?: string } | undefined)?.Unit ?? 'USD'
    return { ...b.budget, CalculatedSpend: { ActualSpend: { Amount: String(s.actual), Unit: unit }, ForecastedSpend: { Amount: String(s.forecasted), Unit: unit } } }
  }

  const operations: FrontService['operations'] = {
    CreateBudget(body) {
      const account = accountOf(body)
      const budget = checkBudget(body.Budget)
      const list = Array.isArray(body.NotificationsWithSubscribers) ? body.NotificationsWithSubscribers as Array<Record<string, unknown>> : []
      if (list.length > BUDGET_NOTIFICATIONS_MAX) throw new AwsFault('CreationLimitExceededException', `You can create at most ${BUDGET_NOTIFICATIONS_MAX} notifications per budget`)
      const notifications = list.map((n) => {
        const subscribers = (Array.isArray(n.Subscribers) ? n.Subscribers : []).map(checkSubscriber)
        checkSubscribers(subscribers)
        return { notification: checkNotification(n.Notification), subscribers }
      })
      if (notifications.some((n, i) => notifications.findIndex((m) => sameNotification(m.notification, n.notification)) !== i)) throw new AwsFault('DuplicateRecordException', 'duplicate notification')
      const name = String(budget.BudgetName)
      if (of(account).has(name)) throw new AwsFault('DuplicateRecordException', `Error creating budget: ${name} - the budget already exists.`)
      budget.LastUpdatedTime = Date.now() / 1000
      of(account).set(name, { budget, notifications })
      return {}
    },
    DescribeBudget(body) {
      return { Budget: view(accountOf(body), budgetOf(body)) }
    },
    DescribeBudgets(body) {
      const account = accountOf(body)
      const { items, next } = page([...of(account).values()], body)
      return { Budgets: items.map((b) => view(account, b)), ...(next ? { NextToken: next } : {}) }
    },
    UpdateBudget(body) {
      const account = accountOf(body)
      const budget = checkBudget(body.NewBudget)
      const stored = of(account).get(String(budget.BudgetName))
      if (!stored) throw notFound(`Unable to update budget: ${String(budget.BudgetName)} - the budget doesn't exist.`)
      // UpdateBudget replaces the budget's fields; fields left out fall back to AWS's defaults, not the old values.
      budget.LastUpdatedTime = Date.now() / 1000
      stored.budget = budget
      return {}
    },
    DeleteBudget(body) {
      const b = budgetOf(body)
      of(accountOf(body)).delete(String(b.budget.BudgetName))
      return {}
    },
    CreateNotification(body) {
      const b = budgetOf(body)
      const notification = checkNotification(body.Notification)
      if (b.notifications.some((n) => sameNotification(n.notification, notification))) throw new AwsFault('DuplicateRecordException', 'the notification already exists')
      if (b.notifications.length >= BUDGET_NOTIFICATIONS_MAX) throw new AwsFault('CreationLimitExceededException', `You can create at most ${BUDGET_NOTIFICATIONS_MAX} notifications per budget`)
      const subscribers = (Array.isArray(body.Subscribers) ? body.Subscribers : []).map(checkSubscriber)
      checkSubscribers(subscribers)
      b.notifications.push({ notification, subscribers })
      return {}
    },
    UpdateNotification(body) {
      const b = budgetOf(body)
      const n = notificationOf(b, body.OldNotification)
      const next = checkNotification(body.NewNotification)
      if (b.notifications.some((m) => m !== n && sameNotification(m.notification, next))) throw new AwsFault('DuplicateRecordException', 'the notification already exists')
      n.notification = next
      return {}
    },
    DeleteNotification(body) {
      const b = budgetOf(body)
      const n = notificationOf(b, body.Notification)
      b.notifications = b.notifications.filter((m) => m !== n)
      return {}
    },
    DescribeNotificationsForBudget(body) {
      const b = budgetOf(body)
      const { items, next } = page(b.notifications.map((n) => n.notification), body)
      return { Notifications: items, ...(next ? { NextToken: next } : {}) }
    },
    CreateSubscriber(body) {
      const n = notificationOf(budgetOf(body), body.Notification)
      const s = checkSubscriber(body.Subscriber)
      if (n.subscribers.some((x) => x.SubscriptionType === s.SubscriptionType && x.Address === s.Address)) throw new AwsFault('DuplicateRecordException', 'the subscriber already exists')
      checkSubscribers([...n.subscribers, s])
      n.subscribers.push(s)
      return {}
    },
    DeleteSubscriber(body) {
      const n = notificationOf(budgetOf(body), body.Notification)
      const s = checkSubscriber(body.Subscriber)
      const i = n.subscribers.findIndex((x) => x.SubscriptionType === s.SubscriptionType && x.Address === s.Address)
      if (i < 0) throw notFound(`subscriber ${s.Address} not found`)
      n.subscribers.splice(i, 1)
      return {}
    },
    UpdateSubscriber(body) {
      const n = notificationOf(budgetOf(body), body.Notification)
      const old = checkSubscriber(body.OldSubscriber)
      const next = checkSubscriber(body.NewSubscriber)
      const i = n.subscribers.findIndex((x) => x.SubscriptionType === old.SubscriptionType && x.Address === old.Address)
      if (i < 0) throw notFound(`subscriber ${old.Address} not found`)
      const list = n.subscribers.map((x, j) => (j === i ? next : x))
      checkSubscribers(list)
      n.subscribers = list
      return {}
    },
    DescribeSubscribersForNotification(body) {
      const n = notificationOf(budgetOf(body), body.Notification)
      const { items, next } = page(n.subscribers, body)
      return { Subscribers: items, ...(next ? { NextToken: next } : {}) }
    },
  }

  return {
    service: { targetPrefix: 'AWSBudgetServiceGateway', operations },
    get: (account, name) => accounts.get(account)?.get(name),
    setSpend: (account, name, actual, forecasted) => { spend.set(`${account}/${name}`, { actual, forecasted }) },
    clear: () => { accounts.clear(); spend.clear() },
  }
}

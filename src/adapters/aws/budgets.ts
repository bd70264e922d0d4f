/**
 * The cluster's AWS Budget through `@aws-sdk/client-budgets`: read it back (the budget, its
 * notifications and their subscribers, every page), plan with src/budgets/aws-budget.ts,
 * and make only the calls the plan lists. Running it twice makes no call the second time
 * but the reads. The account is the SNS topic's (AWS Budgets needs it in every call).
 */
import {
  BudgetsClient, CreateBudgetCommand, CreateNotificationCommand, CreateSubscriberCommand, DeleteNotificationCommand,
  DeleteSubscriberCommand, DescribeBudgetCommand, DescribeNotificationsForBudgetCommand, DescribeSubscribersForNotificationCommand,
  UpdateBudgetCommand, type Budget, type Notification, type Subscriber as AwsSubscriber,
} from '@aws-sdk/client-budgets'
import {
  desiredBudget, describeStep, planBudget, type AwsBudgetInput, type BudgetNotificationSpec, type BudgetShape, type BudgetStep,
  type DesiredNotification, type LiveBudget, type Subscriber,
} from '../../budgets/aws-budget.js'
import type { BudgetReadback } from '../../budgets/aws-alert.js'

/** A Budgets call failed; the message names the call and the budget. */
export class AwsBudgetError extends Error {
  override name = 'AwsBudgetError'
}

/** More pages than this is a runaway listing: a budget has at most 5 notifications. */
const MAX_PAGES = 20

export interface EnsureResult {
  budgetName: string
  /** The calls made (empty when AWS already matched). */
  steps: BudgetStep[]
  lines: string[]
}

const toNotification = (n: BudgetNotificationSpec): Notification => n.foreign
  ? { NotificationType: n.foreign.notificationType as Notification['NotificationType'], ComparisonOperator: n.foreign.comparison as Notification['ComparisonOperator'], Threshold: n.threshold, ThresholdType: n.foreign.thresholdType as Notification['ThresholdType'] }
  : { NotificationType: n.type, ComparisonOperator: 'GREATER_THAN', Threshold: n.threshold, ThresholdType: 'PERCENTAGE' }
const toSubscriber = (s: Subscriber): AwsSubscriber => ({ SubscriptionType: s.type, Address: s.address })

function toBudget(b: BudgetShape): Budget {
  return {
    BudgetName: b.name, BudgetType: 'COST', TimeUnit: 'MONTHLY',
    BudgetLimit: { Amount: String(b.amount), Unit: b.currency },
    CostFilters: { TagKeyValue: b.tagFilter },
  }
}

/** The AWS Budgets port of one account; `client` defaults to one from the environment. */
export function createAwsBudgets(account: string, client: BudgetsClient = new BudgetsClient({})) {
  async function call<T>(what: string, budget: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send()
    } catch (err) {
      throw new AwsBudgetError(`${what} of budget ${budget} failed: ${(err as Error).name}: ${(err as Error).message}`, { cause: err })
    }
  }

  async function subscribers(name: string, n: Notification): Promise<Subscriber[]> {
    const out: Subscriber[] = []
    let token: string | undefined
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await call('DescribeSubscribersForNotification', name, () => client.send(new DescribeSubscribersForNotificationCommand({ AccountId: account, BudgetName: name, Notification: n, NextToken: token, MaxResults: 100 })))
      for (const s of res.Subscribers ?? []) if (s.SubscriptionType && s.Address) out.push({ type: s.SubscriptionType as Subscriber['type'], address: s.Address })
      token = res.NextToken
      if (!token) return out
    }
    throw new AwsBudgetError(`DescribeSubscribersForNotification of budget ${name} returned more than ${MAX_PAGES} pages`)
  }

  /** The budget as AWS has it, or `undefined` when there is none. */
  async function describe(name: string): Promise<Budget | undefined> {
    try {
      return (await client.send(new DescribeBudgetCommand({ AccountId: account, BudgetName: name }))).Budget
    } catch (err) {
      if ((err as Error).name === 'NotFoundException') return undefined
      throw new AwsBudgetError(`DescribeBudget of budget ${name} failed: ${(err as Error).name}: ${(err as Error).message}`, { cause: err })
    }
  }

  async function read(name: string): Promise<LiveBudget | undefined> {
    const budget = await describe(name)
    if (!budget) return undefined
    const notifications: DesiredNotification[] = []
    let token: string | undefined
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) throw new AwsBudgetError(`DescribeNotificationsForBudget of budget ${name} returned more than ${MAX_PAGES} pages`)
      const res = await call('DescribeNotificationsForBudget', name, () => client.send(new DescribeNotificationsForBudgetCommand({ AccountId: account, BudgetName: name, NextToken: token, MaxResults: 100 })))
      for (const n of res.Notifications ?? []) {
        // A notification we do not make (absolute amount, another operator) keeps its own fields, so the plan removes exactly it.
        const ours = n.ComparisonOperator === 'GREATER_THAN' && n.ThresholdType === 'PERCENTAGE' && (n.NotificationType === 'ACTUAL' || n.NotificationType === 'FORECASTED')
        notifications.push({
          type: n.NotificationType === 'FORECASTED' ? 'FORECASTED' : 'ACTUAL', threshold: n.Threshold ?? 0, subscribers: await subscribers(name, n),
          ...(ours ? {} : { foreign: { notificationType: String(n.NotificationType), comparison: String(n.ComparisonOperator), thresholdType: String(n.ThresholdType ?? 'PERCENTAGE') } }),
        })
      }
      token = res.NextToken
      if (!token) break
    }
    return {
      budget: {
        name, amount: Number(budget.BudgetLimit?.Amount ?? Number.NaN), currency: budget.BudgetLimit?.Unit ?? '',
        tagFilter: budget.CostFilters?.TagKeyValue ?? [], budgetType: budget.BudgetType ?? '', timeUnit: budget.TimeUnit ?? '',
      },
      notifications,
    }
  }

  async function apply(step: BudgetStep, name: string): Promise<void> {
    switch (step.op) {
      case 'createBudget':
        await call('CreateBudget', name, () => client.send(new CreateBudgetCommand({
          AccountId: account, Budget: toBudget(step.desired.budget),
          NotificationsWithSubscribers: step.desired.notifications.map((n) => ({ Notification: toNotification(n), Subscribers: n.subscribers.map(toSubscriber) })),
        })))
        return
      case 'updateBudget':
        await call('UpdateBudget', name, () => client.send(new UpdateBudgetCommand({ AccountId: account, NewBudget: toBudget(step.budget) })))
        return
      case 'deleteNotification':
        await call('DeleteNotification', name, () => client.send(new DeleteNotificationCommand({ AccountId: account, BudgetName: name, Notification: toNotification(step.notification) })))
        return
      case 'createNotification':
        await call('CreateNotification', name, () => client.send(new CreateNotificationCommand({ AccountId: account, BudgetName: name, Notification: toNotification(step.notification), Subscribers: step.notification.subscribers.map(toSubscriber) })))
        return
      case 'deleteSubscriber':
        await call('DeleteSubscriber', name, () => client.send(new DeleteSubscriberCommand({ AccountId: account, BudgetName: name, Notification: toNotification(step.notification), Subscriber: toSubscriber(step.subscriber) })))
        return
      case 'createSubscriber':
        await call('CreateSubscriber', name, () => client.send(new CreateSubscriberCommand({ AccountId: account, BudgetName: name, Notification: toNotification(step.notification), Subscriber: toSubscriber(step.subscriber) })))
        return
    }
  }

  return {
    read,
    /** The budget's amount, spend and percentage notifications, for an alert the message left open; `undefined` when there is no such budget. */
    async readback(name: string): Promise<BudgetReadback | undefined> {
      const budget = await describe(name)
      if (!budget) return undefined
      const res = await call('DescribeNotificationsForBudget', name, () => client.send(new DescribeNotificationsForBudgetCommand({ AccountId: account, BudgetName: name, MaxResults: 100 })))
      const spend = budget.CalculatedSpend
      return {
        limit: Number(budget.BudgetLimit?.Amount ?? Number.NaN), currency: budget.BudgetLimit?.Unit ?? '',
        actual: Number(spend?.ActualSpend?.Amount ?? 0), forecasted: Number(spend?.ForecastedSpend?.Amount ?? 0),
        notifications: (res.Notifications ?? []).filter((n) => n.ComparisonOperator === 'GREATER_THAN' && (n.ThresholdType ?? 'PERCENTAGE') === 'PERCENTAGE' && (n.NotificationType === 'ACTUAL' || n.NotificationType === 'FORECASTED'))
          .map((n) => ({ type: n.NotificationType as 'ACTUAL' | 'FORECASTED', threshold: n.Threshold ?? 0 })),
      }
    },
    /**
     * Makes AWS match the input: describe, plan, then only the calls the plan lists.
     * A bad input or one beyond the quotas throws `AwsBudgetInputError` before any call.
     */
    async ensure(input: AwsBudgetInput, options: { dryRun?: boolean } = {}): Promise<EnsureResult> {
      const desired = desiredBudget(input)
      const steps = planBudget(desired, await read(input.budgetName))
      if (!options.dryRun) for (const step of steps) await apply(step, input.budgetName)
      return { budgetName: input.budgetName, steps, lines: steps.map(describeStep) }
    },
  }
}

/** The account of an SNS topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`). */
export const accountOfTopic = (topicArn: string): string => topicArn.split(':')[4] ?? ''

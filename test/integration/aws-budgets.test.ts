/**
 * The cluster's AWS Budget through the real SDK against the emulator front (Budgets is all
 * in the front: moto lacks its update and subscriber operations): created once, unchanged
 * on the second run (reads only), updated by the smallest set of calls, and the quotas
 * (5 notifications, 1 SNS + 10 e-mail subscribers) refused by AWS's rules and by ours before any call.
 */
import t from 'tap'
import { BudgetsClient, CreateNotificationCommand, CreateSubscriberCommand, DescribeBudgetCommand } from '@aws-sdk/client-budgets'
import { startAwsEmulator, EMULATOR_ACCOUNT, type AwsEmulator } from '../support/aws/emulator.js'
import { accountOfTopic, createAwsBudgets } from '../../src/adapters/aws/budgets.js'
import { AwsBudgetInputError, type AwsBudgetInput } from '../../src/budgets/aws-budget.js'

let aws: AwsEmulator
let client: BudgetsClient
const topicArn = `arn:aws:sns:eu-west-1:${EMULATOR_ACCOUNT}:hpc-steward-campus-budgets`
const input: AwsBudgetInput = { clusterName: 'campus', budgetName: 'hpc-steward-campus', monthly: 5000, currency: 'USD', thresholds: [80, 100], notify: ['ops@example.edu'], topicArn }
const writes = () => [...aws.calls].filter(([k]) => /^AWSBudgetServiceGateway\.(?:Create|Update|Delete)/.test(k)).reduce((s, [, n]) => s + n, 0)

t.before(async () => {
  aws = await startAwsEmulator()
  client = new BudgetsClient({ ...aws.clientConfig, maxAttempts: 1 })
})
t.teardown(async () => {
  client.destroy()
  await aws.close()
})

t.test('created once, then idempotent: the second run only reads', async (t) => {
  const budgets = createAwsBudgets(accountOfTopic(topicArn), client)
  const first = await budgets.ensure(input)
  t.same(first.steps.map((s) => s.op), ['createBudget'])
  const stored = aws.budgets.get(EMULATOR_ACCOUNT, 'hpc-steward-campus')
  t.match(stored?.budget, { BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: '5000', Unit: 'USD' }, CostFilters: { TagKeyValue: ['user:ClusterName$campus'] } })
  t.equal(stored?.notifications.length, 4)
  t.same(stored?.notifications[0]?.subscribers, [{ SubscriptionType: 'SNS', Address: topicArn }, { SubscriptionType: 'EMAIL', Address: 'ops@example.edu' }])
  const before = writes()
  const again = await budgets.ensure(input)
  t.same(again.steps, [])
  t.equal(writes(), before, 'no write the second time')
  const live = await budgets.read('hpc-steward-campus')
  t.equal(live?.budget.amount, 5000)
})

t.test('a change makes only the calls it needs, within the quotas at every step', async (t) => {
  const budgets = createAwsBudgets(EMULATOR_ACCOUNT, client)
  aws.calls.clear()
  const changed = { ...input, monthly: 6500.5, thresholds: [90, 100], notify: ['ops@example.edu', 'pi@example.edu'] }
  const res = await budgets.ensure(changed)
  t.same(res.lines, [
    'update budget hpc-steward-campus: limit 5000 USD -> 6500.5 USD',
    'delete notification ACTUAL@80%', 'delete notification FORECASTED@80%',
    'create notification ACTUAL@90% (3 subscribers)', 'create notification FORECASTED@90% (3 subscribers)',
    'subscribe EMAIL pi@example.edu to ACTUAL@100%', 'subscribe EMAIL pi@example.edu to FORECASTED@100%',
  ])
  t.equal(aws.calls.get('AWSBudgetServiceGateway.UpdateBudget'), 1)
  t.equal(aws.calls.get('AWSBudgetServiceGateway.CreateSubscriber'), 2)
  const b = (await client.send(new DescribeBudgetCommand({ AccountId: EMULATOR_ACCOUNT, BudgetName: 'hpc-steward-campus' }))).Budget
  t.equal(b?.BudgetLimit?.Amount, '6500.5')
  t.same((await budgets.ensure(changed)).steps, [], 'then nothing')
  // An e-mail removed by hand in the console comes back; one added by hand goes.
  const stored = aws.budgets.get(EMULATOR_ACCOUNT, 'hpc-steward-campus')!
  stored.notifications[0]!.subscribers = stored.notifications[0]!.subscribers.filter((s) => s.Address !== 'pi@example.edu').concat({ SubscriptionType: 'EMAIL', Address: 'intruder@example.com' })
  t.same((await budgets.ensure(changed)).lines.sort(), ['subscribe EMAIL pi@example.edu to ACTUAL@100%', 'unsubscribe EMAIL intruder@example.com from ACTUAL@100%'].sort())
})

t.test('the quotas: beyond them AWS (the front) refuses, and ensure refuses before calling', async (t) => {
  const account = EMULATOR_ACCOUNT
  const n = (threshold: number) => ({ NotificationType: 'ACTUAL' as const, ComparisonOperator: 'GREATER_THAN' as const, Threshold: threshold, ThresholdType: 'PERCENTAGE' as const })
  await client.send(new CreateNotificationCommand({ AccountId: account, BudgetName: 'hpc-steward-campus', Notification: n(10), Subscribers: [{ SubscriptionType: 'SNS', Address: topicArn }] }))
  await t.rejects(client.send(new CreateNotificationCommand({ AccountId: account, BudgetName: 'hpc-steward-campus', Notification: n(20), Subscribers: [{ SubscriptionType: 'SNS', Address: topicArn }] })), { name: 'CreationLimitExceededException' }, 'a sixth notification')
  await t.rejects(client.send(new CreateSubscriberCommand({ AccountId: account, BudgetName: 'hpc-steward-campus', Notification: n(10), Subscriber: { SubscriptionType: 'SNS', Address: `${topicArn}-2` } })), { name: 'CreationLimitExceededException' }, 'a second SNS subscriber')
  for (let i = 0; i < 10; i++) await client.send(new CreateSubscriberCommand({ AccountId: account, BudgetName: 'hpc-steward-campus', Notification: n(10), Subscriber: { SubscriptionType: 'EMAIL', Address: `u${i}@example.edu` } }))
  await t.rejects(client.send(new CreateSubscriberCommand({ AccountId: account, BudgetName: 'hpc-steward-campus', Notification: n(10), Subscriber: { SubscriptionType: 'EMAIL', Address: 'u10@example.edu' } })), { name: 'CreationLimitExceededException' }, 'an eleventh e-mail')
  // ensure removes the notification it does not own (the fifth) before anything else.
  const budgets = createAwsBudgets(account, client)
  const res = await budgets.ensure({ ...input, monthly: 6500.5, thresholds: [90, 100], notify: ['ops@example.edu', 'pi@example.edu'] })
  t.same(res.lines, ['delete notification ACTUAL@10%'])
  aws.calls.clear()
  await t.rejects(budgets.ensure({ ...input, thresholds: [50, 80, 100] }), AwsBudgetInputError)
  await t.rejects(budgets.ensure({ ...input, notify: Array.from({ length: 11 }, (_, i) => `u${i}@example.edu`) }), /AWS Budgets allows 10 e-mail subscribers/)
  t.equal(aws.calls.size, 0, 'refused before any call')
  t.equal(aws.budgets.get(account, 'hpc-steward-campus')?.notifications.length, 4)
})

t.test('an unknown budget reads as absent; other errors are named', async (t) => {
  const budgets = createAwsBudgets(EMULATOR_ACCOUNT, client)
  t.equal(await budgets.read('no-such-budget'), undefined)
  const broken = createAwsBudgets('12345', client)
  await t.rejects(broken.ensure({ ...input, budgetName: 'x' }), { name: 'AwsBudgetError', message: /DescribeBudget of budget x failed: InvalidParameterException: AccountId 12345/ })
})

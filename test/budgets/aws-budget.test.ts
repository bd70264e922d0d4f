/** The cluster's AWS Budget as data: the desired budget, the quotas, and the plan against what AWS has. */
import t from 'tap'
import { AwsBudgetInputError, budgetArn, desiredBudget, describeStep, planBudget, type AwsBudgetInput, type LiveBudget } from '../../src/budgets/aws-budget.js'

const topicArn = 'arn:aws:sns:eu-west-1:123456789012:hpc-steward-campus-budgets'
const input: AwsBudgetInput = { clusterName: 'campus', budgetName: 'hpc-steward-campus', monthly: 5000, currency: 'USD', thresholds: [100, 80], notify: ['Ops@Example.edu'], topicArn }

t.test('the desired budget: COST, MONTHLY, the ClusterName tag filter, ACTUAL and FORECASTED at each threshold to the topic and the e-mails', async (t) => {
  const d = desiredBudget(input)
  t.same(d.budget, { name: 'hpc-steward-campus', amount: 5000, currency: 'USD', tagFilter: ['user:ClusterName$campus'], budgetType: 'COST', timeUnit: 'MONTHLY' })
  t.same(d.notifications.map((n) => `${n.type}@${n.threshold}`), ['ACTUAL@80', 'FORECASTED@80', 'ACTUAL@100', 'FORECASTED@100'])
  t.same(d.notifications[0]!.subscribers, [{ type: 'SNS', address: topicArn }, { type: 'EMAIL', address: 'ops@example.edu' }])
  t.equal(budgetArn('123456789012', 'hpc-steward-campus'), 'arn:aws:budgets::123456789012:budget/hpc-steward-campus')
})

t.test('beyond the quotas or malformed: every problem named, nothing planned', async (t) => {
  const err = (over: Partial<AwsBudgetInput>) => {
    try {
      desiredBudget({ ...input, ...over })
    } catch (e) {
      if (e instanceof AwsBudgetInputError) return e.message
      throw e
    }
    return 'accepted'
  }
  t.match(err({ thresholds: [50, 80, 100] }), /3 thresholds make 6 notifications .*AWS Budgets allows 5 a budget: use at most 2 thresholds/)
  t.match(err({ notify: Array.from({ length: 11 }, (_, i) => `u${i}@example.edu`) }), /11 e-mail addresses; AWS Budgets allows 10 e-mail subscribers a notification/)
  t.equal(err({ notify: [...Array.from({ length: 10 }, (_, i) => `u${i}@example.edu`), 'U0@example.edu'] }), 'accepted', 'the same address in two cases is one subscriber')
  t.match(err({ thresholds: [0] }), /threshold 0 must be a percentage in \(0, 1000\]/)
  t.match(err({ thresholds: [1001] }), /threshold 1001/)
  t.match(err({ thresholds: [80, 80] }), /80 listed twice/)
  t.match(err({ thresholds: [] }), /at least one threshold/)
  t.match(err({ budgetName: 'a:b' }), /budgetName "a:b"/)
  t.match(err({ budgetName: 'x/action/y' }), /budgetName/)
  t.match(err({ monthly: -1 }), /monthly -1 must be a positive amount/)
  t.match(err({ monthly: Number.NaN }), /monthly NaN/)
  t.match(err({ currency: 'usd' }), /currency "usd"/)
  t.match(err({ topicArn: 'arn:aws:sqs:eu-west-1:123456789012:q' }), /topicArn .* is not an SNS topic ARN/)
  t.match(err({ notify: ['not-an-address'] }), /notify: "not-an-address" is not an e-mail address/)
  t.match(err({ clusterName: 'Campus!' }), /clusterName "Campus!"/)
  const both = err({ monthly: 0, currency: 'x' })
  t.match(both, /monthly 0.*currency "x"/, 'all problems at once')
})

t.test('the plan: create when absent, nothing when equal, only what differs otherwise, removals first', async (t) => {
  const d = desiredBudget(input)
  t.same(planBudget(d, undefined).map((s) => s.op), ['createBudget'])
  const live: LiveBudget = structuredClone(d)
  t.same(planBudget(d, live), [], 'equal: no call')
  t.same(planBudget(d, { ...live, budget: { ...live.budget, amount: 5000.0000001 } }), [], 'the same amount to the cent')
  const changed = planBudget(desiredBudget({ ...input, monthly: 6000, thresholds: [90, 100], notify: ['ops@example.edu', 'pi@example.edu'] }), live)
  t.same(changed.map(describeStep), [
    'update budget hpc-steward-campus: limit 5000 USD -> 6000 USD',
    'delete notification ACTUAL@80%',
    'delete notification FORECASTED@80%',
    'create notification ACTUAL@90% (3 subscribers)',
    'create notification FORECASTED@90% (3 subscribers)',
    'subscribe EMAIL pi@example.edu to ACTUAL@100%',
    'subscribe EMAIL pi@example.edu to FORECASTED@100%',
  ])
  const foreign: LiveBudget = { budget: { ...live.budget, tagFilter: ['user:ClusterName$other'] }, notifications: [...live.notifications, { type: 'ACTUAL', threshold: 100, subscribers: [], foreign: { notificationType: 'ACTUAL', comparison: 'GREATER_THAN', thresholdType: 'ABSOLUTE_VALUE' } }] }
  t.same(planBudget(d, foreign).map(describeStep), [
    'update budget hpc-steward-campus: cost filter [user:ClusterName$other] -> [user:ClusterName$campus]',
    'delete notification ACTUAL:GREATER_THAN:ABSOLUTE_VALUE@100%',
  ], 'a notification we do not make is removed; ours at the same threshold stays')
  const extraSub: LiveBudget = structuredClone(live)
  extraSub.notifications[1]!.subscribers.push({ type: 'EMAIL', address: 'old@example.edu' })
  t.same(planBudget(d, extraSub).map(describeStep), ['unsubscribe EMAIL old@example.edu from FORECASTED@80%'])
})

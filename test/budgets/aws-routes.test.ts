/**
 * POST .../budgets/aws and GET .../budgets/reconcile on the real app and store, with the
 * real Budgets and Cost Explorer adapters against the emulator; sacct answered by a fake
 * Executor (the usage code itself is real). The AWS Budget follows the spec, a second run
 * changes nothing, a dry run plans only, and the month's bill is set beside the chargeback.
 */
import t, { type Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BudgetsClient } from '@aws-sdk/client-budgets'
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer'
import { createStore } from '../../src/store/index.js'
import type { ApplyEngine } from '../../src/apply/engine.js'
import type { Store } from '../../src/store/types.js'
import { createBudgetService } from '../../src/budgets/service.js'
import { createAwsBudgetService } from '../../src/budgets/aws-service.js'
import { accountOfTopic, createAwsBudgets } from '../../src/adapters/aws/budgets.js'
import { createCostExplorer } from '../../src/adapters/aws/cost-explorer.js'
import { monthWindow } from '../../src/usage/read.js'
import { startAwsEmulator, EMULATOR_ACCOUNT, type AwsEmulator } from '../support/aws/emulator.js'
import { seeded, specFor, type Seeded } from '../api/helpers.js'
import { fakeSacct, profileWith, sacctJob } from './fixture.js'

const MONTH = '2026-10'
const DAY1 = monthWindow(MONTH).from
const NOW = DAY1 + 40 * 86_400
const topicArn = `arn:aws:sns:eu-west-1:${EMULATOR_ACCOUNT}:budgets-${process.pid}`
const budgetName = `campus-monthly-${process.pid}`

let aws: AwsEmulator
let budgetsClient: BudgetsClient
let ceClient: CostExplorerClient

const ex = fakeSacct(DAY1, [
  sacctJob(DAY1, 1, 'nlp-smith', 'alice', 'nlp', 'cpu=4,gres/gpu=8,mem=10G,node=1', 'gpu-h100-001'),
  sacctJob(DAY1, 2, 'cv-chen', 'dave', 'cv', 'cpu=1,gres/gpu=4,mem=1G,node=1', 'gpu-a10g-01'),
])

async function setup(t: Test, over: { topicArn?: string | undefined; cluster?: object | null } = {}): Promise<Seeded & { store: Store }> {
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-aws-routes-')) })
  const budgets = createBudgetService({
    store, engine: {} as ApplyEngine, log: { info: () => undefined, error: () => undefined }, now: () => NOW,
    profileFor: profileWith(ex),
  })
  const awsBudgets = createAwsBudgetService({
    store, budgets, topicArn: 'topicArn' in over ? over.topicArn : topicArn,
    awsBudgetsFor: (arn) => createAwsBudgets(accountOfTopic(arn), budgetsClient), costs: createCostExplorer(ceClient),
  })
  const cluster = over.cluster === undefined ? { monthly: 1000, thresholds: [80, 100], awsBudgetName: budgetName, notify: ['ops@example.edu'] } : over.cluster
  const spec = {
    ...specFor('campus'),
    pricing: { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } },
    ...(cluster ? { budgets: { cluster } } : {}),
  }
  const s = await seeded(store, { budgets, awsBudgets }, spec)
  await store.setAppliedRevision('campus', 1)
  t.teardown(async () => {
    await s.app.close()
    await store.close()
  })
  return { ...s, store }
}

const writes = () => [...aws.calls].filter(([k]) => /^AWSBudgetServiceGateway\.(?:Create|Update|Delete)/.test(k)).reduce((s, [, n]) => s + n, 0)

t.before(async () => {
  aws = await startAwsEmulator()
  budgetsClient = new BudgetsClient({ ...aws.clientConfig, maxAttempts: 1 })
  ceClient = new CostExplorerClient({ ...aws.clientConfig, maxAttempts: 1 })
  const days = Array.from({ length: 31 }, (_, i) => `${MONTH}-${String(i + 1).padStart(2, '0')}`)
  aws.ce.seed(days.map((day) => ({ day, amount: 10, tags: { ClusterName: 'campus' } })))
})
t.teardown(async () => {
  budgetsClient.destroy()
  ceClient.destroy()
  await aws.close()
})

t.test('POST budgets/aws: dry run plans, the run creates, the second run changes nothing; audited', async (t) => {
  const { as, store } = await setup(t)
  const post = (query = '') => as('admin', { method: 'POST', url: `/v1/clusters/campus/budgets/aws${query}` })
  const dry = await post('?dryRun=true')
  t.equal(dry.statusCode, 200, dry.body)
  t.match(dry.json(), { budgetName, dryRun: true, steps: [/create budget/i] })
  t.equal(aws.budgets.get(EMULATOR_ACCOUNT, budgetName), undefined, 'a dry run makes nothing')
  const first = await post()
  t.match(first.json(), { budgetName, dryRun: false, steps: [/create budget/i] })
  const stored = aws.budgets.get(EMULATOR_ACCOUNT, budgetName)
  t.match(stored?.budget, { BudgetLimit: { Amount: '1000', Unit: 'USD' }, CostFilters: { TagKeyValue: ['user:ClusterName$campus'] } })
  t.equal(stored?.notifications.length, 4, 'ACTUAL and FORECASTED at 80 and 100')
  const before = writes()
  t.same((await post()).json(), { cluster: 'campus', budgetName, dryRun: false, steps: [] })
  t.equal(writes(), before, 'the second run only reads')
  const audit = await store.listAudit({ cluster: 'campus', action: 'budget.aws.sync' }, { limit: 10 })
  t.equal(audit.items.length, 2, 'each run is audited, dry runs are not')
  t.equal((await as('nlp', { method: 'POST', url: '/v1/clusters/campus/budgets/aws' })).statusCode, 403)
})

t.test('POST budgets/aws: 409 without a topic, 422 without budgets.cluster', async (t) => {
  const none = await setup(t, { topicArn: undefined })
  const r = await none.as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/aws' })
  t.equal(r.statusCode, 409)
  t.match(r.json(), { error: 'NotConfigured', message: /STEWARD_BUDGETS_TOPIC_ARN/ })
  const bare = await setup(t, { cluster: null })
  const b = await bare.as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/aws' })
  t.equal(b.statusCode, 422)
  t.match(b.json(), { error: 'NoClusterBudget', message: /has no budgets\.cluster/ })
})

t.test('GET budgets/reconcile: the AWS bill beside the departments\' chargeback, the rest unallocated', async (t) => {
  const { as } = await setup(t)
  const r = await as('admin', { method: 'GET', url: `/v1/clusters/campus/budgets/reconcile?month=${MONTH}` })
  t.equal(r.statusCode, 200, r.body)
  // nlp: a whole h100 node for an hour (98.32); cv: 4 of the a10g node's GPUs for an hour.
  t.match(r.json(), { cluster: 'campus', month: MONTH, currency: 'USD', awsBill: 310, departments: [{ department: 'nlp', cost: 98.32 }, { department: 'cv' }] })
  const body = r.json() as { allocated: number; unallocated: number; departments: Array<{ cost: number }> }
  t.equal(body.allocated, Math.round(body.departments.reduce((s, d) => s + d.cost, 0) * 100) / 100)
  t.equal(body.unallocated, Math.round((310 - body.allocated) * 100) / 100)
  t.equal((await as('admin', { method: 'GET', url: '/v1/clusters/campus/budgets/reconcile?month=2026-13' })).statusCode, 400)
  t.equal((await as('nlp', { method: 'GET', url: `/v1/clusters/campus/budgets/reconcile?month=${MONTH}` })).statusCode, 403)
})

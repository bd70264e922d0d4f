/**
 * Cost Explorer through the real SDK against the emulator front: a month's cost grouped by
 * the ClusterName tag over several pages, reconciled with a chargeback; the query's shape
 * (MONTHLY, End exclusive, TAG grouping) is what the front checks, as AWS does.
 */
import t from 'tap'
import { CostExplorerClient, GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer'
import { startAwsEmulator, type AwsEmulator } from '../support/aws/emulator.js'
import { createCostExplorer } from '../../src/adapters/aws/cost-explorer.js'
import { reconcile } from '../../src/budgets/aws-reconcile.js'

let aws: AwsEmulator
let client: CostExplorerClient

t.before(async () => {
  aws = await startAwsEmulator()
  client = new CostExplorerClient({ ...aws.clientConfig, maxAttempts: 1 })
  const days = Array.from({ length: 30 }, (_, i) => `2026-11-${String(i + 1).padStart(2, '0')}`)
  aws.ce.seed([
    ...days.map((day) => ({ day, amount: 33.33, tags: { ClusterName: 'campus' } })),
    ...days.map((day) => ({ day, amount: 1.01, tags: { ClusterName: 'other' } })),
    { day: '2026-11-15', amount: 12.5 },
    // Outside the month: the day End excludes and the month before.
    { day: '2026-12-01', amount: 999, tags: { ClusterName: 'campus' } },
    { day: '2026-10-31', amount: 999, tags: { ClusterName: 'campus' } },
    ...['a', 'b', 'c', 'd'].map((c) => ({ day: '2026-11-02', amount: 1, tags: { ClusterName: `tiny-${c}` } })),
  ])
  aws.ce.pageSize = 2
})
t.teardown(async () => {
  client.destroy()
  await aws.close()
})

t.test('one month by ClusterName, every page, reconciled with the departments chargeback', async (t) => {
  const costs = await createCostExplorer(client).monthlyByCluster('2026-11')
  t.equal(aws.calls.get('AWSInsightsIndexService.GetCostAndUsage'), 4, '7 groups at 2 a page')
  t.equal(Math.round((costs.byCluster.get('campus') ?? 0) * 100), 99_990)
  t.equal(Math.round((costs.byCluster.get('other') ?? 0) * 100), 3030)
  t.equal(costs.untagged, 12.5)
  t.equal(costs.byCluster.size, 6)
  t.equal(costs.currency, 'USD')
  const r = reconcile('campus', costs, new Map([['physics', 600], ['chemistry', 250.45]]), 'USD')
  t.match(r, { awsBill: 999.9, allocated: 850.45, unallocated: 149.45, unallocatedPercent: 14.95 })
})

t.test('the front checks the query as AWS does', async (t) => {
  await t.rejects(client.send(new GetCostAndUsageCommand({ TimePeriod: { Start: '2026-12-01', End: '2026-11-01' }, Granularity: 'MONTHLY', Metrics: ['UnblendedCost'] })), { name: 'ValidationException' })
  await t.rejects(client.send(new GetCostAndUsageCommand({ TimePeriod: { Start: '2026-11-01', End: '2026-12-01' }, Granularity: 'MONTHLY', Metrics: [] })), { name: 'ValidationException' })
  await t.rejects(client.send(new GetCostAndUsageCommand({
    TimePeriod: { Start: '2026-11-01', End: '2026-12-01' }, Granularity: 'MONTHLY', Metrics: ['UnblendedCost'],
    GroupBy: [{ Type: 'TAG', Key: 'a' }, { Type: 'TAG', Key: 'b' }, { Type: 'TAG', Key: 'c' }],
  })), { name: 'ValidationException', message: /at most 2/ })
  const filtered = await client.send(new GetCostAndUsageCommand({
    TimePeriod: { Start: '2026-11-01', End: '2026-12-01' }, Granularity: 'MONTHLY', Metrics: ['UnblendedCost'],
    Filter: { Tags: { Key: 'ClusterName', Values: ['other'] } },
  }))
  t.equal(filtered.ResultsByTime?.[0]?.Total?.UnblendedCost?.Amount, '30.3')
  await t.rejects(createCostExplorer(client).monthlyByCluster('2026-13'), /month "2026-13" must be YYYY-MM/)
})

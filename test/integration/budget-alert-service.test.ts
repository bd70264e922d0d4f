/**
 * The budget-alert contract end to end: the bundled Lambda (dist/lambdas/budget-alert, built
 * here as `npm run build` does) reads the policy that buildPolicy derives from the spec (from
 * SSM in the emulator), and posts to the real service app (buildApp with the BudgetService
 * on a SQLite store, listening on loopback) with an admin token from a SecureString. The
 * cluster budget and the departments' `<cluster>-<department>` budgets are accepted;
 * duplicate deliveries (same container, another container) have one effect; an unknown
 * budget is dropped before the service. The apply engine is a recorder (no Slurm here).
 * The clock is fixed (the service's `now`, the SNS Timestamp): a run across a month
 * boundary sees one month throughout.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { AddressInfo } from 'node:net'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { createStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'
import { recordingEngine } from '../budgets/fixture.js'
import { createBudgetService } from '../../src/budgets/service.js'
import { buildPolicy, departmentBudgetName, policyText } from '../../src/sessions/policy.js'
import { startAwsEmulator, EMULATOR_ACCOUNT, type AwsEmulator } from '../support/aws/emulator.js'
import { seeded, specFor, type Seeded } from '../api/helpers.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const root = new URL('../../', import.meta.url)
const budgetTopic = `arn:aws:sns:eu-west-1:${EMULATOR_ACCOUNT}:budgets-e2e-${process.pid}`
const policyParameter = `/hpc-steward-e2e/${process.pid}/policy`
const tokenParameter = `/hpc-steward-e2e/${process.pid}/api-token`
/** "Now" for the service and the deliveries: one month, whatever the wall clock says. */
const NOW = '2026-11-17T09:30:00.000Z'
const MONTH = NOW.slice(0, 7)
const textForm = readFileSync(new URL('test/fixtures/events/budget-notification.txt', root), 'utf8')
type Handler = (event: unknown) => Promise<{ status: string; records: Array<{ outcome: string; reason?: string; action?: string }> }>

let aws: AwsEmulator
let ssm: SSMClient
let store: Store
let s: Seeded
let handler: Handler
/** Applies started, as `cluster@revision:by`. */
let started: string[] = []
let serial = 0

const record = (message: string, messageId = `e2e-${++serial}`) => ({
  Records: [{ EventSource: 'aws:sns', Sns: { Type: 'Notification', MessageId: messageId, TopicArn: budgetTopic, Message: message, Timestamp: NOW } }],
})
const loadBundle = async (container: string): Promise<Handler> =>
  (await import(`${new URL('dist/lambdas/budget-alert/index.mjs', root).href}?e2e=${container}`) as { handler: Handler }).handler
const events = async () => ({ events: await store.listBudgetEvents('campus', MONTH) })

t.before(async () => {
  await promisify(execFile)('node', [new URL('ops/build-lambdas.js', root).pathname], { timeout: 120_000 })
  aws = await startAwsEmulator()
  ssm = new SSMClient({ ...aws.clientConfig, maxAttempts: 1 })
  store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-alert-e2e-')) })
  const { engine, started: starts } = recordingEngine()
  started = starts
  const budgets = createBudgetService({
    store, engine, log: { info: () => undefined, error: () => undefined },
    profileFor: async () => { throw new Error('no controller in this test') },
    now: () => Date.parse(NOW) / 1000,
  })
  const spec = {
    ...specFor('campus'),
    pricing: { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } },
    budgets: {
      cluster: { monthly: 1000, thresholds: [80, 100], awsBudgetName: 'hpc-steward-campus', notify: ['ops@example.edu'] },
      departments: [
        { department: 'cv', monthly: 100, thresholds: [100], onExceeded: 'block' },
        { department: 'dl', monthly: 100, thresholds: [100], onExceeded: 'notify', notify: ['pi-dl@example.edu'] },
      ],
    },
  }
  s = await seeded(store, { budgets }, spec)
  await store.setAppliedRevision('campus', 1)
  await s.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (s.app.server.address() as AddressInfo).port
  // The policy the service publishes for this spec, under a parameter of this test's own.
  await ssm.send(new PutParameterCommand({ Name: policyParameter, Type: 'String', Value: policyText(buildPolicy(spec as unknown as ClusterSpec)), Overwrite: true }))
  await ssm.send(new PutParameterCommand({ Name: tokenParameter, Type: 'SecureString', Value: s.tokens.admin, Overwrite: true }))
  Object.assign(process.env, aws.env, {
    STEWARD_CLUSTER: 'campus', STEWARD_API_URL: `http://127.0.0.1:${port}`, STEWARD_API_TOKEN_PARAMETER: tokenParameter,
    STEWARD_POLICY_PARAMETER: policyParameter, POWERTOOLS_LOG_LEVEL: 'SILENT',
  })
  delete process.env.STEWARD_NOTICE_TOPIC_ARN
  handler = await loadBundle('1')
})
t.teardown(async () => {
  ssm.destroy()
  await s.app.close()
  await store.close()
  await aws.close()
})

t.test('the cluster budget (plain-text form): recorded by the service once, across deliveries and containers', async (t) => {
  t.match(await handler(record(textForm, 'text-1')), { status: 'done', records: [{ outcome: 'recorded', action: 'none' }] })
  t.match(await handler(record(textForm, 'text-1')), { records: [{ outcome: 'duplicate' }] })
  const other = await loadBundle('2')
  t.match(await other(record(textForm, 'text-2')), { records: [{ outcome: 'duplicate' }] }, 'the service answers recorded: false')
  t.match((await events()).events, [{ budgetName: 'hpc-steward-campus', department: null, thresholdPercent: 80, notificationType: 'ACTUAL' }])
  t.equal((await events()).events.length, 1)
  const audit = await store.listAudit({ cluster: 'campus', action: 'budget.event' }, { limit: 10 })
  t.equal(audit.items.length, 2, 'the second container\'s post reached the service and was audited as a duplicate')
})

t.test('a department budget by the name the service accepts runs its action once', async (t) => {
  t.equal(departmentBudgetName('campus', 'cv'), 'campus-cv')
  const message = JSON.stringify({ budgetName: 'campus-cv', notificationType: 'ACTUAL', threshold: 100, budgetLimit: 100, actualSpend: 120, currency: 'USD' })
  t.match(await handler(record(message, 'cv-1')), { records: [{ outcome: 'recorded', action: 'block' }] })
  t.match(await (await loadBundle('3'))(record(message, 'cv-2')), { records: [{ outcome: 'duplicate' }] })
  for (const end = Date.now() + 5000; started.length === 0 && Date.now() < end;) await new Promise((r) => setTimeout(r, 20))
  t.same(started.map((s) => s.split(':')[0]), ['campus@1'], 'one apply for the block, none for the duplicate')
  t.match(await store.listBudgetActions('campus', MONTH), [{ department: 'cv', action: 'block', endedAt: null }])
  const notify = JSON.stringify({ budgetName: 'campus-dl', notificationType: 'ACTUAL', threshold: 100, budgetLimit: 100, actualSpend: 101, currency: 'USD' })
  t.match(await handler(record(notify, 'dl-1')), { records: [{ outcome: 'recorded', action: 'notify' }] })
})

t.test('an unknown budget is dropped by the Lambda; the service never sees it', async (t) => {
  const before = (await store.listAudit({ cluster: 'campus', action: 'budget.event' }, { limit: 50 })).items.length
  t.match(await handler(record(textForm.replaceAll('hpc-steward-campus', 'someone-else'), 'u-1')), { records: [{ outcome: 'dropped', reason: /not one of cluster campus's budgets/ }] })
  const physics = JSON.stringify({ budgetName: 'campus-physics', notificationType: 'ACTUAL', threshold: 100, budgetLimit: 10, actualSpend: 11 })
  t.match(await handler(record(physics, 'u-2')), { records: [{ outcome: 'dropped' }] }, 'a department without a budget is not in the policy')
  t.equal((await store.listAudit({ cluster: 'campus', action: 'budget.event' }, { limit: 50 })).items.length, before)
})

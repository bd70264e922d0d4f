/**
 * The bundled budget-alert Lambda (dist/lambdas/budget-alert/index.mjs, built here by the
 * same script as `npm run build`) against the emulator (policy and SecureString token in
 * SSM, the budgets in our Budgets front, the notices topic in moto's SNS delivering to a
 * loopback HTTP subscription with a recipients filter policy) and a loopback stand-in of the
 * service's events route that checks the contract's body strictly. Both message forms,
 * read-back, duplicates (same container and a second one), an unknown budget, a budget the
 * service refuses, a garbled message, the service down, a rotated token.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns'
import { BudgetsClient } from '@aws-sdk/client-budgets'
import { startAwsEmulator, EMULATOR_ACCOUNT, type AwsEmulator } from '../support/aws/emulator.js'
import { startRouteDouble, type RouteDouble } from '../support/budget-events-route.js'
import { buildPolicy } from '../../src/sessions/policy.js'
import { publishPolicy } from '../../src/adapters/aws/ssm-policy.js'
import { createAwsBudgets } from '../../src/adapters/aws/budgets.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const root = new URL('../../', import.meta.url)
const cluster = `alert${process.pid}`
const tokenParameter = `/hpc-steward/${cluster}/api-token`
const budgetTopic = `arn:aws:sns:eu-west-1:${EMULATOR_ACCOUNT}:budgets-${cluster}`
const textForm = readFileSync(new URL('test/fixtures/events/budget-notification.txt', root), 'utf8')
type Handler = (event: unknown) => Promise<{ status: string; records: Array<{ outcome: string; reason?: string; action?: string; notified?: boolean; key?: string }> }>
let aws: AwsEmulator
let ssm: SSMClient
let sns: SNSClient
let route: RouteDouble
let handler: Handler
let serial = 0
/** Publishes the test's policy (a test in between publishes another). */
let publishCampus: () => Promise<unknown>

const record = (message: string, messageId = `msg-${++serial}`, timestamp = '2026-11-15T10:00:00.000Z') => ({
  Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: `${budgetTopic}:sub`, Sns: { Type: 'Notification', MessageId: messageId, TopicArn: budgetTopic, Subject: 'AWS Budgets: hpc-steward-campus has exceeded your alert threshold', Message: message, Timestamp: timestamp, SignatureVersion: '1', Signature: 'x', SigningCertUrl: 'x', UnsubscribeUrl: 'x', MessageAttributes: {} } }],
})
const loadBundle = async (container: string): Promise<Handler> =>
  (await import(`${new URL('dist/lambdas/budget-alert/index.mjs', root).href}?container=${container}`) as { handler: Handler }).handler
const until = async (check: () => boolean, ms = 5000) => { for (const end = Date.now() + ms; !check() && Date.now() < end;) await new Promise((r) => setTimeout(r, 50)) }

t.before(async () => {
  await promisify(execFile)('node', [new URL('ops/build-lambdas.js', root).pathname], { timeout: 120_000 })
  aws = await startAwsEmulator()
  ssm = new SSMClient({ ...aws.clientConfig, maxAttempts: 1 })
  sns = new SNSClient({ ...aws.clientConfig, maxAttempts: 1 })
  route = await startRouteDouble(cluster, { 'hpc-steward-campus': 'none', 'campus-physics': 'block', 'campus-stale': 'none' }, 'tok-1')
  const spec = parse(readFileSync(new URL('examples/campus.yaml', root), 'utf8')) as ClusterSpec
  spec.cluster.name = cluster
  publishCampus = () => publishPolicy(buildPolicy(spec, { byName: {
    'hpc-steward-campus': { department: null, contacts: ['ops@example.edu'] },
    'campus-physics': { department: 'physics', contacts: ['pi@example.edu', 'ops@example.edu'] },
    'campus-gone': { department: 'chemistry', contacts: [] },
  } }), ssm)
  await publishCampus()
  await ssm.send(new PutParameterCommand({ Name: tokenParameter, Type: 'SecureString', Value: 'tok-1', Overwrite: true }))
  const notices = (await sns.send(new CreateTopicCommand({ Name: `notices-${cluster}` }))).TopicArn ?? ''
  await sns.send(new SubscribeCommand({ TopicArn: notices, Protocol: 'http', Endpoint: `${route.url}/sns`, Attributes: { FilterPolicy: JSON.stringify({ recipients: ['pi@example.edu'] }) } }))
  // The budgets as AWS has them (what the service's apply makes), with this month's spend.
  const budgets = createAwsBudgets(EMULATOR_ACCOUNT, new BudgetsClient({ ...aws.clientConfig, maxAttempts: 1 }))
  for (const [name, monthly] of [['hpc-steward-campus', 1000], ['campus-physics', 333.33]] as const) {
    await budgets.ensure({ clusterName: cluster, budgetName: name, monthly, currency: 'USD', thresholds: [80, 100], notify: [], topicArn: budgetTopic })
  }
  aws.budgets.setSpend(EMULATOR_ACCOUNT, 'campus-physics', 340.5, 420)
  Object.assign(process.env, aws.env, {
    STEWARD_CLUSTER: cluster, STEWARD_API_URL: route.url, STEWARD_API_TOKEN_PARAMETER: tokenParameter,
    STEWARD_NOTICE_TOPIC_ARN: notices, POWERTOOLS_LOG_LEVEL: 'SILENT',
  })
  handler = await loadBundle('1')
})
t.teardown(async () => {
  ssm.destroy()
  sns.destroy()
  await route.close()
  await aws.close()
})

t.test('the plain-text form of the cluster budget: recorded once, with the contract body; no read-back needed', async (t) => {
  const describes = aws.calls.get('AWSBudgetServiceGateway.DescribeBudget') ?? 0
  const res = await handler(record(textForm, 'text-1'))
  t.match(res, { status: 'done', records: [{ outcome: 'recorded', action: 'none', notified: true }] })
  const event = {
    eventId: 'aws-budgets:hpc-steward-campus:2026-11:ACTUAL:80', source: 'aws-budgets', budgetName: 'hpc-steward-campus', department: null,
    month: '2026-11', thresholdPercent: 80, notificationType: 'ACTUAL', actualSpend: 812.34, budgetLimit: 1000, currency: 'USD',
  }
  t.same(route.events.map(({ recorded, ...e }) => ({ ...e, recorded })), [
    { ...event, notice: 'wanted', recorded: true },
    { ...event, notice: 'sent', recorded: false },
  ], 'the event, asking whether its contacts must be told; then the notice confirmed')
  t.equal(aws.calls.get('AWSBudgetServiceGateway.DescribeBudget') ?? 0, describes, 'the text said everything (80% of 1000 exactly)')
  t.equal(route.notices.length, 0, 'ops@ only: the pi@ filter policy lets nothing through')
})

t.test('duplicates have one effect: the same MessageId, another delivery of the same alert, and a second container', async (t) => {
  t.match(await handler(record(textForm, 'text-1')), { records: [{ outcome: 'duplicate', reason: 'MessageId already handled' }] })
  t.match(await handler(record(textForm, 'text-2')), { records: [{ outcome: 'duplicate', reason: 'alert already handled' }] })
  t.equal(route.events.length, 2, 'no further POST from this container')
  const other = await loadBundle('2')
  t.match(await other(record(textForm, 'text-3')), { records: [{ outcome: 'duplicate', notified: false }] })
  t.same(route.events.map((e) => e.recorded), [true, false, false], 'the service saw it and recorded nothing')
  t.equal(route.events.at(-1)?.notice, 'wanted', 'asked, and told the notice went out already: not sent again')
})

t.test('JSON that leaves the amount and type open: read back through Budgets; department event, contacts told', async (t) => {
  const before = aws.calls.get('AWSBudgetServiceGateway.DescribeBudget') ?? 0
  // A threshold as an amount that is not exactly a percentage of 333.33 (the message rounds to the cent).
  const message = JSON.stringify({ budgetName: 'campus-physics', threshold: 333.36, thresholdType: 'ABSOLUTE_VALUE', accountId: EMULATOR_ACCOUNT })
  const res = await handler(record(message, 'json-1', '2026-11-20T23:59:00.000Z'))
  t.match(res, { records: [{ outcome: 'recorded', action: 'block', notified: true, key: 'aws-budgets:campus-physics:2026-11:ACTUAL:100' }] })
  t.equal((aws.calls.get('AWSBudgetServiceGateway.DescribeBudget') ?? 0) - before, 1)
  t.match(route.events.at(-1), { budgetName: 'campus-physics', department: 'physics', thresholdPercent: 100, notificationType: 'ACTUAL', actualSpend: 340.5, budgetLimit: 333.33, currency: 'USD' })
  await until(() => route.notices.length > 0)
  t.equal(route.notices.length, 1, 'pi@ is a recipient: the filter policy delivers it')
  t.match(route.notices[0]?.Subject, /department physics passed 100% of budget campus-physics \(2026-11\)/)
  t.match(route.notices[0]?.Message, /Spend: 340\.50 USD/)
  // FORECASTED at 80 with the percentage given: the message settles it, the spend is read back.
  const forecast = await handler(record(JSON.stringify({ budgetName: 'campus-physics', notificationType: 'FORECASTED', threshold: 80, budgetLimit: { amount: '333.33', unit: 'USD' } }), 'json-2'))
  t.match(forecast, { records: [{ outcome: 'recorded', action: 'none' }] })
  t.match(route.events.at(-1), { notificationType: 'FORECASTED', thresholdPercent: 80, budgetLimit: 333.33 })
})

t.test('an unknown budget, a budget gone from AWS, a budget the service refuses, garbage: logged and dropped, never thrown', async (t) => {
  const posted = route.events.length
  t.match(await handler(record(textForm.replaceAll('hpc-steward-campus', 'someone-else'), 'u-1')), { records: [{ outcome: 'dropped', reason: /not one of cluster .*'s budgets/ }] })
  t.match(await handler(record(JSON.stringify({ budgetName: 'campus-gone', notificationType: 'ACTUAL', threshold: 80 }), 'u-2')), { records: [{ outcome: 'dropped', reason: /campus-gone does not exist in account/ }] })
  t.match(await handler(record('hello', 'u-3')), { records: [{ outcome: 'dropped', reason: /not an AWS Budgets notification/ }] })
  t.match(await handler({ source: 'aws.events' }), { status: 'dropped' })
  t.equal(route.events.length, posted, 'nothing posted')
  // In the policy and in AWS but not in the service's spec: the service answers 422.
  await publishPolicy({ ...buildPolicy(parse(readFileSync(new URL('examples/campus.yaml', root), 'utf8')) as ClusterSpec), cluster, budgets: { byName: { 'campus-stale2': { department: null, contacts: [] } } } }, ssm)
  const fresh = await loadBundle('3')
  t.match(await fresh(record(textForm.replaceAll('hpc-steward-campus', 'campus-stale2'), 'u-4')), { records: [{ outcome: 'dropped', reason: /refused the event \(422\)/ }] })
})

t.test('the service down is thrown (SNS retries); a rotated token is read again once', async (t) => {
  const message = JSON.stringify({ budgetName: 'hpc-steward-campus', notificationType: 'ACTUAL', threshold: 100, budgetLimit: 1000, actualSpend: 1001 })
  route.failNext(503, 1)
  await t.rejects(handler(record(message, 'down-1')), { name: 'ServiceApiError', message: /answered 503/ })
  route.token = 'tok-2'
  await ssm.send(new PutParameterCommand({ Name: tokenParameter, Type: 'SecureString', Value: 'tok-2', Overwrite: true }))
  t.match(await handler(record(message, 'down-1')), { records: [{ outcome: 'recorded' }] }, 'the retry (same MessageId) goes through with the new token')
  t.equal(route.refused.filter((r) => r.status === 401).length, 1)
  t.equal(route.refused.filter((r) => r.status === 400).length, 0, 'every body the Lambda sent met the contract')
})

t.test('a notice whose send fails, or whose confirmation is lost, is sent by the retry in another container; never after a confirmation', async (t) => {
  const message = (threshold: number) => JSON.stringify({ budgetName: 'campus-physics', notificationType: 'FORECASTED', threshold, budgetLimit: { amount: '333.33', unit: 'USD' } })
  await publishCampus()
  const good = process.env.STEWARD_NOTICE_TOPIC_ARN
  // Container A publishes to a topic that does not exist: the send fails after the service recorded the event.
  process.env.STEWARD_NOTICE_TOPIC_ARN = `${good ?? ''}-gone`
  const broken = await loadBundle('notice-a')
  process.env.STEWARD_NOTICE_TOPIC_ARN = good
  const before = route.notices.length
  await t.rejects(broken(record(message(90), 'lost-1')), 'the failed send is thrown: SNS retries')
  t.match(route.events.at(-1), { thresholdPercent: 90, notice: 'wanted', recorded: true })
  const retry = await loadBundle('notice-b')
  t.match(await retry(record(message(90), 'lost-1')), { records: [{ outcome: 'duplicate', notified: true }] }, 'the retry elsewhere: recorded already, notice still owed')
  await until(() => route.notices.length > before)
  t.equal(route.notices.length, before + 1, 'the notice went out once')
  t.equal(route.events.at(-1)?.notice, 'sent')

  // The send works but its confirmation is lost: the retry sends again (at least once).
  const sent = route.notices.length
  route.loseConfirmations(1)
  const c = await loadBundle('notice-c')
  await t.rejects(c(record(message(95), 'lost-2')), { name: 'ServiceApiError', message: /answered 503/ }, 'thrown: SNS retries')
  await until(() => route.notices.length > sent)
  const d = await loadBundle('notice-d')
  t.match(await d(record(message(95), 'lost-2')), { records: [{ notified: true }] })
  await until(() => route.notices.length >= sent + 2)
  t.equal(route.notices.length, sent + 2, 'sent twice: the first confirmation never reached the service')
  const e = await loadBundle('notice-e')
  t.match(await e(record(message(95), 'lost-3')), { records: [{ notified: false }] }, 'confirmed: never again')
})

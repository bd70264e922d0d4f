/** The SNS notifier's Publish, pinned with aws-sdk-client-mock (the Lambda's emulator test delivers through moto). */
import t from 'tap'
import { mockClient } from 'aws-sdk-client-mock'
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns'
import { createSnsNotifier, snsSubject } from '../../../src/adapters/aws/sns.js'
import type { BudgetNotification } from '../../../src/budgets/notify.js'

const sns = mockClient(SNSClient)
const client = new SNSClient({ region: 'eu-west-1' })
const topic = 'arn:aws:sns:eu-west-1:123456789012:notices'
const n: BudgetNotification = { key: 'campus:physics:2026-11:100', cluster: 'campus', department: 'physics', month: '2026-11', thresholdPercent: 100, spend: 340.5, budget: 333.33, currency: 'USD', recipients: ['PI@example.edu', 'pi@example.edu', 'ops@example.edu'], subject: 'Physics passed 100 %\nof its budget — act now', text: 'body' }
t.beforeEach(() => sns.reset())

t.test('one Publish: subject made SNS-safe, recipients as a String.Array attribute for filter policies', async (t) => {
  sns.on(PublishCommand).resolves({ MessageId: 'm' })
  await createSnsNotifier(topic, client).send(n)
  const input = sns.commandCalls(PublishCommand)[0]?.args[0].input
  t.equal(input?.TopicArn, topic)
  t.equal(input?.Subject, 'Physics passed 100 % of its budget act now')
  t.equal(input?.Message, 'body')
  t.same(input?.MessageAttributes?.recipients, { DataType: 'String.Array', StringValue: '["ops@example.edu","pi@example.edu"]' })
  t.same(input?.MessageAttributes?.department, { DataType: 'String', StringValue: 'physics' })
  t.notOk(input?.MessageDeduplicationId, 'a standard topic has no deduplication id')
  t.equal(snsSubject('x'.repeat(150)).length, 100)
  t.equal(snsSubject('\n\n'), 'HPC Steward budget notice')
})

t.test('a FIFO topic dedupes a retried send by the notification key', async (t) => {
  sns.on(PublishCommand).resolves({ MessageId: 'm' })
  await createSnsNotifier(`${topic}.fifo`, client).send({ ...n, department: null })
  const input = sns.commandCalls(PublishCommand)[0]?.args[0].input
  t.equal(input?.MessageGroupId, 'campus')
  t.match(input?.MessageDeduplicationId, /^[0-9a-f]{64}$/)
  t.same(input?.MessageAttributes?.department, { DataType: 'String', StringValue: '(cluster)' })
})

t.test('bad input refused before any call; a failed Publish named', async (t) => {
  t.throws(() => createSnsNotifier('arn:aws:sqs:eu-west-1:123456789012:q', client), /not an SNS topic ARN/)
  const notifier = createSnsNotifier(topic, client)
  await t.rejects(notifier.send({ ...n, recipients: [] }), /has no recipients/)
  await t.rejects(notifier.send({ ...n, recipients: ['nobody'] }), /nobody is not an e-mail address/)
  await t.rejects(notifier.send({ ...n, text: 'x'.repeat(300_000) }), /SNS takes/)
  t.equal(sns.calls().length, 0)
  sns.on(PublishCommand).rejects(Object.assign(new Error('denied'), { name: 'AuthorizationErrorException' }))
  await t.rejects(notifier.send(n), { name: 'SnsNotifyError', message: /Publish of notification campus:physics:2026-11:100 .* AuthorizationErrorException: denied/ })
})

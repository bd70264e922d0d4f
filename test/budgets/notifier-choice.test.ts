/**
 * Which channel budget notices take: SNS when STEWARD_BUDGETS_NOTICES_TOPIC_ARN is set (a
 * real Publish to the emulator's topic, delivered to a loopback HTTP subscriber), else
 * sendmail when STEWARD_MAIL_FROM is set, else none.
 */
import t from 'tap'
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns'
import { loadConfig } from '../../src/config.js'
import { chooseNotifier } from '../../src/budgets/notifier-choice.js'
import { createSnsNotifier } from '../../src/adapters/aws/sns.js'
import { createSendmailNotifier } from '../../src/budgets/notify.js'
import type { Executor } from '../../src/adapters/executor.js'
import { startAwsEmulator, type AwsEmulator } from '../support/aws/emulator.js'
import { startRouteDouble, type RouteDouble } from '../support/budget-events-route.js'

let aws: AwsEmulator
let sns: SNSClient
let http: RouteDouble
const mailed: string[][] = []
const executor: Executor = {
  target: 'local',
  async run(argv, options) {
    mailed.push([...argv, String(options?.input ?? '')])
    return { argv, code: 0, stdout: '', stderr: '' }
  },
  readFile: async () => undefined,
  writeFileAtomic: async () => undefined,
}
const channels = () => ({
  sns: (arn: string) => createSnsNotifier(arn, sns),
  sendmail: (from: string) => createSendmailNotifier({ executor, from }),
})
const notice = { key: 'campus/nlp/2026-11/80', cluster: 'campus', department: 'nlp', month: '2026-11', thresholdPercent: 80, spend: 40, budget: 50, currency: 'USD', recipients: ['pi@example.edu'], subject: 'nlp at 80 %', text: 'nlp has used 80 % of its budget' }

t.before(async () => {
  aws = await startAwsEmulator()
  sns = new SNSClient({ ...aws.clientConfig, maxAttempts: 1 })
  http = await startRouteDouble('campus', {}, 'x')
})
t.teardown(async () => {
  sns.destroy()
  await http.close()
  await aws.close()
})

t.test('the notices topic wins: the notice is published to it and nothing is mailed', async (t) => {
  const topic = (await sns.send(new CreateTopicCommand({ Name: `notices-choice-${process.pid}` }))).TopicArn ?? ''
  await sns.send(new SubscribeCommand({ TopicArn: topic, Protocol: 'http', Endpoint: `${http.url}/sns` }))
  const config = loadConfig({ STEWARD_BUDGETS_NOTICES_TOPIC_ARN: topic, STEWARD_MAIL_FROM: 'steward@example.edu' })
  const chosen = chooseNotifier(config, channels())
  t.equal(chosen.channel, 'sns')
  await chosen.notifier?.send(notice)
  for (const end = Date.now() + 5000; !http.notices.some((n) => n.Subject === 'nlp at 80 %') && Date.now() < end;) await new Promise((r) => setTimeout(r, 50))
  t.match(http.notices.find((n) => n.Subject === 'nlp at 80 %'), { Message: 'nlp has used 80 % of its budget' })
  t.equal(mailed.length, 0)
})

t.test('without the topic, sendmail when a From: is set; else none', async (t) => {
  const chosen = chooseNotifier(loadConfig({ STEWARD_MAIL_FROM: 'steward@example.edu' }), channels())
  t.equal(chosen.channel, 'sendmail')
  await chosen.notifier?.send(notice)
  t.equal(mailed.length, 1)
  t.match(mailed[0]?.join(' '), /sendmail -t -oi[\s\S]*To: pi@example\.edu/)
  t.same(chooseNotifier(loadConfig({}), channels()), { notifier: undefined, channel: 'none' })
})

t.test('the topic variables are checked at start-up', async (t) => {
  t.throws(() => loadConfig({ STEWARD_BUDGETS_NOTICES_TOPIC_ARN: 'notices' }), { name: 'ConfigError', message: /STEWARD_BUDGETS_NOTICES_TOPIC_ARN must be an SNS topic ARN/ })
  t.throws(() => loadConfig({ STEWARD_BUDGETS_TOPIC_ARN: 'arn:aws:sqs:eu-west-1:123456789012:q' }), /STEWARD_BUDGETS_TOPIC_ARN/)
  t.equal(loadConfig({ STEWARD_BUDGETS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:budgets' }).budgetsTopicArn, 'arn:aws:sns:eu-west-1:123456789012:budgets')
})

/**
 * The AWS emulator's front, through the real SDK: what it implements (SSM sessions, 200 a
 * page), the limits it enforces (page size, a service's request rate), and that every
 * other request reaches moto unchanged.
 */
import t from 'tap'
import { DescribeSessionsCommand, GetParameterCommand, PutParameterCommand, SSMClient, TerminateSessionCommand, paginateDescribeSessions } from '@aws-sdk/client-ssm'
import { startAwsEmulator, type AwsEmulator } from '../support/aws/emulator.js'

let aws: AwsEmulator
let ssm: SSMClient
const alice = 'arn:aws:sts::123456789012:assumed-role/Researcher/alice'

t.before(async () => {
  aws = await startAwsEmulator([{
    targetPrefix: 'FrontTestThrottled', operations: { Ping: () => ({ ok: true }) }, requestsPerSecond: 3,
  }])
  ssm = new SSMClient({ ...aws.clientConfig, maxAttempts: 1 })
})
t.teardown(async () => {
  ssm.destroy()
  await aws.close()
})

t.test('operations moto has pass through unchanged', async (t) => {
  const name = `/front-test/${Date.now()}`
  await ssm.send(new PutParameterCommand({ Name: name, Value: '{"a":1}', Type: 'String' }))
  const got = await ssm.send(new GetParameterCommand({ Name: name }))
  t.equal(got.Parameter?.Value, '{"a":1}')
  t.equal(aws.calls.get('AmazonSSM.PutParameter'), 1)
})

t.test('DescribeSessions pages 200 at most, newest first, filtered by owner', async (t) => {
  aws.ssm.clear()
  const base = Date.parse('2026-01-01T00:00:00Z')
  for (let i = 0; i < 450; i++) aws.ssm.seed({ owner: alice, target: 'i-0123456789abcdef0', startDate: new Date(base + i * 1000) })
  aws.ssm.seed({ owner: 'arn:aws:sts::123456789012:assumed-role/Researcher/bob', target: 'i-0123456789abcdef0', startDate: new Date(base) })
  const first = await ssm.send(new DescribeSessionsCommand({ State: 'Active', Filters: [{ key: 'Owner', value: alice }] }))
  t.equal(first.Sessions?.length, 200)
  t.ok(first.NextToken)
  t.ok((first.Sessions?.[0]?.StartDate?.getTime() ?? 0) > (first.Sessions?.[1]?.StartDate?.getTime() ?? 0), 'newest first')
  const ids: string[] = []
  for await (const page of paginateDescribeSessions({ client: ssm }, { State: 'Active', Filters: [{ key: 'Owner', value: alice }] })) {
    ids.push(...(page.Sessions ?? []).map((s) => s.SessionId ?? ''))
  }
  t.equal(ids.length, 450)
  t.equal(new Set(ids).size, 450, 'no session twice across pages')
  await t.rejects(ssm.send(new DescribeSessionsCommand({ State: 'Active', MaxResults: 201 })), { name: 'ValidationException' })
  await t.rejects(ssm.send(new DescribeSessionsCommand({ State: 'Active', NextToken: 'garbage' })), { name: 'InvalidNextToken' })
})

t.test('TerminateSession moves a session to History; twice is fine; unknown ids do not exist', async (t) => {
  aws.ssm.clear()
  const s = aws.ssm.seed({ owner: alice, target: 'i-0123456789abcdef0', startDate: new Date() })
  await ssm.send(new TerminateSessionCommand({ SessionId: s.SessionId }))
  await ssm.send(new TerminateSessionCommand({ SessionId: s.SessionId }))
  const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))
  t.same(active.Sessions, [])
  const history = await ssm.send(new DescribeSessionsCommand({ State: 'History' }))
  t.equal(history.Sessions?.[0]?.Status, 'Terminated')
  await t.rejects(ssm.send(new TerminateSessionCommand({ SessionId: 'nobody-0000' })), { name: 'DoesNotExistException' })
})

t.test('a service with a request rate answers ThrottlingException beyond it', async (t) => {
  const ping = () => fetch(aws.url, { method: 'POST', headers: { 'x-amz-target': 'FrontTestThrottled.Ping', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' })
  const answers = await Promise.all([1, 2, 3, 4].map(ping))
  t.same(answers.map((a) => a.status), [200, 200, 200, 400])
  t.match(await answers[3]?.json(), { __type: 'ThrottlingException' })
})

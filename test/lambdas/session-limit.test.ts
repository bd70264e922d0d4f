/**
 * The session-limit handler, every branch, with the SSM client pinned by
 * aws-sdk-client-mock: dropped events, a missing or malformed policy, limits and overrides,
 * paging, sessions already gone, errors that must be retried, the sweep, duplicates.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { mockClient } from 'aws-sdk-client-mock'
import { DescribeSessionsCommand, GetParameterCommand, SSMClient, TerminateSessionCommand, type Session } from '@aws-sdk/client-ssm'
import type { Policy } from '../../src/sessions/policy.js'

process.env.STEWARD_CLUSTER = 'campus'
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT'
const { handler } = await import('../../lambdas/session-limit.js')

const ssm = mockClient(SSMClient)
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>
const startEvent = fixture('start-session')
const owner = 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Researcher_0123456789abcdef/alice@example.edu'
const policy: Policy = {
  version: 1, cluster: 'campus',
  sessions: { ssh: {}, ssm: { maxPerUser: 2 }, overrides: { bob: 3 } },
  users: { alice: 'alice', 'alice@example.edu': 'alice', bob: 'bob', 'bob@example.edu': 'bob' },
  contacts: { alice: 'alice@example.edu' },
  budgets: null,
}
let now = 1_000_000
const session = (id: string, minute: number, who = owner): Session => ({ SessionId: id, Owner: who, StartDate: new Date(Date.UTC(2026, 11, 1, 10, minute)), Status: 'Connected' })
const terminated = () => ssm.commandCalls(TerminateSessionCommand).map((c) => c.args[0].input.SessionId)

function withPolicy(value: unknown = policy): void {
  // A new policy text each time bypasses nothing: the handler caches by time, so tests move time on.
  ssm.on(GetParameterCommand).resolves({ Parameter: { Name: '/hpc-steward/campus/policy', Value: typeof value === 'string' ? value : JSON.stringify(value) } })
}

t.beforeEach(() => {
  ssm.reset()
  now += 3_600_000
})
const realNow = Date.now
Date.now = () => now
t.teardown(() => { Date.now = realNow })

t.test('unparseable events are logged and dropped without calling AWS', async (t) => {
  for (const event of [null, 'text', [], { source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification' },
    { ...startEvent, detail: undefined },
    { ...startEvent, detail: { ...(startEvent.detail as object), eventName: 'TerminateSession' } },
    { ...startEvent, detail: { ...(startEvent.detail as object), errorCode: 'AccessDenied' } },
    { ...startEvent, detail: { ...(startEvent.detail as object), userIdentity: { arn: 'not an arn' } } }]) {
    const res = await handler(event)
    t.equal(res.status, 'dropped', JSON.stringify(event)?.slice(0, 80))
  }
  t.equal(ssm.calls().length, 0)
})

t.test('a missing, non-JSON or malformed policy drops the event with the reason', async (t) => {
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }))
  t.match(await handler(startEvent), { status: 'dropped', reason: /does not exist/ })
  ssm.reset()
  now += 3_600_000
  withPolicy('{not json')
  t.match(await handler(startEvent), { status: 'dropped', reason: /not JSON/ })
  ssm.reset()
  now += 3_600_000
  withPolicy({ ...policy, version: 2 })
  t.match(await handler(startEvent), { status: 'dropped', reason: /not an HPC Steward policy/ })
  t.equal(ssm.commandCalls(DescribeSessionsCommand).length, 0)
})

t.test('other errors reading the policy are thrown (the delivery is retried)', async (t) => {
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }))
  await t.rejects(handler(startEvent), { name: 'ThrottlingException' })
})

t.test('within the limit nothing is ended; the owner filter and state are sent', async (t) => {
  withPolicy()
  ssm.on(DescribeSessionsCommand).resolves({ Sessions: [session('a-1', 1), session('a-2', 2)] })
  const res = await handler(startEvent)
  t.match(res, { status: 'done', decisions: [{ user: 'alice', limit: 2, active: 2, terminated: [] }] })
  t.match(ssm.commandCalls(DescribeSessionsCommand)[0]?.args[0].input, { State: 'Active', MaxResults: 200, Filters: [{ key: 'Owner', value: owner }] })
  t.same(terminated(), [])
})

t.test('over the limit the newest are ended, across pages, the oldest kept', async (t) => {
  withPolicy()
  ssm.on(DescribeSessionsCommand)
    .resolvesOnce({ Sessions: [session('a-5', 5), session('a-4', 4)], NextToken: 'p2' })
    .resolvesOnce({ Sessions: [session('a-3', 3), session('a-1', 1), session('a-2', 2)] })
  ssm.on(TerminateSessionCommand).resolves({})
  const res = await handler(startEvent)
  t.same(terminated(), ['a-3', 'a-4', 'a-5'])
  t.equal(ssm.commandCalls(DescribeSessionsCommand)[1]?.args[0].input.NextToken, 'p2')
  t.match(res.decisions[0], { active: 5, terminated: ['a-3', 'a-4', 'a-5'] })
})

t.test('an override raises the limit; an unknown owner gets the default; no limit ends nothing', async (t) => {
  withPolicy()
  const bob = 'arn:aws:sts::123456789012:assumed-role/Researcher/bob'
  const bobEvent = { ...startEvent, detail: { ...(startEvent.detail as object), userIdentity: { arn: bob } } }
  ssm.on(DescribeSessionsCommand).resolves({ Sessions: [1, 2, 3, 4].map((m) => session(`b-${m}`, m, bob)) })
  ssm.on(TerminateSessionCommand).resolves({})
  t.match(await handler(bobEvent), { decisions: [{ user: 'bob', limit: 3 }] })
  t.same(terminated(), ['b-4'])

  ssm.reset()
  withPolicy()
  const stranger = 'arn:aws:sts::123456789012:assumed-role/Researcher/zed'
  ssm.on(DescribeSessionsCommand).resolves({ Sessions: [1, 2, 3].map((m) => session(`z-${m}`, m, stranger)) })
  ssm.on(TerminateSessionCommand).resolves({})
  const strangerResult = await handler({ ...startEvent, detail: { ...(startEvent.detail as object), userIdentity: { arn: stranger } } })
  t.equal(strangerResult.decisions[0]?.user, undefined)
  t.equal(strangerResult.decisions[0]?.limit, 2)
  t.same(terminated(), ['z-3'])

  ssm.reset()
  now += 3_600_000
  withPolicy({ ...policy, sessions: { ...policy.sessions, ssm: {}, overrides: {} } })
  ssm.on(DescribeSessionsCommand).resolves({ Sessions: [1, 2, 3].map((m) => session(`a-${m}`, m)) })
  t.match(await handler(startEvent), { decisions: [{ limit: undefined, active: 3, terminated: [] }] })
  t.same(terminated(), [])
})

t.test('a session already gone is not an error; other terminate errors are thrown', async (t) => {
  withPolicy()
  ssm.on(DescribeSessionsCommand).resolves({ Sessions: [1, 2, 3, 4].map((m) => session(`a-${m}`, m)) })
  ssm.on(TerminateSessionCommand, { SessionId: 'a-3' }).rejects(Object.assign(new Error('gone'), { name: 'DoesNotExistException' }))
  ssm.on(TerminateSessionCommand, { SessionId: 'a-4' }).resolves({})
  t.match(await handler(startEvent), { status: 'done', decisions: [{ terminated: ['a-4'], alreadyGone: ['a-3'] }] })
  ssm.on(TerminateSessionCommand, { SessionId: 'a-3' }).rejects(Object.assign(new Error('boom'), { name: 'InternalServerError' }))
  await t.rejects(handler(startEvent), { name: 'InternalServerError' })
})

t.test('the scheduled sweep enforces every owner with active sessions', async (t) => {
  withPolicy()
  const bob = 'arn:aws:sts::123456789012:assumed-role/Researcher/bob'
  ssm.on(DescribeSessionsCommand).resolves({ Sessions: [session('a-1', 1), session('a-2', 2), session('a-3', 3), session('b-1', 1, bob)] })
  ssm.on(TerminateSessionCommand).resolves({})
  const res = await handler(fixture('schedule'))
  t.equal(ssm.commandCalls(DescribeSessionsCommand)[0]?.args[0].input.Filters, undefined, 'all owners')
  t.same(terminated(), ['a-3'])
  t.equal(res.decisions.length, 2)
})

t.test('a duplicate delivery has no second effect; the policy is read once within its TTL', async (t) => {
  withPolicy()
  let active = [1, 2, 3].map((m) => session(`a-${m}`, m))
  ssm.on(DescribeSessionsCommand).callsFake(() => ({ Sessions: active }))
  ssm.on(TerminateSessionCommand).callsFake((input: { SessionId: string }) => {
    active = active.filter((s) => s.SessionId !== input.SessionId)
    return {}
  })
  await handler(startEvent)
  await handler(startEvent)
  t.same(terminated(), ['a-3'])
  t.equal(ssm.commandCalls(GetParameterCommand).length, 1)
})

t.test('without STEWARD_CLUSTER the function drops events instead of guessing a policy', async (t) => {
  delete process.env.STEWARD_CLUSTER
  // A second instance of the module (its configuration is read at load, as in Lambda).
  const url = new URL('../../lambdas/session-limit.ts?no-cluster', import.meta.url).href
  const fresh = await import(url) as { handler: typeof handler }
  process.env.STEWARD_CLUSTER = 'campus'
  t.match(await fresh.handler(startEvent), { status: 'dropped', reason: /STEWARD_CLUSTER/ })
  t.equal(ssm.calls().length, 0)
})

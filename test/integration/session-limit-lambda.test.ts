/**
 * The bundled session-limit Lambda (dist/lambdas/session-limit/index.mjs, built here by
 * the same script as `npm run build`) against the emulator: the service publishes the
 * policy to SSM (moto), sessions live in our front (DescribeSessions, 200 a page), and
 * CloudTrail-shaped EventBridge events drive the handler. Checks which sessions remain,
 * with a user holding more than 200 sessions, duplicates and a late delivery.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { SSMClient } from '@aws-sdk/client-ssm'
import { startAwsEmulator, type AwsEmulator } from '../support/aws/emulator.js'
import { buildPolicy } from '../../src/sessions/policy.js'
import { publishPolicy } from '../../src/adapters/aws/ssm-policy.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const root = new URL('../../', import.meta.url)
let aws: AwsEmulator
let ssm: SSMClient
let handler: (event: unknown) => Promise<{ status: string; decisions: Array<{ terminated: string[] }> }>
const startEvent = JSON.parse(readFileSync(new URL('test/fixtures/events/start-session.json', root), 'utf8')) as { detail: Record<string, unknown> }
const schedule = JSON.parse(readFileSync(new URL('test/fixtures/events/schedule.json', root), 'utf8')) as object
const arn = (name: string) => `arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Researcher_0123456789abcdef/${name}`
const eventFor = (name: string, id: string) => ({ ...startEvent, id, detail: { ...startEvent.detail, userIdentity: { type: 'AssumedRole', arn: arn(name) } } })
const base = Date.parse('2026-12-01T08:00:00Z')
const cluster = `lambda${process.pid}`

function spec(): ClusterSpec {
  const s = parse(readFileSync(new URL('examples/campus.yaml', root), 'utf8')) as ClusterSpec
  s.cluster.name = cluster
  s.sessions = { ssm: { maxPerUser: 2, idleTimeoutMinutes: 20 }, overrides: [{ user: 'alice', maxPerUser: 3 }] }
  return s
}

t.before(async () => {
  await promisify(execFile)('node', [new URL('ops/build-lambdas.js', root).pathname], { timeout: 120_000 })
  aws = await startAwsEmulator()
  ssm = new SSMClient({ ...aws.clientConfig, maxAttempts: 1 })
  Object.assign(process.env, aws.env, { STEWARD_CLUSTER: cluster, POWERTOOLS_LOG_LEVEL: 'SILENT' })
  handler = (await import(new URL('dist/lambdas/session-limit/index.mjs', root).href) as { handler: typeof handler }).handler
})
t.teardown(async () => {
  ssm.destroy()
  await aws.close()
})

t.test('the service publishes the policy once; an unchanged policy is not written again', async (t) => {
  const first = await publishPolicy(buildPolicy(spec()), ssm)
  t.match(first, { name: `/hpc-steward/${cluster}/policy`, changed: true, version: 1 })
  const again = await publishPolicy(buildPolicy(spec()), ssm)
  t.match(again, { changed: false, version: 1 })
  t.equal(aws.calls.get('AmazonSSM.PutParameter'), 1)
})

t.test('StartSession of a user with 250 sessions keeps the 3 oldest (override); duplicates and late events change nothing more', async (t) => {
  aws.ssm.clear()
  const alice = Array.from({ length: 250 }, (_, i) => aws.ssm.seed({ owner: arn('alice@example.edu'), target: 'i-0123456789abcdef0', startDate: new Date(base + i * 60_000) }))
  const bob = [0, 1, 2, 3].map((i) => aws.ssm.seed({ owner: arn('bob'), target: 'i-0123456789abcdef0', startDate: new Date(base + i * 60_000) }))
  const res = await handler(eventFor('alice@example.edu', 'e-1'))
  t.equal(res.status, 'done')
  t.same(aws.ssm.activeIds(arn('alice@example.edu')).sort(), alice.slice(0, 3).map((s) => s.SessionId).sort(), 'the three oldest remain')
  t.ok((aws.calls.get('AmazonSSM.DescribeSessions') ?? 0) >= 2, 'more than one page was read')
  t.equal(aws.ssm.activeIds(arn('bob')).length, 4, 'other users are untouched by alice\'s event')

  const terminations = aws.calls.get('AmazonSSM.TerminateSession')
  const duplicate = await handler(eventFor('alice@example.edu', 'e-1'))
  t.same(duplicate.decisions[0]?.terminated, [])
  t.equal(aws.calls.get('AmazonSSM.TerminateSession'), terminations, 'the duplicate ended nothing')

  // bob's first StartSession arrives after his later one: the result is the same.
  await handler(eventFor('bob', 'e-3'))
  await handler(eventFor('bob', 'e-2'))
  t.same(aws.ssm.activeIds(arn('bob')).sort(), bob.slice(0, 2).map((s) => s.SessionId).sort())
})

t.test('the schedule sweeps every owner', async (t) => {
  aws.ssm.clear()
  const carol = [0, 1, 2].map((i) => aws.ssm.seed({ owner: arn('carol'), target: 'i-0123456789abcdef1', startDate: new Date(base + i * 1000) }))
  aws.ssm.seed({ owner: arn('dave'), target: 'i-0123456789abcdef1', startDate: new Date(base) })
  const res = await handler(schedule)
  t.equal(res.status, 'done')
  t.same(aws.ssm.activeIds(arn('carol')).sort(), carol.slice(0, 2).map((s) => s.SessionId).sort())
  t.equal(aws.ssm.activeIds(arn('dave')).length, 1)
})

t.test('an event the function cannot parse is dropped, not thrown', async (t) => {
  t.match(await handler({ 'detail-type': 'Something Else', source: 'aws.ssm' }), { status: 'dropped' })
})

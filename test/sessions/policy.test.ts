import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { mockClient } from 'aws-sdk-client-mock'
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { Value } from '@sinclair/typebox/value'
import { buildPolicy, Policy, policyText } from '../../src/sessions/policy.js'
import { publishPolicy } from '../../src/adapters/aws/ssm-policy.js'
import { policyHook } from '../../src/login-nodes/apply-hooks.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = () => parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const ssm = mockClient(SSMClient)
const client = new SSMClient({ region: 'eu-west-1' })
t.beforeEach(() => ssm.reset())

t.test('the policy: limits, overrides, identities to POSIX names, contacts; stable text', async (t) => {
  const spec = campus()
  spec.sessions = { ssh: { maxPerUser: 4 }, ssm: { maxPerUser: 2, maxDurationMinutes: 600 }, overrides: [{ user: 'bob', maxPerUser: 6 }] }
  const policy = buildPolicy(spec)
  t.ok(Value.Check(Policy, policy))
  t.same(policy.sessions, { ssh: { maxPerUser: 4 }, ssm: { maxPerUser: 2, maxDurationMinutes: 600 }, overrides: { bob: 6 } })
  t.equal(policy.users['alice@example.edu'], 'alice')
  t.equal(policy.users.alice, 'alice')
  t.equal(policy.contacts.bob, 'bob@example.edu')
  const shuffled = campus()
  shuffled.users.reverse()
  shuffled.sessions = spec.sessions
  t.equal(policyText(buildPolicy(shuffled)), policyText(policy), 'user order does not change the text')
  t.same(buildPolicy(campus()).sessions, { ssh: {}, ssm: {}, overrides: {} })
})

t.test('published only when changed; a new parameter is created; errors name the parameter', async (t) => {
  const policy = buildPolicy(campus())
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: policyText(policy), Version: 4 } })
  t.same(await publishPolicy(policy, client), { name: '/hpc-steward/campus/policy', changed: false, version: 4 })
  t.equal(ssm.commandCalls(PutParameterCommand).length, 0)
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error('missing'), { name: 'ParameterNotFound' }))
  ssm.on(PutParameterCommand).resolves({ Version: 1 })
  t.same(await publishPolicy(policy, client), { name: '/hpc-steward/campus/policy', changed: true, version: 1 })
  t.match(ssm.commandCalls(PutParameterCommand)[0]?.args[0].input, { Name: '/hpc-steward/campus/policy', Type: 'String', Overwrite: true, Tier: 'Standard', Value: policyText(policy) })
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))
  await t.rejects(publishPolicy(policy, client), { name: 'PolicyPublishError', message: /cannot read \/hpc-steward\/campus\/policy: denied/ })
  const big = { ...policy, contacts: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`user${i}`, `user${i}@example.edu`])) }
  await t.rejects(publishPolicy(big, client), { message: /at most 8192/ })
})

t.test('the policy step publishes only at the apply\'s commit, never for an apply that is rolled back', async (t) => {
  ssm.reset()
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error('missing'), { name: 'ParameterNotFound' }))
  ssm.on(PutParameterCommand).resolves({ Version: 1 })
  const hook = policyHook(new SSMClient({ region: 'us-east-1' }))
  const context = { cluster: 'campus', revision: 2, applyId: 'a', spec: campus(), checkLock: async () => undefined }
  t.match(await hook.run(context), /published at the commit/)
  t.equal(ssm.commandCalls(PutParameterCommand).length, 0, 'nothing published while the apply may still roll back')
  t.equal(hook.rollback, undefined, 'nothing to undo')
  t.match(await hook.commit!(context), /\/hpc-steward\/campus\/policy published/)
  t.equal(ssm.commandCalls(PutParameterCommand).length, 1)
})

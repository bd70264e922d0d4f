/** The NLB adapter's calls, pinned with aws-sdk-client-mock (the emulator test runs them for real). */
import t from 'tap'
import { mockClient } from 'aws-sdk-client-mock'
import {
  AddTagsCommand, DeregisterTargetsCommand, DescribeTagsCommand, DescribeTargetGroupAttributesCommand, DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyTargetGroupAttributesCommand, ModifyTargetGroupCommand, RegisterTargetsCommand, RemoveTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2'
import { createNlbBalancer } from '../../../src/adapters/aws/elbv2.js'
import { desiredPools, type DesiredPool } from '../../../src/login-nodes/model.js'
import type { ClusterSpec } from '../../../src/spec/schema.js'

const arn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/login/0123456789abcdef'
const pool = desiredPools({ loginNodes: { pools: [{ name: 'cloud', nodes: 'login-[1-2]', drainGraceMinutes: 5, balancer: { type: 'nlb', targetGroupArn: arn, targetType: 'instance' }, targets: { 'login-1': 'i-0123456789abcdef0', 'login-2': 'i-0123456789abcdef1' } }] } } as unknown as ClusterSpec)[0] as DesiredPool
const elb = mockClient(ElasticLoadBalancingV2Client)
const client = new ElasticLoadBalancingV2Client({ region: 'eu-west-1' })
t.beforeEach(() => elb.reset())

t.test('members: health states mapped; draining and tagged targets are drained', async (t) => {
  elb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [
    { Target: { Id: 'i-0123456789abcdef0', Port: 22 }, TargetHealth: { State: 'healthy' } },
    { Target: { Id: 'i-0aaaaaaaaaaaaaaaa', Port: 22 }, TargetHealth: { State: 'draining' } },
  ] })
  elb.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [{ Key: 'steward:drained:i-0123456789abcdef1:22', Value: '2026-12-01T10:00:00.000Z' }] }] })
  const members = await createNlbBalancer(client).members(pool)
  t.match(members, [
    { node: 'login-1', state: 'ready', health: 'healthy' },
    { node: undefined, state: 'drain', target: { id: 'i-0aaaaaaaaaaaaaaaa' } },
    { node: 'login-2', state: 'drain', health: 'unknown', connections: 0 },
  ])
})

t.test('settings: a wrong target type or protocol is an error; differences are listed', async (t) => {
  elb.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: arn, TargetType: 'ip', Protocol: 'TCP' }] })
  await t.rejects(createNlbBalancer(client).settings(pool), { name: 'BalancerError', message: /target type ip, the spec says instance/ })
  elb.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: arn, TargetType: 'instance', Protocol: 'TLS' }] })
  await t.rejects(createNlbBalancer(client).settings(pool), { message: /SSH needs a TCP target group/ })
  elb.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: arn, TargetType: 'instance', Protocol: 'TCP', HealthCheckProtocol: 'TCP', HealthCheckPort: '22' }] })
  elb.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }, { Key: 'stickiness.enabled', Value: 'true' }, { Key: 'stickiness.type', Value: 'source_ip' }] })
  t.same(await createNlbBalancer(client).settings(pool), [], 'a 5 minute grace is the 300 s default: nothing to change')
})

t.test('apply: settings, then one RegisterTargets and one DeregisterTargets call', async (t) => {
  elb.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: arn, TargetType: 'instance', Protocol: 'TCP', HealthCheckProtocol: 'HTTP', HealthCheckPort: '80' }] })
  elb.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [] })
  await createNlbBalancer(client).apply(pool, { pool: 'cloud', operations: [
    { op: 'register', node: 'login-1', target: { id: 'i-0123456789abcdef0', port: 22 } },
    { op: 'register', node: 'login-2', target: { id: 'i-0123456789abcdef1', port: 22 } },
    { op: 'drain', node: undefined, target: { id: 'i-0aaaaaaaaaaaaaaaa', port: 22 } },
  ] })
  t.match(elb.commandCalls(ModifyTargetGroupCommand)[0]?.args[0].input, { TargetGroupArn: arn, HealthCheckProtocol: 'TCP', HealthCheckPort: '22' })
  t.same(elb.commandCalls(ModifyTargetGroupAttributesCommand)[0]?.args[0].input.Attributes, [
    { Key: 'deregistration_delay.timeout_seconds', Value: '300' }, { Key: 'stickiness.enabled', Value: 'true' }, { Key: 'stickiness.type', Value: 'source_ip' },
  ])
  t.same(elb.commandCalls(RegisterTargetsCommand)[0]?.args[0].input.Targets, [{ Id: 'i-0123456789abcdef0', Port: 22 }, { Id: 'i-0123456789abcdef1', Port: 22 }])
  t.same(elb.commandCalls(DeregisterTargetsCommand)[0]?.args[0].input.Targets, [{ Id: 'i-0aaaaaaaaaaaaaaaa', Port: 22 }])
})

t.test('drain tags then deregisters; ready registers then untags; SDK errors become BalancerError', async (t) => {
  elb.on(AddTagsCommand).resolves({}).on(DeregisterTargetsCommand).resolves({}).on(RegisterTargetsCommand).resolves({}).on(RemoveTagsCommand).resolves({})
  const nlb = createNlbBalancer(client)
  await nlb.drain(pool, pool.members[0]!)
  t.match(elb.commandCalls(AddTagsCommand)[0]?.args[0].input, { ResourceArns: [arn], Tags: [{ Key: 'steward:drained:i-0123456789abcdef0:22' }] })
  t.same(elb.calls().map((c) => c.args[0].constructor.name), ['AddTagsCommand', 'DeregisterTargetsCommand'])
  await nlb.ready(pool, pool.members[0]!)
  t.same(elb.calls().slice(2).map((c) => c.args[0].constructor.name), ['RegisterTargetsCommand', 'RemoveTagsCommand'])
  elb.on(DescribeTargetHealthCommand).rejects(Object.assign(new Error('no such group'), { name: 'TargetGroupNotFoundException' }))
  await t.rejects(nlb.members(pool), { name: 'BalancerError', message: /DescribeTargetHealth on target group .* failed: TargetGroupNotFoundException/ })
})

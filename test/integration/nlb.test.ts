/**
 * The NLB balancer against the emulator (moto's ELBv2 behind our front), through the real
 * SDK: a pool's first apply sets the target group's health check and attributes and
 * registers its nodes; a second apply changes nothing; a drained node is deregistered with
 * the pool's deregistration delay and stays out on re-apply until `ready`; a node that left
 * the spec is deregistered.
 */
import t from 'tap'
import { EC2Client, CreateVpcCommand } from '@aws-sdk/client-ec2'
import { CreateTargetGroupCommand, DescribeTargetGroupAttributesCommand, DescribeTargetGroupsCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import { startAwsEmulator, type AwsEmulator } from '../support/aws/emulator.js'
import { createNlbBalancer } from '../../src/adapters/aws/elbv2.js'
import { desiredPools, findMember, type DesiredPool } from '../../src/login-nodes/model.js'
import { planPool } from '../../src/login-nodes/plan.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

let aws: AwsEmulator
let elb: ElasticLoadBalancingV2Client
let arn: string

t.before(async () => {
  aws = await startAwsEmulator()
  elb = new ElasticLoadBalancingV2Client({ ...aws.clientConfig, maxAttempts: 1 })
  const ec2 = new EC2Client({ ...aws.clientConfig, maxAttempts: 1 })
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }))
  ec2.destroy()
  const tg = await elb.send(new CreateTargetGroupCommand({
    Name: `login-${Date.now() % 1_000_000}`, Protocol: 'TCP', Port: 22, VpcId: vpc.Vpc?.VpcId, TargetType: 'ip', HealthCheckProtocol: 'HTTP', HealthCheckPort: '80',
  }))
  arn = tg.TargetGroups?.[0]?.TargetGroupArn ?? ''
})
t.teardown(async () => {
  elb.destroy()
  await aws.close()
})

function pool(nodes: string, targets: Record<string, string>): DesiredPool {
  const spec = { loginNodes: { pools: [{ name: 'cloud', nodes, balancer: { type: 'nlb', targetGroupArn: arn, targetType: 'ip' }, drainGraceMinutes: 7, targets }] } } as unknown as ClusterSpec
  return desiredPools(spec)[0] as DesiredPool
}

const three = () => pool('login-[1-3]', { 'login-1': '10.42.0.11', 'login-2': '10.42.0.12', 'login-3': '10.42.0.13' })

async function apply(p: DesiredPool) {
  const balancer = createNlbBalancer(elb)
  const plan = planPool(p, await balancer.members(p), await balancer.settings(p))
  await balancer.apply(p, plan)
  return plan
}

async function registered(): Promise<string[]> {
  const h = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))
  return (h.TargetHealthDescriptions ?? []).map((d) => `${d.Target?.Id}:${d.Target?.Port}`).sort()
}

t.test('first apply: settings and registrations; second apply: nothing', async (t) => {
  const plan = await apply(three())
  const settings = plan.operations.flatMap((o) => o.op === 'settings' ? [o.detail] : [])
  t.match(settings.join('\n'), /health check HTTP:80 -> TCP:22[\s\S]*deregistration_delay.timeout_seconds 300 -> 420[\s\S]*stickiness.enabled false -> true/)
  t.same(plan.operations.filter((o) => o.op !== 'settings').map((o) => o.op), ['register', 'register', 'register'])
  t.same(await registered(), ['10.42.0.11:22', '10.42.0.12:22', '10.42.0.13:22'])
  const group = (await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }))).TargetGroups?.[0]
  t.equal(group?.HealthCheckProtocol, 'TCP')
  t.equal(group?.HealthCheckPort, '22')
  const attrs = Object.fromEntries(((await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes ?? []).map((a) => [a.Key, a.Value]))
  t.equal(attrs['deregistration_delay.timeout_seconds'], '420', 'the delay is drainGraceMinutes')
  t.equal(attrs['stickiness.enabled'], 'true')
  t.equal(attrs['stickiness.type'], 'source_ip')
  const again = await apply(three())
  t.same(again.operations, [], 'idempotent')
  const members = await createNlbBalancer(elb).members(three())
  t.same(members.map((m) => m.node).sort(), ['login-1', 'login-2', 'login-3'])
  t.same(members.map((m) => `${m.state}/${m.health}`), ['ready/healthy', 'ready/healthy', 'ready/healthy'], 'health as the target group reports it')
})

t.test('drain deregisters and stays drained across applies; ready brings the node back', async (t) => {
  const p = three()
  const balancer = createNlbBalancer(elb)
  await balancer.drain(p, findMember([p], 'login-2').member)
  t.same(await registered(), ['10.42.0.11:22', '10.42.0.13:22'])
  const after = await apply(three())
  t.same(after.operations, [], 'an apply does not undo a drain')
  t.match((await balancer.members(p)).find((m) => m.node === 'login-2'), { state: 'drain' })
  await balancer.ready(p, findMember([p], 'login-2').member)
  t.same(await registered(), ['10.42.0.11:22', '10.42.0.12:22', '10.42.0.13:22'])
  t.match((await balancer.members(p)).find((m) => m.node === 'login-2'), { state: 'ready' })
})

t.test('a node that leaves the spec is drained out; a missing target group is a clear error', async (t) => {
  const two = pool('login-[1-2]', { 'login-1': '10.42.0.11', 'login-2': '10.42.0.12' })
  const plan = await apply(two)
  t.match(plan.operations, [{ op: 'drain', node: undefined, target: { id: '10.42.0.13', port: 22 } }])
  t.same(await registered(), ['10.42.0.11:22', '10.42.0.12:22'])
  const missing = pool('login-1', { 'login-1': '10.42.0.11' })
  ;(missing.balancer as { targetGroupArn: string }).targetGroupArn = arn.replace(/[0-9a-f]{16}$/, '0000000000000000')
  await t.rejects(createNlbBalancer(elb).settings(missing), { name: 'BalancerError', message: /TargetGroupNotFound|does not exist/ })
})

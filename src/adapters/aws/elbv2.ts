/**
 * An NLB target group as a login pool's balancer (ELBv2): members and health from
 * `DescribeTargetHealth`; the pool's settings as target group settings (TCP health check on
 * the SSH port, source-IP stickiness, deregistration delay = drainGraceMinutes); draining
 * is deregistration, which keeps established connections for the delay and sends no new
 * ones. A drained node is remembered by a tag on the target group, so an apply does not
 * register it again until an admin says `ready`.
 */
import {
  AddTagsCommand, DeregisterTargetsCommand, DescribeTagsCommand, DescribeTargetGroupAttributesCommand, DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, ModifyTargetGroupAttributesCommand, ModifyTargetGroupCommand,
  RegisterTargetsCommand, RemoveTagsCommand, type TargetDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2'
import {
  BalancerError, targetLabel, type DesiredMember, type DesiredPool, type Health, type LiveMember, type MemberTarget, type PoolBalancer,
} from '../../login-nodes/model.js'
import type { NlbBalancer } from '../../spec/login-schema.js'

/** The tag that marks a drained target: `steward:drained:<id>:<port>` = the drain deadline. */
const DRAINED_TAG = 'steward:drained:'

/** Target group attributes the pool decides, with their values. */
export function wantedAttributes(pool: DesiredPool): Record<string, string> {
  return {
    'deregistration_delay.timeout_seconds': String(pool.drainGraceMinutes * 60),
    'stickiness.enabled': 'true',
    'stickiness.type': 'source_ip',
  }
}

function healthOf(state: string | undefined): Health {
  switch (state) {
    case 'healthy': return 'healthy'
    case 'unhealthy': case 'unavailable': return 'unhealthy'
    case 'initial': return 'initial'
    default: return 'unknown'
  }
}

/** The NLB balancer; `client` defaults to one built from the environment (AWS_REGION, AWS_ENDPOINT_URL...). */
export function createNlbBalancer(client: ElasticLoadBalancingV2Client = new ElasticLoadBalancingV2Client({})): PoolBalancer {
  function balancerOf(pool: DesiredPool): NlbBalancer {
    if (pool.balancer.type !== 'nlb') throw new BalancerError(`pool ${pool.name} is not an NLB pool`)
    return pool.balancer
  }

  async function call<T>(what: string, arn: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send()
    } catch (err) {
      throw new BalancerError(`${what} on target group ${arn} failed: ${(err as Error).name}: ${(err as Error).message}`, { cause: err })
    }
  }

  const toTarget = (t: MemberTarget): TargetDescription => ({ Id: t.id, Port: t.port })

  async function drainedTags(arn: string): Promise<Map<string, string>> {
    const tags = await call('DescribeTags', arn, () => client.send(new DescribeTagsCommand({ ResourceArns: [arn] })))
    const list = tags.TagDescriptions?.[0]?.Tags ?? []
    return new Map(list.filter((t) => t.Key?.startsWith(DRAINED_TAG)).map((t) => [t.Key?.slice(DRAINED_TAG.length) ?? '', t.Value ?? '']))
  }

  async function settings(pool: DesiredPool): Promise<string[]> {
    const b = balancerOf(pool)
    const groups = await call('DescribeTargetGroups', b.targetGroupArn, () => client.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [b.targetGroupArn] })))
    const group = groups.TargetGroups?.[0]
    if (!group) throw new BalancerError(`target group ${b.targetGroupArn} does not exist`)
    if (group.TargetType !== b.targetType) throw new BalancerError(`target group ${b.targetGroupArn} has target type ${String(group.TargetType)}, the spec says ${b.targetType}: a target group's type cannot change; create one of type ${b.targetType}`)
    if (group.Protocol !== 'TCP') throw new BalancerError(`target group ${b.targetGroupArn} uses ${String(group.Protocol)}; SSH needs a TCP target group`)
    const changes: string[] = []
    if (group.HealthCheckProtocol !== 'TCP' || group.HealthCheckPort !== String(pool.sshPort)) {
      changes.push(`health check ${String(group.HealthCheckProtocol)}:${String(group.HealthCheckPort)} -> TCP:${pool.sshPort}`)
    }
    const attrs = await call('DescribeTargetGroupAttributes', b.targetGroupArn, () => client.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: b.targetGroupArn })))
    const live = new Map((attrs.Attributes ?? []).map((a) => [a.Key ?? '', a.Value ?? '']))
    for (const [key, value] of Object.entries(wantedAttributes(pool))) {
      if (live.get(key) !== value) changes.push(`${key} ${live.get(key) ?? '(unset)'} -> ${value}`)
    }
    return changes
  }

  const balancer: PoolBalancer = {
    kind: 'nlb',
    settings,
    async members(pool) {
      const arn = balancerOf(pool).targetGroupArn
      const health = await call('DescribeTargetHealth', arn, () => client.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })))
      const drained = await drainedTags(arn)
      const byLabel = new Map(pool.members.map((m) => [targetLabel(m.target), m]))
      const live: LiveMember[] = (health.TargetHealthDescriptions ?? []).map((d) => {
        const target = { id: d.Target?.Id ?? '', port: d.Target?.Port ?? pool.sshPort }
        const state = d.TargetHealth?.State
        return {
          node: byLabel.get(targetLabel(target))?.node,
          target,
          state: state === 'draining' || drained.has(targetLabel(target)) ? 'drain' : 'ready',
          health: healthOf(state),
          connections: undefined,
        }
      })
      // A drained member the target group already let go of is still a drained member.
      for (const label of drained.keys()) {
        const member = byLabel.get(label)
        if (member && !live.some((m) => targetLabel(m.target) === label)) {
          live.push({ node: member.node, target: member.target, state: 'drain', health: 'unknown', connections: 0 })
        }
      }
      return live
    },
    async apply(pool, plan) {
      const b = balancerOf(pool)
      const arn = b.targetGroupArn
      if ((await settings(pool)).length > 0) {
        await call('ModifyTargetGroup', arn, () => client.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, HealthCheckProtocol: 'TCP', HealthCheckPort: String(pool.sshPort) })))
        await call('ModifyTargetGroupAttributes', arn, () => client.send(new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: arn, Attributes: Object.entries(wantedAttributes(pool)).map(([Key, Value]) => ({ Key, Value })),
        })))
      }
      const register = plan.operations.flatMap((o) => o.op === 'register' ? [toTarget(o.target)] : [])
      const leave = plan.operations.flatMap((o) => o.op === 'drain' || o.op === 'deregister' ? [toTarget(o.target)] : [])
      if (register.length > 0) await call('RegisterTargets', arn, () => client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: register })))
      if (leave.length > 0) await call('DeregisterTargets', arn, () => client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: leave })))
    },
    async drain(pool, member: DesiredMember) {
      const arn = balancerOf(pool).targetGroupArn
      const deadline = new Date(Date.now() + pool.drainGraceMinutes * 60_000).toISOString()
      // Tag first: if deregistering fails, the next apply still knows the node is meant to drain.
      await call('AddTags', arn, () => client.send(new AddTagsCommand({ ResourceArns: [arn], Tags: [{ Key: `${DRAINED_TAG}${targetLabel(member.target)}`, Value: deadline }] })))
      await call('DeregisterTargets', arn, () => client.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [toTarget(member.target)] })))
    },
    async ready(pool, member) {
      const arn = balancerOf(pool).targetGroupArn
      await call('RegisterTargets', arn, () => client.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [toTarget(member.target)] })))
      await call('RemoveTags', arn, () => client.send(new RemoveTagsCommand({ ResourceArns: [arn], TagKeys: [`${DRAINED_TAG}${targetLabel(member.target)}`] })))
    },
    async expire() {
      // The target group ends the connections itself when the deregistration delay runs out.
    },
  }
  return balancer
}

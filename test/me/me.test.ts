import t from 'tap'
import { parse } from 'yaml'
import { readFileSync } from 'node:fs'
import { loginOf, plainDuration, qosInWords, whoAmI } from '../../src/me/me.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('durations and QoS limits in plain words', async (t) => {
  t.equal(plainDuration(172_800), '2 days')
  t.equal(plainDuration(14_400), '4 hours')
  t.equal(plainDuration(60), '1 minute')
  t.equal(plainDuration(5400), '90 minutes')
  t.same(qosInWords({ name: 'long', maxTresPerUser: { gpu: 2 }, maxWallDurationPerJob: '7-00:00:00', maxJobsPerUser: 1 }), ['at most 2 GPUs at once', 'jobs up to 7 days', 'at most 1 running job'])
  t.same(qosInWords({ name: 'x', maxTresPerJob: { gpu: 1 }, usageFactor: 0 }), ['at most 1 GPU per job', 'usage is not charged'])
  t.same(qosInWords({ name: 'plain' }), ['no limits of its own'])
})

t.test('how to log in: the HAProxy pool\'s listen address and Session Manager\'s run-as', async (t) => {
  const spec: ClusterSpec = {
    ...campus,
    loginNodes: { pools: [
      { name: 'login', nodes: 'login[1-2]', balancer: { type: 'haproxy', listen: '10.0.0.5:2222', runtimeSocket: '/run/haproxy.sock' } },
      { name: 'aws', nodes: 'login[3-4]', balancer: { type: 'nlb', targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/login/0123456789abcdef', targetType: 'ip' } },
    ] },
    sessions: { ssm: { maxDurationMinutes: 120 } },
  }
  const login = loginOf(spec, 'alice')
  t.same(login.pools[0], { name: 'login', address: '10.0.0.5', port: 2222, how: 'ssh -p 2222 alice@10.0.0.5' })
  t.match(login.pools[1], { name: 'aws', port: 22 })
  t.same(login.sessionManager, { runAs: 'alice', maxDurationMinutes: 120 })
})

t.test('a user in two departments: both accounts, the explicit default marked, every partition they may use', async (t) => {
  const me = whoAmI({ tokenId: 't', role: 'researcher', departments: [], user: 'bob', cluster: 'campus' }, campus)
  t.same(me.accounts, [{ name: 'nlp-smith', department: 'nlp', default: false }, { name: 'nlp-garcia', department: 'nlp', default: true }])
  t.same(me.partitions.map((p) => p.name), ['nlp', 'scavenger'])
  const erin = whoAmI({ tokenId: 't', role: 'researcher', departments: [], user: 'erin', cluster: 'campus' }, campus)
  t.same(erin.qos.map((q) => q.name), ['interactive', 'scavenger', 'standard'], 'the QoS of her associations')
  const dept = whoAmI({ tokenId: 't', role: 'department-admin', departments: ['cv'], user: null, cluster: 'campus' }, campus)
  t.equal(dept.user, null)
  t.same(dept.partitions.map((p) => p.name), ['cv', 'scavenger'])
})

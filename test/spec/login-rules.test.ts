import t from 'tap'
import { validateSpec } from '../../src/spec/validate.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { campus, errorsOf, validWithAndWithout } from '../support/campus-spec.js'

const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/login/0123456789abcdef'

/** The campus example with a login section: an HAProxy pool and an NLB pool. */
function spec(): ClusterSpec {
  const s = campus()
  s.loginNodes = {
    pools: [
      { name: 'onprem', nodes: 'login-[1-3]', balancer: { type: 'haproxy', listen: '127.0.0.1:2222', runtimeSocket: '/run/haproxy/login.sock' }, sshPort: 22, drainGraceMinutes: 10,
        targets: { 'login-1': '127.0.0.1:2201' } },
      { name: 'cloud', nodes: 'cloud-login-[1-2]', balancer: { type: 'nlb', targetGroupArn: ARN, targetType: 'ip' },
        targets: { 'cloud-login-1': '10.1.0.21', 'cloud-login-2': '10.1.0.22' } },
    ],
  }
  s.sessions = { ssh: { maxPerUser: 4, idleTimeoutMinutes: 60 }, ssm: { maxPerUser: 2, maxDurationMinutes: 720, idleTimeoutMinutes: 20 }, overrides: [{ user: 'alice', maxPerUser: 10 }] }
  return s
}

const errors = errorsOf

t.test('a spec with login pools and session limits is valid; without them it means the same as before', async (t) => {
  validWithAndWithout(t, spec, ['loginNodes', 'sessions'])
})

t.test('a pool naming a compute node, the controller, or a node of another pool', async (t) => {
  const s = spec()
  s.loginNodes!.pools[0]!.nodes = 'login-1,gpu-h100-001,head-1'
  s.loginNodes!.pools[1]!.nodes = 'cloud-login-[1-2],login-1'
  const found = errors(s).map((p) => `${p.path} ${p.message}`)
  t.match(found.join('\n'), /\/loginNodes\/pools\/0\/nodes "gpu-h100-001" is a compute node of node group "h100"/)
  t.match(found.join('\n'), /"head-1" is the Slurm controller/)
  t.match(found.join('\n'), /\/loginNodes\/pools\/1\/nodes login node "login-1" is already in pool "onprem"/)
})

t.test('ARNs of the wrong shape and bad balancer fields are errors at their paths', async (t) => {
  for (const arn of [
    'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/login/0123456789abcdef',
    'arn:aws:elasticloadbalancing:eu-west-1:12345:targetgroup/login/0123456789abcdef',
    'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/login/xyz',
    'arn:aws:iam::123456789012:role/x',
  ]) {
    const s = spec()
    ;(s.loginNodes!.pools[1]!.balancer as { targetGroupArn: string }).targetGroupArn = arn
    t.match(errors(s), [{ path: '/loginNodes/pools/1/balancer/targetGroupArn', message: /targetgroup/ }], arn)
  }
  const s = spec()
  s.loginNodes!.pools[0]!.balancer = { type: 'haproxy', listen: '127.0.0.1:99999', runtimeSocket: '/run/../etc/passwd' }
  t.match(errors(s).map((p) => p.path), ['/loginNodes/pools/0/balancer/listen', '/loginNodes/pools/0/balancer/runtimeSocket'])
  const bad = spec()
  ;(bad.loginNodes!.pools[0]!.balancer as { listen: string }).listen = '127.0.0.1:22; rm -rf /'
  t.match(errors(bad), [{ path: '/loginNodes/pools/0/balancer/listen', message: /not allowed/ }])
})

t.test('NLB targets: every node needs one, of the target type; targets name pool nodes', async (t) => {
  const s = spec()
  s.loginNodes!.pools[1]!.targets = { 'cloud-login-1': 'i-0123456789abcdef0', 'other-node': '10.0.0.9' }
  const found = errors(s)
  t.match(found, [
    { path: '/loginNodes/pools/1/targets/cloud-login-1', message: /not an IPv4 address/ },
    { path: '/loginNodes/pools/1/targets/other-node', message: /not a node of pool "cloud"/ },
    { path: '/loginNodes/pools/1/targets', message: /node "cloud-login-2" has no target/ },
  ])
  const h = spec()
  h.loginNodes!.pools[0]!.targets = { 'login-1': '300.0.0.1:22', 'login-2': '10.0.0.1:70000' }
  t.match(errors(h).map((p) => p.message).join('\n'), /IPv4 part above 255[\s\S]*port 70000/)
})

t.test('session overrides name known users, once each; pool names are unique', async (t) => {
  const s = spec()
  s.sessions!.overrides = [{ user: 'alice', maxPerUser: 3 }, { user: 'zed', maxPerUser: 1 }, { user: 'alice', maxPerUser: 5 }]
  s.loginNodes!.pools[1]!.name = 'onprem'
  t.match(errors(s), [
    { path: '/loginNodes/pools/1/name', message: /duplicate pool name/ },
    { path: '/sessions/overrides/1/user', message: /unknown user "zed"/ },
    { path: '/sessions/overrides/2/user', message: /already has an override/ },
  ])
  const limits = spec()
  limits.sessions!.ssm!.idleTimeoutMinutes = 61
  limits.sessions!.ssh!.maxPerUser = 0
  t.match(errors(limits).map((p) => p.path), ['/sessions/ssh/maxPerUser', '/sessions/ssm/idleTimeoutMinutes'])
})

t.test('SSH limits without any login pool are a warning', async (t) => {
  const s = spec()
  delete s.loginNodes
  t.match(validateSpec(s).errors, [{ severity: 'warning', path: '/sessions/ssh' }])
})

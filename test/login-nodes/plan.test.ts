import t from 'tap'
import { desiredPools, findMember, type DesiredPool, type LiveMember } from '../../src/login-nodes/model.js'
import { formatPoolPlan, planPool } from '../../src/login-nodes/plan.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const spec = (nodes: string, targets?: Record<string, string>) => ({
  loginNodes: { pools: [{ name: 'main', nodes, sshPort: 2222, balancer: { type: 'haproxy', listen: '0.0.0.0:22', runtimeSocket: '/run/h.sock' }, ...(targets ? { targets } : {}) }] },
}) as unknown as ClusterSpec
const pool = (nodes: string, targets?: Record<string, string>) => desiredPools(spec(nodes, targets))[0] as DesiredPool
const live = (node: string | undefined, id: string, state: LiveMember['state'] = 'ready', connections?: number): LiveMember =>
  ({ node, target: { id, port: 2222 }, state, health: 'healthy', connections })

t.test('desired members: node names and the pool port, or the given targets', async (t) => {
  t.same(pool('login-[1-2]').members, [{ node: 'login-1', target: { id: 'login-1', port: 2222 } }, { node: 'login-2', target: { id: 'login-2', port: 2222 } }])
  t.same(pool('login-1', { 'login-1': '10.0.0.5:2200' }).members[0]?.target, { id: '10.0.0.5', port: 2200 })
  t.same(pool('login-1', { 'login-1': '10.0.0.5' }).members[0]?.target, { id: '10.0.0.5', port: 2222 })
  t.equal(pool('login-1').drainGraceMinutes, 10)
  t.throws(() => findMember([pool('login-1')], 'login-9'), { name: 'UnknownLoginNodeError', message: /"login-9" is not a login node of any pool \(pools: main\)/ })
})

t.test('new nodes are registered; a node that left is drained, then deregistered once empty', async (t) => {
  const p = pool('login-[1-3]')
  t.same(planPool(p, [live('login-1', 'login-1')]).operations.map((o) => o.op), ['register', 'register'])
  t.same(planPool(p, [live('login-1', 'login-1'), live('login-2', 'login-2'), live('login-3', 'login-3')]).operations, [])
  const gone = [live('login-1', 'login-1'), live('login-2', 'login-2'), live('login-3', 'login-3'), live('old-1', 'old-1')]
  t.match(planPool(p, gone).operations, [{ op: 'drain', node: 'old-1' }])
  gone[3] = live('old-1', 'old-1', 'drain', 2)
  t.same(planPool(p, gone).operations, [], 'still holds sessions: wait')
  gone[3] = live('old-1', 'old-1', 'drain', 0)
  t.match(planPool(p, gone).operations, [{ op: 'deregister', node: 'old-1' }])
  t.same(formatPoolPlan(planPool(p, gone, ['health check HTTP:80 -> TCP:22'])), ['pool main: settings health check HTTP:80 -> TCP:22', 'pool main: deregister old-1 old-1:2222'])
  t.same(formatPoolPlan(planPool(p, gone.slice(0, 3))), ['pool main: up to date'])
})

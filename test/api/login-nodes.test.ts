/**
 * The login-node routes: admin only, audited, status of every member, drain with a grace
 * period, ready, unknown nodes 404, an unreachable node 502 with nothing changed. The pool
 * here is an in-memory balancer and node (the real HAProxy and sshd are in
 * test/integration/login-pool.test.ts); this pins the HTTP contract.
 */
import t from 'tap'
import { seeded, campusSpec, type Seeded } from './helpers.js'
import type { Executor } from '../../src/adapters/executor.js'
import { buildApp } from '../../src/api/app.js'
import type { BalancerState, LiveMember, PoolBalancer } from '../../src/login-nodes/model.js'

const states = new Map<string, BalancerState>()
const walls: string[] = []
let reachable = true
const balancer: PoolBalancer = {
  kind: 'haproxy',
  members: async (pool) => pool.members.map((m): LiveMember => ({ node: m.node, target: m.target, state: states.get(m.node) ?? 'ready', health: 'healthy', connections: 0 })),
  settings: async () => [],
  apply: async () => undefined,
  drain: async (_p, m) => { states.set(m.node, 'drain') },
  ready: async (_p, m) => { states.set(m.node, 'ready') },
  expire: async (_p, m) => { states.set(m.node, 'maint') },
}
const node: Executor = {
  target: 'memory',
  run: async (argv) => {
    if (!reachable) throw new Error('connect ECONNREFUSED')
    if (argv[0] === 'wall') walls.push(argv[1] ?? '')
    return { argv, code: 0, stdout: argv[0] === 'who' ? 'alice pts/0 2026-12-01 10:00 (10.0.0.9)\n' : '', stderr: '' }
  },
  readFile: async () => undefined,
  writeFileAtomic: async () => undefined,
}

let s: Seeded
t.before(async () => {
  const spec = campusSpec() as Record<string, unknown>
  spec.loginNodes = { pools: [{ name: 'main', nodes: 'login-[1-2]', balancer: { type: 'haproxy', listen: '0.0.0.0:22', runtimeSocket: '/run/haproxy/main.sock' }, drainGraceMinutes: 15 }] }
  s = await seeded(undefined, { loginAccess: () => ({ balancerFor: () => balancer, nodeExecutor: () => node, close: async () => undefined }) }, spec)
})

t.test('only admins see or change login nodes', async (t) => {
  for (const who of ['nlp', 'alice'] as const) {
    t.equal((await s.as(who, { method: 'GET', url: '/v1/clusters/campus/login-nodes' })).statusCode, 403)
    t.equal((await s.as(who, { method: 'POST', url: '/v1/clusters/campus/login-nodes/login-1/drain', payload: {} })).statusCode, 403)
  }
  t.equal((await s.as(null, { method: 'GET', url: '/v1/clusters/campus/login-nodes' })).statusCode, 401)
})

t.test('status, drain with the pool\'s grace, ready; each change audited', async (t) => {
  const status = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/login-nodes' })
  t.equal(status.statusCode, 200)
  t.match(status.json(), { items: [{ pool: 'main', node: 'login-1', state: 'ready', health: 'healthy', sessions: 1 }, { node: 'login-2' }] })
  const before = Date.now()
  const drain = await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/login-nodes/login-1/drain', payload: {} })
  t.equal(drain.statusCode, 200)
  const body = drain.json() as { deadline: string; sessions: number }
  t.equal(body.sessions, 1)
  t.ok(Math.abs(Date.parse(body.deadline) - before - 15 * 60_000) < 5000, 'deadline = now + drainGraceMinutes')
  t.match(walls.at(-1), /Login node login-1 is being taken out of service/)
  t.equal(states.get('login-1'), 'drain')
  const custom = await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/login-nodes/login-2/drain', payload: { graceMinutes: 0 } })
  t.equal(custom.statusCode, 200)
  await new Promise((r) => setTimeout(r, 200))
  t.equal(states.get('login-2'), 'maint', 'a zero grace ends the remaining sessions at once')
  const ready = await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/login-nodes/login-1/ready' })
  t.equal(ready.statusCode, 200)
  t.equal(states.get('login-1'), 'ready')
  const audit = await s.as('admin', { method: 'GET', url: '/v1/audit?cluster=campus' })
  t.match(JSON.stringify(audit.json()), /login-node\.drain[\s\S]*login-node\.ready|login-node\.ready[\s\S]*login-node\.drain/)
})

t.test('bad input: unknown node 404, bad grace 400, unreachable node 502 with the balancer unchanged', async (t) => {
  t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/login-nodes/gpu-h100-001/drain', payload: {} })).statusCode, 404)
  t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/login-nodes/login-1/drain', payload: { graceMinutes: -1 } })).statusCode, 400)
  t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/login-nodes/login%3Brm/drain', payload: {} })).statusCode, 400)
  reachable = false
  const res = await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/login-nodes/login-1/drain', payload: {} })
  reachable = true
  t.equal(res.statusCode, 502)
  t.match(res.json(), { error: 'LoginNodeError', message: /login-1 is unreachable/ })
  t.equal(states.get('login-1'), 'ready')
})

t.test('a restart resumes the drains the audit log leaves open, with their deadlines', async (t) => {
  const loginAccess = () => ({ balancerFor: () => balancer, nodeExecutor: () => node, close: async () => undefined })
  // A drain whose grace has run out while the service was down, one still running, and one an admin took back.
  const past = new Date(Date.now() - 60_000).toISOString()
  const future = new Date(Date.now() + 3_600_000).toISOString()
  const audit = (node: string, action: string, change: object, at?: number) => s.store.appendAudit({ actor: 'admin', source: 'api', cluster: 'campus', action, resource: `clusters/campus/login-nodes/${node}`, change, ...(at === undefined ? {} : { at: new Date(at).toISOString() }) })
  /** A restart of the service, waited for until login-1 is taken out (or a second has passed). */
  const restartUntilLogin1Out = async () => {
    const app = await buildApp({ store: s.store, loginAccess })
    t.teardown(() => app.close())
    await app.ready()
    for (let i = 0; i < 50 && states.get('login-1') !== 'maint'; i++) await new Promise((r) => setTimeout(r, 20))
  }
  await audit('login-1', 'login-node.drain', { deadline: past, sessions: 1 })
  await audit('login-2', 'login-node.drain', { deadline: past, sessions: 1 })
  await audit('login-2', 'login-node.ready', {})
  states.set('login-1', 'drain')
  states.set('login-2', 'ready')
  await restartUntilLogin1Out()
  t.equal(states.get('login-1'), 'maint', 'the expired drain ends its sessions after the restart')
  t.equal(states.get('login-2'), 'ready', 'a drain followed by a ready is not resumed')

  await audit('login-1', 'login-node.drain', { deadline: future, sessions: 1 })
  states.set('login-1', 'drain')
  const again = await buildApp({ store: s.store, loginAccess })
  await again.ready()
  await new Promise((r) => setTimeout(r, 200))
  t.equal(states.get('login-1'), 'drain', 'a drain still in its grace period waits (its users are logged in)')
  await again.close()

  // Down for three days: the drain was audited long before, its deadline long past; the newer ready of login-2 is read first.
  const long = Date.now() - 3 * 86_400_000
  await audit('login-1', 'login-node.drain', { deadline: new Date(long + 15 * 60_000).toISOString(), sessions: 1 }, long)
  const newest = await s.store.listAudit({ cluster: 'campus', resource: 'clusters/campus/login-nodes/login-1' }, { limit: 1 })
  t.match(newest.items[0], { action: 'login-node.drain', at: new Date(long).toISOString() }, 'the latest entry of login-1 is the old drain')
  states.set('login-1', 'drain')
  await restartUntilLogin1Out()
  t.equal(states.get('login-1'), 'maint', 'a drain older than a day is still finished after the restart')
  t.equal(states.get('login-2'), 'ready')
})

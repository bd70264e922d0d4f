/**
 * A drain's wait for its deadline is ended by a later drain or a `ready` (the service keeps
 * one per node): sessions are never cut at an earlier deadline than the one users were told.
 */
import t from 'tap'
import { drainNode, finishDrain, readyNode, type LoginNodeDeps } from '../../src/login-nodes/drain.js'
import { desiredPools } from '../../src/login-nodes/model.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

function lab() {
  const spec = { cluster: { name: 'c' }, loginNodes: { pools: [{ name: 'main', nodes: 'login-[1-2]', balancer: { type: 'haproxy', listen: '0.0.0.0:22', runtimeSocket: '/run/h.sock' } }] } } as unknown as ClusterSpec
  const state = new Map<string, string>([['login-1', 'ready'], ['login-2', 'ready']])
  const expired: string[] = []
  const clock = { now: Date.parse('2026-12-01T12:00:00Z') }
  const deps: LoginNodeDeps = {
    now: () => new Date(clock.now),
    nodeExecutor: () => ({ target: 'x', run: async (argv: readonly string[]) => ({ argv, code: 0, stdout: 'alice pts/0\n', stderr: '' }), readFile: async () => undefined, writeFileAtomic: async () => {} }) as never,
    balancerFor: () => ({
      kind: 'haproxy',
      members: async (p: ReturnType<typeof desiredPools>[number]) => p.members.map((m) => ({ node: m.node, target: m.target, state: state.get(m.node), health: 'healthy' })),
      drain: async (_p: unknown, m: { node: string }) => { state.set(m.node, 'drain') },
      ready: async (_p: unknown, m: { node: string }) => { state.set(m.node, 'ready') },
      expire: async (_p: unknown, m: { node: string }) => { expired.push(m.node) },
    }) as never,
  }
  return { pools: desiredPools(spec), deps, expired, clock }
}

t.test('ready then a longer drain: the first wait ends without cutting a session', async (t) => {
  const { pools, deps, expired, clock } = lab()
  const first = await drainNode(pools, 'login-1', 5, deps)
  const controller = new AbortController()
  const wait = finishDrain(pools, 'login-1', new Date(first.deadline), deps, { pollMs: 20, signal: controller.signal })
  await new Promise((r) => setTimeout(r, 5))
  await readyNode(pools, 'login-1', deps)
  await drainNode(pools, 'login-1', 60, deps)
  controller.abort() // what the service does when it starts the second drain's wait
  clock.now += 6 * 60_000
  t.equal(await wait, 'superseded')
  t.same(expired, [], 'no session was cut at the first deadline')
})

t.test('without a later drain, the deadline ends the sessions', async (t) => {
  const { pools, deps, expired, clock } = lab()
  const first = await drainNode(pools, 'login-1', 5, deps)
  clock.now += 6 * 60_000
  t.equal(await finishDrain(pools, 'login-1', new Date(first.deadline), deps, { pollMs: 20, signal: new AbortController().signal }), 'expired')
  t.same(expired, ['login-1'])
})

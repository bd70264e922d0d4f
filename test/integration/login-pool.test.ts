/**
 * Login nodes for real: HAProxy (Debian) in front of three sshd login nodes on loopback
 * ports, sharing the pool's host key as the service installs it. A real ssh client lands on
 * more than one node; drain keeps an open session alive and working while new logins go to
 * the others, and the logged-in user gets the notice; ready brings the node back; a user
 * over maxlogins is refused by PAM with the limit's message; an HAProxy that is not running
 * and an unreachable node are clear errors that change nothing.
 */
import t from 'tap'
import { writeFileSync, readFileSync, existsSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { join } from 'node:path'
import { createLoginLab, type LoginLab } from '../support/login-lab.js'
import { poolHostKeys } from '../../src/login-nodes/host-keys.js'
import { sessionLimitFiles } from '../../src/login-nodes/session-limits.js'
import { installLoginNode } from '../../src/login-nodes/install.js'
import { drainNode, loginNodeStatus, readyNode } from '../../src/login-nodes/drain.js'
import { planPool } from '../../src/login-nodes/plan.js'
import { createHaproxyBalancer, unixSocketRuntime } from '../../src/adapters/haproxy.js'
import { createLocalExecutor, type Executor } from '../../src/adapters/executor.js'
import { renderHaproxyConfig } from '../../src/login-nodes/haproxy-config.js'
import { loginNodesHook } from '../../src/login-nodes/apply-hooks.js'

let lab: LoginLab

/** Where `count` logins from distinct source addresses land. */
async function landings(count: number, firstSource: number): Promise<string[]> {
  const nodes: string[] = []
  for (let i = 0; i < count; i++) {
    const res = await lab.ssh('sl_carol', `127.0.0.${firstSource + i}`, 'echo "landed=$STEWARD_NODE"')
    const m = /landed=(\S+)/.exec(res.stdout)
    if (!m) throw new Error(`login ${i} failed: ${res.code} ${res.stderr}`)
    nodes.push(m[1] as string)
  }
  return nodes
}

async function allHealthy(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const members = await lab.balancer.members(lab.pool)
    if (members.length === 3 && members.every((m) => m.health === 'healthy')) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the pool did not become healthy')
}

t.before(async () => {
  lab = await createLoginLab()
  const key = await poolHostKeys(join(lab.base, 'state'), 'campus', 'lab')
  writeFileSync(join(lab.base, 'known_hosts'), `lab-pool ${key.publicKey}`)
  for (const n of lab.nodes) {
    // Provisioning: the nodes' sshd is not running yet, so there is nothing to reload.
    await installLoginNode({ node: n.node, executor: createLocalExecutor(), paths: n.paths, reloadSshd: ['true'] }, sessionLimitFiles(lab.spec, n.paths), key, 'provision')
    await lab.startSshd(n)
  }
  await lab.startHaproxy()
  await allHealthy()
})
t.teardown(() => lab?.stop())

t.test('the service\'s files are in place and a re-apply changes nothing', async (t) => {
  const n = lab.nodes[0]!
  t.match(readFileSync(join(n.paths.limitsDir, '90-hpc-steward-logins.conf'), 'utf8'), /\*\thard\tmaxlogins\t2\nsl_alice\thard\tmaxlogins\t5/)
  t.match(readFileSync(join(n.paths.sshdDropInDir, '90-hpc-steward.conf'), 'utf8'), /ClientAliveInterval 60\nClientAliveCountMax 3\nChannelTimeout session:\*=60m/)
  const key = await poolHostKeys(join(lab.base, 'state'), 'campus', 'lab')
  const again = await installLoginNode({ node: n.node, executor: createLocalExecutor(), paths: n.paths, reloadSshd: ['pkill', '-HUP', '-F', n.pidFile] }, sessionLimitFiles(lab.spec, n.paths), key, 'again')
  t.same(again.changed, [])
  const plan = planPool(lab.pool, await lab.balancer.members(lab.pool), await lab.balancer.settings(lab.pool))
  t.same(plan.operations, [], 'the running HAProxy has the rendered configuration and all members')
})

t.test('logins through HAProxy land on more than one node, all with the pool\'s one host key', async (t) => {
  const nodes = await landings(6, 20)
  t.ok(new Set(nodes).size > 1, `landed on ${[...new Set(nodes)].join(', ')}`)
  // StrictHostKeyChecking=yes with a single known key: every node showed the same key.
})

t.test('drain: the open session lives on and gets the notice, new logins go elsewhere; ready brings it back', async (t) => {
  const session = lab.open('sl_alice', '127.0.0.50')
  session.send('echo "on=$STEWARD_NODE"')
  const node = (await session.waitFor(/on=(stwlogin-\d)/))[1] as string
  const result = await drainNode(lab.pools, node, 5, lab.deps)
  t.equal(result.node, node)
  t.ok(result.sessions >= 1, 'the drained node had a logged-in session')
  await session.waitFor(/Login node stwlogin-\d is being taken out of service[\s\S]*continues until/)
  t.match(session.output(), new RegExp(`Login node ${node} is being taken out of service`))

  const after = await landings(6, 60)
  t.notOk(after.includes(node), `new logins avoided ${node}: ${after.join(', ')}`)
  // The drained session's own source address was stuck to the node; it goes elsewhere now.
  const again = await lab.ssh('sl_carol', '127.0.0.50', 'echo "landed=$STEWARD_NODE"')
  t.notMatch(again.stdout, new RegExp(`landed=${node}\\b`))

  session.send('echo "still=$STEWARD_NODE"')
  t.equal((await session.waitFor(/still=(stwlogin-\d)/))[1], node, 'the open session still works on the drained node')

  const status = await loginNodeStatus(lab.pools, lab.deps)
  t.equal(status.length, 3)
  t.match(status.find((s) => s.node === node), { state: 'drain', health: 'healthy', connections: 1 })
  t.ok((status.find((s) => s.node === node)?.sessions ?? 0) >= 1)
  t.match(status.filter((s) => s.node !== node), [{ state: 'ready' }, { state: 'ready' }])

  await session.close()
  await readyNode(lab.pools, node, lab.deps)
  t.match((await lab.balancer.members(lab.pool)).find((m) => m.node === node), { state: 'ready' })
  const back = await landings(9, 80)
  t.ok(back.includes(node), `after ready, logins reach ${node} again: ${back.join(', ')}`)
})

t.test('a user over maxlogins is refused by PAM with the limit\'s message', async (t) => {
  const node = lab.nodes[1]!
  const first = lab.open('sl_bob', '127.0.0.1', node.port)
  const second = lab.open('sl_bob', '127.0.0.1', node.port)
  first.send('echo "one=$STEWARD_NODE"')
  second.send('echo "two=$STEWARD_NODE"')
  await first.waitFor(/one=stwlogin/)
  await second.waitFor(/two=stwlogin/)
  const third = await lab.ssh('sl_bob', '127.0.0.1', 'echo "three=$STEWARD_NODE"', node.port, true)
  t.notMatch(third.stdout, /three=/)
  t.match(third.stdout + third.stderr, /too many logins for 'sl_bob'/i)
  // sl_alice's override (5) lets her hold three.
  const alice = [lab.open('sl_alice', '127.0.0.1', node.port), lab.open('sl_alice', '127.0.0.1', node.port)]
  for (const [i, s] of alice.entries()) {
    s.send(`echo "a${i}=$STEWARD_NODE"`)
    await s.waitFor(new RegExp(`a${i}=stwlogin`))
  }
  const third2 = await lab.ssh('sl_alice', '127.0.0.1', 'echo "three=$STEWARD_NODE"', node.port, true)
  t.match(third2.stdout, /three=stwlogin/)
  for (const s of [first, second, ...alice]) await s.close()
})

t.test('an HAProxy that is not running and an unreachable node are clear errors; nothing changes', async (t) => {
  const down = createHaproxyBalancer({
    executor: createLocalExecutor(), configPath: join(lab.base, 'other.cfg'), runtime: unixSocketRuntime(join(lab.base, 'nothing.sock')),
    render: (p, leaving) => renderHaproxyConfig({ spec: lab.spec, pool: p, leaving }), reload: async () => undefined,
  })
  await t.rejects(down.apply(lab.pool, { pool: 'lab', operations: [] }), { name: 'BalancerError', message: /cannot reach HAProxy's runtime socket .*nothing\.sock.*is HAProxy running/ })
  t.equal(await createLocalExecutor().readFile(join(lab.base, 'other.cfg')), undefined, 'no configuration written')

  const unreachable: Executor = {
    target: 'ssh://root@10.255.255.1:22',
    run: () => Promise.reject(new Error('connect ETIMEDOUT 10.255.255.1:22')),
    readFile: () => Promise.reject(new Error('connect ETIMEDOUT 10.255.255.1:22')),
    writeFileAtomic: () => Promise.reject(new Error('connect ETIMEDOUT 10.255.255.1:22')),
  }
  const before = await lab.balancer.members(lab.pool)
  await t.rejects(drainNode(lab.pools, 'stwlogin-3', undefined, { ...lab.deps, nodeExecutor: () => unreachable }), { name: 'LoginNodeError', message: /stwlogin-3 is unreachable/ })
  t.same((await lab.balancer.members(lab.pool)).map((m) => m.state), before.map((m) => m.state), 'the balancer did not change')
  const n = lab.nodes[2]!
  await t.rejects(installLoginNode({ node: n.node, executor: unreachable, paths: n.paths, reloadSshd: ['true'] }, sessionLimitFiles(lab.spec, n.paths), undefined, 'x'),
    { name: 'LoginNodeInstallError', message: /login node stwlogin-3 is unreachable/ })
  await t.rejects(drainNode(lab.pools, 'gpu-h100-001', undefined, lab.deps), { name: 'UnknownLoginNodeError' })
})

t.test('a broken sshd drop-in is refused by sshd -t and the node keeps its files', async (t) => {
  const n = lab.nodes[2]!
  const before = readFileSync(join(n.paths.sshdDropInDir, '90-hpc-steward.conf'), 'utf8')
  const broken = sessionLimitFiles(lab.spec, n.paths).map((f) => f.name === '90-hpc-steward.conf' ? { ...f, content: `${f.content}ClientAliveCountMax lots\n` } : f)
  await t.rejects(installLoginNode({ node: n.node, executor: createLocalExecutor(), paths: n.paths, reloadSshd: ['true'], sshdBin: '/usr/sbin/sshd' }, broken, undefined, 'broken'),
    { name: 'LoginNodeInstallError', message: /sshd -t failed on login node stwlogin-3.*put back/s })
  t.equal(readFileSync(join(n.paths.sshdDropInDir, '90-hpc-steward.conf'), 'utf8'), before)
})

t.test('the CLI drives the same pool: status, drain with a notice, ready', async (t) => {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first')
  const specFile = join(lab.base, 'spec.yaml')
  writeFileSync(specFile, stringify(lab.spec))
  const run = (args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'steward.js'), 'login-nodes', ...args, '--spec', specFile, '--identity', lab.clientKey, '--user', 'root', '--haproxy-dir', lab.base],
      { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }))
  })
  // The nodes present the pool's key (installed above): the CLI trusts it from the service's key directory.
  const steward = (...args: string[]) => run([...args, '--host-key-dir', join(lab.base, 'state')])
  const unpinned = await run(['drain', 'stwlogin-1'])
  t.equal(unpinned.code, 1, 'without a pinned host key nothing is done')
  t.match(unpinned.stderr, /no host key is pinned for/)
  const wrong = await run(['drain', 'stwlogin-1', '--host-key', `stwlogin-1=SHA256:${'A'.repeat(43)}`])
  t.equal(wrong.code, 1)
  t.match(wrong.stderr, /host key is SHA256:\S+, not the pinned SHA256:A{43}/)
  const status = await steward('status', '--json')
  t.equal(status.code, 0, status.stderr)
  t.match(JSON.parse(status.stdout), [{ pool: 'lab', node: 'stwlogin-1', state: 'ready', health: 'healthy' }, { node: 'stwlogin-2' }, { node: 'stwlogin-3' }])
  const session = lab.open('sl_alice', '127.0.0.90', lab.nodes[0]!.port)
  session.send('echo "on=$STEWARD_NODE"')
  await session.waitFor(/on=stwlogin-1/)
  const drain = await steward('drain', 'stwlogin-1', '--grace', '3')
  t.equal(drain.code, 0, drain.stderr)
  t.match(drain.stdout, /stwlogin-1 \(pool lab\) takes no new sessions; [1-9]\d* session\(s\) notified/)
  await session.waitFor(/Login node stwlogin-1 is being taken out of service/)
  t.match((await steward('status')).stdout, /lab\tstwlogin-1\t127\.0\.0\.1:\d+\tdrain\thealthy\t[1-9]/)
  t.equal((await steward('ready', 'stwlogin-1')).code, 0)
  t.match((await lab.balancer.members(lab.pool)).find((m) => m.node === 'stwlogin-1'), { state: 'ready' })
  const unknown = await steward('drain', 'nope-1')
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /"nope-1" is not a login node of any pool/)
  await session.close()
})

t.test('the apply step: nothing to do on an unchanged spec; a staged change rolled back leaves the old files; a new limit reaches every node at the commit, sshd reloaded, sessions kept', async (t) => {
  const session = lab.open('sl_alice', '127.0.0.91', lab.nodes[2]!.port)
  session.send('echo "on=$STEWARD_NODE"')
  await session.waitFor(/on=stwlogin-3/)
  const hook = loginNodesHook({
    access: () => ({ ...lab.deps, close: async () => undefined }),
    hostKeyDir: join(lab.base, 'state'),
    pathsFor: (_pool, node) => lab.nodes.find((n) => n.node === node)!.paths,
    reloadSshd: (_pool, node) => ['pkill', '-HUP', '-F', lab.nodes.find((n) => n.node === node)!.pidFile],
  })
  const context = (revision: number, applyId: string, spec: typeof lab.spec) => ({ cluster: 'campus', revision, applyId, spec, checkLock: async () => undefined })
  t.equal(await hook.run(context(2, 'hook-1', lab.spec)), 'stwlogin-1: up to date; stwlogin-2: up to date; stwlogin-3: up to date')
  t.equal(await hook.commit!(context(2, 'hook-1', lab.spec)), 'stwlogin-1: up to date; stwlogin-2: up to date; stwlogin-3: up to date; pool lab: up to date')
  const changed = structuredClone(lab.spec)
  changed.sessions!.ssh!.maxPerUser = 3
  changed.users.push({ name: 'newcomer', uid: 200199 })
  // An apply that fails before its commit: every node staged, then put back.
  const before = lab.nodes.map((n) => readFileSync(join(n.paths.limitsDir, '90-hpc-steward-logins.conf'), 'utf8'))
  t.match(await hook.run(context(3, 'hook-2', changed)), /stwlogin-1: staged .*; stwlogin-2: staged .*; stwlogin-3: staged .*/)
  t.match(await hook.rollback!(context(3, 'hook-2', changed)), /put back the previous files on stwlogin-1, stwlogin-2, stwlogin-3/)
  t.same(lab.nodes.map((n) => readFileSync(join(n.paths.limitsDir, '90-hpc-steward-logins.conf'), 'utf8')), before, 'a rolled-back apply leaves the old files on every node')
  // The same change applied: staged on every node, then final at the commit.
  await hook.run(context(4, 'hook-3', changed))
  const out = await hook.commit!(context(4, 'hook-3', changed))
  t.match(out, /stwlogin-1: installed .*90-hpc-steward-logins\.conf; stwlogin-2: installed .*; stwlogin-3: installed .*; pool lab: up to date/)
  for (const n of lab.nodes) t.match(readFileSync(join(n.paths.limitsDir, '90-hpc-steward-logins.conf'), 'utf8'), /\*\thard\tmaxlogins\t3/)
  await new Promise((r) => setTimeout(r, 500))
  const login = await lab.ssh('sl_carol', '127.0.0.92', 'echo "landed=$STEWARD_NODE"')
  t.match(login.stdout, /landed=stwlogin-/, 'sshd answers after the reload')
  session.send('echo "still=$STEWARD_NODE"')
  await session.waitFor(/still=stwlogin-3/)
  await session.close()
})

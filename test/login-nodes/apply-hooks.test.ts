/**
 * The login-node apply hook's rollback puts every staged node's files back first and lets
 * its connections go after: a connection closed before the files are restored would leave
 * the nodes on the failed apply's files (rollback is best effort and says nothing). The
 * nodes here are directories of this machine behind the local executor, each reachable
 * only while the hook's access is open (as over SSH); `sshd -t` is answered by the node
 * (the real sshd check is in test/integration/login-pool.test.ts).
 */
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { createLocalExecutor, type Executor } from '../../src/adapters/executor.js'
import { loginNodesHook } from '../../src/login-nodes/apply-hooks.js'
import type { DesiredPool, PoolBalancer } from '../../src/login-nodes/model.js'
import { LIMITS_FILE, type LoginNodePaths } from '../../src/login-nodes/session-limits.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = () => parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('rollback restores every node\'s files, then closes the connections', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'steward-login-hook-'))
  const spec = campus()
  spec.loginNodes = { pools: [{ name: 'main', nodes: 'login-[1-2]', drainGraceMinutes: 10, balancer: { type: 'haproxy', listen: '127.0.0.1:2222', runtimeSocket: join(base, 'haproxy.sock') } }] } as ClusterSpec['loginNodes']
  spec.sessions = { ssh: { maxPerUser: 2 } }
  const pathsOf = (node: string): LoginNodePaths => {
    const dir = join(base, node)
    return {
      limitsDir: join(dir, 'limits.d'), sshdDropInDir: join(dir, 'sshd_config.d'), profileDir: join(dir, 'profile.d'),
      pamSshd: join(dir, 'pam-sshd'), hostKeyDir: join(dir, 'ssh'), sshdConfig: join(dir, 'sshd_config'),
    }
  }
  const before = new Map<string, string>()
  for (const node of ['login-1', 'login-2']) {
    const p = pathsOf(node)
    for (const d of [p.limitsDir, p.sshdDropInDir, p.profileDir, p.hostKeyDir]) mkdirSync(d, { recursive: true })
    writeFileSync(p.pamSshd, 'session required pam_limits.so\n')
    writeFileSync(join(p.limitsDir, LIMITS_FILE), `* hard maxlogins 9 # ${node} before the apply\n`)
    before.set(node, readFileSync(join(p.limitsDir, LIMITS_FILE), 'utf8'))
  }
  const events: string[] = []
  let open = false
  const local = createLocalExecutor()
  /** A node reachable only while the access is open; `sshd -t` answered by the node. */
  const nodeExecutor = (_pool: DesiredPool, node: string): Executor => {
    const reach = <A extends unknown[], R>(what: string, fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
      if (!open) throw new Error(`${node}: connection closed (${what})`)
      return fn(...a)
    }
    return {
      target: `test://${node}`,
      run: reach('run', async (argv: readonly string[]) => {
        if (argv[1] === '-t' && argv[0]?.endsWith('sshd')) return { argv, code: 0, stdout: '', stderr: '' }
        return local.run(argv)
      }),
      readFile: reach('readFile', (path: string) => local.readFile(path)),
      writeFileAtomic: reach('writeFileAtomic', async (path: string, content: string, mode?: number) => {
        await local.writeFileAtomic(path, content, mode)
        if (path.endsWith(LIMITS_FILE)) events.push(`restored ${node}`)
      }),
      rename: reach('rename', async (from: string, to: string) => {
        await local.rename!(from, to)
        if (to.endsWith(LIMITS_FILE)) events.push(`${readFileSync(to, 'utf8') === before.get(node) ? 'restored' : 'staged'} ${node}`)
      }),
      remove: reach('remove', (paths: readonly string[]) => local.remove!(paths)),
    }
  }
  const balancer = {} as PoolBalancer
  const hook = loginNodesHook({
    hostKeyDir: join(base, 'keys'),
    pathsFor: (_pool, node) => pathsOf(node),
    reloadSshd: () => ['true'],
    access: () => {
      open = true
      events.push('opened')
      return { nodeExecutor, balancerFor: () => balancer, close: async () => { open = false; events.push('closed') } }
    },
  })
  const context = { cluster: 'campus', revision: 2, applyId: 'apply_1', spec, checkLock: async () => undefined }
  t.match(await hook.run(context), /login-1: staged .*90-hpc-steward-logins\.conf.*; login-2: staged/)
  for (const node of ['login-1', 'login-2']) {
    t.match(readFileSync(join(pathsOf(node).limitsDir, LIMITS_FILE), 'utf8'), /hard\tmaxlogins\t2/, `${node}: the apply's file is staged`)
    t.ok(readdirSync(pathsOf(node).hostKeyDir).length > 0, `${node}: the pool's host key is staged`)
  }
  t.equal(await hook.rollback!(context), 'put back the previous files on login-1, login-2')
  for (const node of ['login-1', 'login-2']) {
    t.equal(readFileSync(join(pathsOf(node).limitsDir, LIMITS_FILE), 'utf8'), before.get(node), `${node}: the previous file is back`)
    t.same(readdirSync(pathsOf(node).hostKeyDir), [], `${node}: the staged host key is gone`)
  }
  t.same(events.filter((e) => !e.startsWith('staged')), ['opened', 'restored login-2', 'restored login-1', 'closed'], 'the connections are closed after the files are back')
  t.notOk(open)
  t.equal(await hook.rollback!(context), 'nothing staged', 'a second rollback has nothing left')
})

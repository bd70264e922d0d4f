/**
 * HAProxy as a login pool's balancer: the configuration file (rendered elsewhere, checked
 * with `haproxy -c` before it replaces the old one) and the runtime API socket, which
 * reads server states and sets `drain`, `ready` and `maint` without a reload.
 */
import { connect } from 'node:net'
import { randomBytes } from 'node:crypto'
import { basename, dirname, posix } from 'node:path'
import type { Executor } from './executor.js'
import {
  BalancerError, targetLabel, type BalancerState, type DesiredMember, type DesiredPool, type Health, type LiveMember, type PoolBalancer, type PoolPlan,
} from '../login-nodes/model.js'
import { haproxyNames, serverStateFile } from '../login-nodes/haproxy-config.js'

/** A runtime API: one command in, HAProxy's answer out. */
export interface HaproxyRuntime {
  command(line: string): Promise<string>
}

// Names reach the runtime API as words of a command line: allowlisted, never quoted.
const WORD = /^[\w.:-]{1,253}$/

/** The runtime API on a local unix socket (`stats socket PATH level admin`). */
export function unixSocketRuntime(path: string, timeoutMs = 5000): HaproxyRuntime {
  return {
    command(line) {
      if (/[\n;]/.test(line)) return Promise.reject(new BalancerError(`refusing runtime command ${JSON.stringify(line)}`))
      return new Promise((resolve, reject) => {
        const chunks: Buffer[] = []
        const socket = connect(path)
        socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)))
        socket.on('connect', () => socket.end(`${line}\n`))
        socket.on('data', (c: Buffer) => chunks.push(c))
        socket.on('error', (err: NodeJS.ErrnoException) => reject(new BalancerError(
          `cannot reach HAProxy's runtime socket ${path} (${err.code ?? err.message}): is HAProxy running with "stats socket ${path} level admin"?`, { cause: err })))
        socket.on('close', (hadError) => { if (!hadError) resolve(Buffer.concat(chunks).toString('utf8')) })
      })
    },
  }
}

/**
 * Reload through the master CLI of a master-worker HAProxy (`haproxy -W -S PATH`): the new
 * worker takes new connections; the old one keeps its established sessions until they end.
 * Resolves once the runtime API answers again.
 */
export function masterCliReload(masterSocket: string, runtime: HaproxyRuntime): () => Promise<void> {
  return async () => {
    await unixSocketRuntime(masterSocket).command('reload')
    for (let attempt = 0; attempt < 50; attempt++) {
      await new Promise((r) => setTimeout(r, 100))
      if (await runtime.command('show info').then((a) => a.includes('Pid:'), () => false)) return
    }
    throw new BalancerError(`HAProxy did not come back after a reload through ${masterSocket}`)
  }
}

export interface HaproxyHost {
  /** Where the configuration lives and `haproxy -c` runs (the balancer host). */
  executor: Executor
  configPath: string
  runtime: HaproxyRuntime
  /** Renders the pool's whole configuration, with members kept while they drain. */
  render(pool: DesiredPool, leaving: DesiredMember[]): string
  /** Makes HAProxy load the new configuration (master CLI `reload`, `systemctl reload`, ...). */
  reload(): Promise<void>
  /** The haproxy binary (default `haproxy`). */
  haproxyBin?: string
}

const ADMIN_MAINT = 0x01 | 0x02 | 0x04 | 0x20
const ADMIN_DRAIN = 0x08 | 0x10

/** Parses `show servers state BACKEND`: one record per server, keyed by header name. */
export function parseServersState(text: string): Array<Record<string, string>> {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const header = lines.find((l) => l.startsWith('# '))?.slice(2).trim().split(/\s+/)
  if (!header) throw new BalancerError(`unexpected answer to "show servers state": ${text.slice(0, 200)}`)
  return lines.filter((l) => !l.startsWith('#') && /^\d+ /.test(l)).map((l) => {
    const fields = l.trim().split(/\s+/)
    return Object.fromEntries(header.map((h, i) => [h, fields[i] ?? '']))
  })
}

/** Parses `show stat` CSV into records keyed by column name. */
export function parseStat(text: string): Array<Record<string, string>> {
  const lines = text.split('\n').filter((l) => l.trim() !== '')
  const header = lines[0]?.replace(/^# /, '').split(',')
  if (!header || !header.includes('pxname')) throw new BalancerError(`unexpected answer to "show stat": ${text.slice(0, 200)}`)
  return lines.slice(1).map((l) => {
    const fields = l.split(',')
    return Object.fromEntries(header.map((h, i) => [h, fields[i] ?? '']))
  })
}

function stateOf(adminState: number): BalancerState {
  if (adminState & ADMIN_MAINT) return 'maint'
  if (adminState & ADMIN_DRAIN) return 'drain'
  return 'ready'
}

function healthOf(opState: string, state: BalancerState): Health {
  if (state === 'maint') return 'unknown'
  switch (opState) {
    case '2': return 'healthy'
    case '0': return 'unhealthy'
    default: return 'initial'
  }
}

/** The HAProxy balancer of one pool. */
export function createHaproxyBalancer(host: HaproxyHost): PoolBalancer {
  const bin = host.haproxyBin ?? 'haproxy'

  async function runtime(line: string): Promise<string> {
    const answer = await host.runtime.command(line)
    // Errors come back as text; the commands used here answer nothing (or a notice) on success.
    if (/^(?:Unknown command|No such (?:server|backend|table)|Require|Invalid|Can't|'set server'.*(?:expects|requires))/im.test(answer)) {
      throw new BalancerError(`HAProxy refused "${line}": ${answer.trim()}`)
    }
    return answer
  }

  function serverRef(pool: DesiredPool, member: { node: string | undefined }): string {
    const { backend } = haproxyNames(pool.name)
    if (!member.node || !WORD.test(member.node)) throw new BalancerError(`cannot name server ${String(member.node)} on the runtime API`)
    return `${backend}/${member.node}`
  }

  async function members(pool: DesiredPool): Promise<LiveMember[]> {
    const { backend } = haproxyNames(pool.name)
    const states = parseServersState(await runtime(`show servers state ${backend}`))
    const stats = parseStat(await runtime('show stat'))
    const known = new Map(pool.members.map((m) => [m.node, m]))
    return states.map((s) => {
      const stat = stats.find((r) => r.pxname === backend && r.svname === s.srv_name)
      const state = stateOf(Number(s.srv_admin_state))
      const member = known.get(s.srv_name ?? '')
      return {
        node: s.srv_name,
        target: member?.target ?? { id: s.srv_addr ?? '', port: Number(s.srv_port) },
        state,
        health: healthOf(s.srv_op_state ?? '', state),
        connections: stat ? Number(stat.scur) : undefined,
      }
    })
  }

  async function setState(pool: DesiredPool, member: { node: string | undefined }, state: BalancerState): Promise<void> {
    await runtime(`set server ${serverRef(pool, member)} state ${state}`)
  }

  async function installConfig(content: string): Promise<boolean> {
    if ((await host.executor.readFile(host.configPath)) === content) return false
    const staged = posix.join(dirname(host.configPath), `.${basename(host.configPath)}.${randomBytes(6).toString('hex')}.new`)
    await host.executor.writeFileAtomic(staged, content, 0o640)
    try {
      const check = await host.executor.run([bin, '-c', '-q', '-f', staged])
      if (check.code !== 0) throw new BalancerError(`haproxy -c refused the new configuration: ${(check.stderr || check.stdout).trim()}`)
      const moved = await host.executor.run(['mv', '-f', '--', staged, host.configPath])
      if (moved.code !== 0) throw new BalancerError(`cannot install ${host.configPath}: ${moved.stderr.trim()}`)
      return true
    } finally {
      await host.executor.run(['rm', '-f', '--', staged]).catch(() => undefined)
    }
  }

  return {
    kind: 'haproxy',
    members,
    async settings(pool) {
      const live = await members(pool)
      const wanted = new Set(pool.members.map((m) => targetLabel(m.target)))
      const leaving = live.filter((m) => !wanted.has(targetLabel(m.target))).map((m) => ({ node: m.node ?? '', target: m.target }))
      return (await host.executor.readFile(host.configPath)) === host.render(pool, leaving) ? [] : [`${host.configPath} differs from the spec`]
    },
    async apply(pool, plan: PoolPlan) {
      if (pool.balancer.type !== 'haproxy') throw new BalancerError(`pool ${pool.name} is not an HAProxy pool`)
      // Read first: an HAProxy that is not running fails here, before anything changes.
      const live = await members(pool)
      const leavingOps = new Set(plan.operations.filter((o) => o.op === 'drain').map((o) => targetLabel(o.target)))
      const gone = new Set(plan.operations.filter((o) => o.op === 'deregister').map((o) => targetLabel(o.target)))
      const wanted = new Set(pool.members.map((m) => targetLabel(m.target)))
      const leaving = live
        .filter((m) => !wanted.has(targetLabel(m.target)) && !gone.has(targetLabel(m.target)))
        .map((m) => ({ node: m.node ?? '', target: m.target }))
      for (const m of live) if (leavingOps.has(targetLabel(m.target))) await setState(pool, m, 'drain')
      const changed = await installConfig(host.render(pool, leaving))
      if (!changed) return
      // The new process loads the current states (drain, maint) from the state file.
      const states = await runtime('show servers state')
      await host.executor.writeFileAtomic(serverStateFile(pool.balancer), states, 0o600)
      await host.reload()
    },
    async drain(pool, member) {
      await setState(pool, member, 'drain')
      // HAProxy still sends a drained server the clients stuck to it; forget those entries.
      const { backend } = haproxyNames(pool.name)
      const id = parseServersState(await runtime(`show servers state ${backend}`)).find((s) => s.srv_name === member.node)?.srv_id
      if (id && /^\d+$/.test(id)) await runtime(`clear table ${backend} data.server_id eq ${id}`)
    },
    async ready(pool, member) {
      await setState(pool, member, 'ready')
    },
    async expire(pool, member) {
      await setState(pool, member, 'maint')
      await runtime(`shutdown sessions server ${serverRef(pool, member)}`)
    },
  }
}

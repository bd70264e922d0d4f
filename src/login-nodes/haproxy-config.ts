/**
 * The HAProxy configuration of one login pool (TCP mode, `balance leastconn`, `stick on
 * src`, `check` on each node's SSH port), rendered from the desired pool. Pure.
 */
import type { ClusterSpec } from '../spec/schema.js'
import type { HaproxyBalancer } from '../spec/login-schema.js'
import { renderTemplate } from '../slurm/render.js'
import { loginFileHeader, type DesiredMember, type DesiredPool } from './model.js'

/** Names HAProxy uses for a pool's frontend and backend. */
export function haproxyNames(pool: string): { frontend: string; backend: string } {
  return { frontend: `login_${pool}_in`, backend: `login_${pool}` }
}

/** The file HAProxy keeps server states in across reloads, beside the runtime socket. */
export function serverStateFile(balancer: HaproxyBalancer): string {
  return `${balancer.runtimeSocket}.state`
}

export interface HaproxyRenderInput {
  spec: ClusterSpec
  pool: DesiredPool
  /** Members kept while they drain after leaving the spec (deregistered once empty). */
  leaving?: DesiredMember[]
  /** Idle timeout of client and server side; default 24h (SSH sessions are long). */
  idleTimeout?: string
}

/** The whole configuration file of the pool's HAProxy. */
export function renderHaproxyConfig(input: HaproxyRenderInput): string {
  const { pool } = input
  if (pool.balancer.type !== 'haproxy') throw new TypeError(`pool ${pool.name} is not an HAProxy pool`)
  const members = [...pool.members, ...(input.leaving ?? [])]
  return renderTemplate('haproxy-login.cfg', {
    header: loginFileHeader(input.spec),
    pool: pool.name,
    ...haproxyNames(pool.name),
    listen: pool.balancer.listen,
    runtimeSocket: pool.balancer.runtimeSocket,
    stateFile: serverStateFile(pool.balancer),
    maxconn: 4096,
    idleTimeout: input.idleTimeout ?? '24h',
    stickExpire: '12h',
    servers: members.map((m) => ({ name: m.node, address: `${m.target.id}:${m.target.port}`, checkPort: m.target.port })),
  })
}

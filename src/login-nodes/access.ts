/**
 * How the service reaches a cluster's login pools: HAProxy on this host (its configuration
 * under `haproxyDir`, its runtime socket from the spec, reloads through the master CLI at
 * `<runtimeSocket>.master`), NLB target groups through ELBv2, and each login node over SSH
 * as an admin user with a key (for `who` and `wall`).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2'
import { createLocalExecutor, type Executor } from '../adapters/executor.js'
import { checkHostKey, createSshExecutor, publicKeyFingerprint, type SshExecutor } from '../adapters/ssh-executor.js'
import { createHaproxyBalancer, masterCliReload, unixSocketRuntime } from '../adapters/haproxy.js'
import { createNlbBalancer } from '../adapters/aws/elbv2.js'
import type { ClusterSpec } from '../spec/schema.js'
import { isName } from '../spec/names.js'
import { HOST_KEY_NAME } from './host-keys.js'
import { renderHaproxyConfig } from './haproxy-config.js'
import type { LoginNodeDeps } from './drain.js'
import type { DesiredPool, PoolBalancer } from './model.js'

export interface LoginAccessOptions {
  /** The spec whose pools are reached (HAProxy renders from it). */
  spec: ClusterSpec
  /** SSH user and private key for the login nodes. */
  nodeUser: string
  identity: string
  /**
   * The host key fingerprints a login node may present (`loginHostKeys`): its own, pinned
   * by the admin, and its pool's shared key once the service installed it. A node with
   * none is refused before any command runs.
   */
  hostKeys: (pool: DesiredPool, node: string) => readonly string[]
  /** Where each pool's HAProxy configuration lives: `<haproxyDir>/haproxy-<pool>.cfg`. */
  haproxyDir?: string
  elbv2?: ElasticLoadBalancingV2Client
}

/** The deps of drain/ready/status for a spec's pools; `close` ends the SSH sessions. */
export function createLoginAccess(options: LoginAccessOptions): LoginNodeDeps & { close(): Promise<void> } {
  const ssh = new Map<string, SshExecutor>()
  const balancers = new Map<string, PoolBalancer>()
  const local: Executor = createLocalExecutor()
  return {
    balancerFor(pool: DesiredPool) {
      let balancer = balancers.get(pool.name)
      if (!balancer) {
        const b = pool.balancer
        if (b.type === 'nlb') {
          balancer = createNlbBalancer(options.elbv2)
        } else {
          const runtime = unixSocketRuntime(b.runtimeSocket)
          balancer = createHaproxyBalancer({
            executor: local,
            configPath: `${options.haproxyDir ?? '/etc/haproxy'}/haproxy-${pool.name}.cfg`,
            runtime,
            render: (p, leaving) => renderHaproxyConfig({ spec: options.spec, pool: p, leaving }),
            reload: masterCliReload(`${b.runtimeSocket}.master`, runtime),
          })
        }
        balancers.set(pool.name, balancer)
      }
      return balancer
    },
    nodeExecutor(pool, node) {
      let executor = ssh.get(node)
      if (!executor) {
        const member = pool.members.find((m) => m.node === node)
        // An instance id is no address: reach the node by its name then.
        const host = member && /^[0-9.]+$/.test(member.target.id) ? member.target.id : node
        const port = member && pool.balancer.type === 'haproxy' ? member.target.port : pool.sshPort
        executor = createSshExecutor({ host, port, username: options.nodeUser, privateKeyPath: options.identity, hostKey: options.hostKeys(pool, node), readyTimeoutSeconds: 10 })
        ssh.set(node, executor)
      }
      return executor
    },
    async close() {
      for (const e of ssh.values()) await e.close()
    },
  }
}

/**
 * The host keys of login nodes: `pinned` (node name to fingerprint, set by the admin for
 * nodes that do not carry the pool's key yet) and, when `poolKeyDir` holds the pool's
 * shared key (`host-keys.ts`, made by the service), that key's fingerprint.
 */
export function loginHostKeys(options: { cluster: string; pinned?: Readonly<Record<string, string>>; poolKeyDir?: string }): (pool: DesiredPool, node: string) => readonly string[] {
  return (pool, node) => {
    const keys: string[] = []
    const own = options.pinned?.[node]
    if (own !== undefined) keys.push(checkHostKey(own))
    if (options.poolKeyDir && isName(options.cluster) && isName(pool.name)) {
      const pub = join(options.poolKeyDir, options.cluster, pool.name, `${HOST_KEY_NAME}.pub`)
      if (existsSync(pub)) keys.push(publicKeyFingerprint(readFileSync(pub, 'utf8')))
    }
    return keys
  }
}

/**
 * Login nodes of a cluster (admin only): status of every pool member, drain (no new
 * sessions at once, a wall notice to the users logged in, sessions kept for the grace
 * period, then ended) and ready. Pools come from the applied revision (the newest when
 * none was applied yet). A drain's grace period survives a restart: its deadline is in the
 * audit log, and the routes resume the wait when the service is ready.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Name, HostName } from '../../spec/names.js'
import { requireAdmin } from '../../auth/policy.js'
import type { Store } from '../../store/types.js'
import type { ClusterSpec } from '../../spec/schema.js'
import { desiredPools } from '../../login-nodes/model.js'
import { drainNode, finishDrain, loginNodeStatus, readyNode, type LoginNodeDeps } from '../../login-nodes/drain.js'
import { actorOf, principalOf } from '../auth.js'
import { ClusterParams, errorResponses } from '../schemas.js'

/** Gives the deps to reach a cluster's pools (from its spec); `close` lets go of connections. */
export type LoginAccessFactory = (cluster: string, spec: ClusterSpec) => LoginNodeDeps & { close(): Promise<void> }

const NodeParams = Type.Object({ cluster: Name, node: HostName }, { additionalProperties: false })
const MemberStatus = Type.Object({
  pool: Type.String(), node: Type.String(), target: Type.String(),
  state: Type.Union([Type.Literal('ready'), Type.Literal('drain'), Type.Literal('maint'), Type.Literal('absent')]),
  health: Type.String(), sessions: Type.Union([Type.Integer(), Type.Null()]), connections: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Optional(Type.String()),
})
const DrainBody = Type.Object({
  graceMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 1440, description: 'minutes the sessions may go on (default: the pool\'s drainGraceMinutes)' })),
}, { additionalProperties: false })

export function loginNodeRoutes(deps: { store: Store; access: LoginAccessFactory; log?: (message: string, err?: unknown) => void }): FastifyPluginAsyncTypebox {
  const { store, access } = deps

  const drains = drainWaits()
  async function specOf(cluster: string): Promise<ClusterSpec> {
    const record = await store.getCluster(cluster)
    return (await store.getRevision(cluster, record.appliedRevision ?? record.latestRevision)).spec
  }

  async function withAccess<T>(cluster: string, body: (pools: ReturnType<typeof desiredPools>, d: LoginNodeDeps) => Promise<T>, keep = false): Promise<T> {
    const spec = await specOf(cluster)
    const d = access(cluster, spec)
    try {
      return await body(desiredPools(spec), d)
    } finally {
      if (!keep) await d.close()
    }
  }

  /**
   * Waits out a drain in the background. One wait per node: a new drain or a `ready` ends
   * the previous one before it can cut sessions.
   */
  function wait(cluster: string, pools: ReturnType<typeof desiredPools>, node: string, deadline: Date, d: LoginNodeDeps & { close(): Promise<void> }): void {
    const signal = drains.begin(cluster, node)
    void finishDrain(pools, node, deadline, d, { background: true, signal })
      .catch((err: unknown) => deps.log?.(`finishing the drain of ${node} failed`, err))
      .finally(() => {
        drains.end(cluster, node, signal)
        return d.close()
      })
  }

  /**
   * After a restart: the drains whose latest audited change is the drain itself (no
   * `ready` since) are waited out again with their audited deadline, however long the
   * service was down (a deadline long past ends the drain at once). The audit is read
   * newest first only until every member of the cluster's pools has its latest entry, so
   * a long history is not read through; a cluster with no login-node entry costs one query. `finishDrain` first asks the balancer, so a node
   * an admin took back by hand is left alone.
   */
  async function resumeDrains(): Promise<number> {
    let resumed = 0
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await store.listClusters({ limit: 100, cursor })
      cursor = page.nextCursor ?? undefined
      for (const c of page.items) {
        const resource = `clusters/${c.name}/login-nodes/`
        let audit = await store.listAudit({ cluster: c.name, resource }, { limit: 500 })
        // A cluster whose login nodes were never changed has nothing to resume: its spec is not read.
        if (audit.items.length === 0) continue
        const spec = await specOf(c.name)
        const pools = desiredPools(spec)
        const members = new Set(pools.flatMap((p) => p.members.map((m) => m.node)))
        const latest = new Map<string, { action: string; deadline?: unknown }>()
        for (;;) {
          // Newest first: the first entry of a node is its latest.
          for (const a of audit.items) {
            const node = a.resource.slice(resource.length)
            if (members.has(node) && !latest.has(node)) latest.set(node, { action: a.action, deadline: (a.change as { deadline?: unknown } | null)?.deadline })
          }
          if (!audit.nextCursor || latest.size === members.size) break
          audit = await store.listAudit({ cluster: c.name, resource }, { limit: 500, cursor: audit.nextCursor })
        }
        for (const [node, e] of latest) {
          if (e.action !== 'login-node.drain' || typeof e.deadline !== 'string' || Number.isNaN(Date.parse(e.deadline))) continue
          wait(c.name, pools, node, new Date(e.deadline), access(c.name, spec))
          resumed += 1
        }
      }
    }
    return resumed
  }

  return async (app) => {
    // Not awaited: the service serves while it looks; a failure is logged, not fatal.
    app.addHook('onReady', async () => {
      void resumeDrains()
        .then((n) => { if (n > 0) app.log.info({ drains: n }, 'login-node drains resumed after a restart') })
        .catch((err: unknown) => deps.log?.('resuming login-node drains failed', err))
    })
    app.addHook('onClose', async () => drains.cancelAll())

    app.get('/clusters/:cluster/login-nodes', {
      schema: { summary: 'Every login pool member with its balancer state, health and session count (admin)', params: ClusterParams, response: { 200: Type.Object({ items: Type.Array(MemberStatus) }), ...errorResponses } },
    }, async (request) => {
      requireAdmin(principalOf(request), 'read login nodes')
      return { items: await withAccess(request.params.cluster, (pools, d) => loginNodeStatus(pools, d)) }
    })

    app.post('/clusters/:cluster/login-nodes/:node/drain', {
      schema: {
        summary: 'Drain a login node: no new sessions now, a wall notice to its users, sessions ended when the grace period runs out (admin)',
        params: NodeParams, body: DrainBody,
        response: { 200: Type.Object({ pool: Type.String(), node: Type.String(), deadline: Type.String(), sessions: Type.Integer() }), ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'drain login nodes')
      const { cluster, node } = request.params
      const spec = await specOf(cluster)
      const pools = desiredPools(spec)
      const d = access(cluster, spec)
      let result
      try {
        result = await drainNode(pools, node, request.body?.graceMinutes, d)
      } catch (err) {
        await d.close()
        throw err
      }
      const { actor, source } = actorOf(request)
      await store.appendAudit({ actor, source, cluster, action: 'login-node.drain', resource: `clusters/${cluster}/login-nodes/${node}`, change: { deadline: result.deadline, sessions: result.sessions } })
      // The grace period runs in this process; a restart resumes it from the audit log.
      wait(cluster, pools, node, new Date(result.deadline), d)
      return result
    })

    app.post('/clusters/:cluster/login-nodes/:node/ready', {
      schema: { summary: 'Take a drained login node back (admin)', params: NodeParams, response: { 200: Type.Object({ pool: Type.String(), node: Type.String() }), ...errorResponses } },
    }, async (request) => {
      requireAdmin(principalOf(request), 'ready login nodes')
      const { cluster, node } = request.params
      drains.cancel(cluster, node)
      const result = await withAccess(cluster, (pools, d) => readyNode(pools, node, d))
      const { actor, source } = actorOf(request)
      await store.appendAudit({ actor, source, cluster, action: 'login-node.ready', resource: `clusters/${cluster}/login-nodes/${node}`, change: {} })
      return result
    })
  }
}

/** The background wait of each draining node, so that a new drain or a `ready` ends the old one. */
function drainWaits() {
  const waits = new Map<string, AbortController>()
  const key = (cluster: string, node: string): string => `${cluster}/${node}`
  return {
    /** Ends the node's previous wait, if any, and starts a new one. */
    begin(cluster: string, node: string): AbortSignal {
      waits.get(key(cluster, node))?.abort()
      const controller = new AbortController()
      waits.set(key(cluster, node), controller)
      return controller.signal
    },
    cancel(cluster: string, node: string): void {
      waits.get(key(cluster, node))?.abort()
      waits.delete(key(cluster, node))
    },
    /** Ends every wait (the service stops; a restart resumes them from the audit log). */
    cancelAll(): void {
      for (const controller of waits.values()) controller.abort()
      waits.clear()
    },
    /** Forgets a finished wait (unless a newer one replaced it). */
    end(cluster: string, node: string, signal: AbortSignal): void {
      if (waits.get(key(cluster, node))?.signal === signal) waits.delete(key(cluster, node))
    },
  }
}

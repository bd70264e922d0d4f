/**
 * Live cluster state and the researcher's view: GPUs free now, node reliability, and
 * `GET /v1/me`. Every answer is cut to what the token may see (src/auth/policy.ts): a
 * department admin or researcher sees their departments' partitions and the node groups
 * behind them, never another tenant's.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import { Name } from '../../spec/names.js'
import { canSeeCluster, visibleNodeGroups, visiblePartitions, type Principal } from '../../auth/policy.js'
import { StoreNotFoundError, noSuchCluster, type Store } from '../../store/types.js'
import type { ClusterSpec } from '../../spec/schema.js'
import type { ClusterStateService, GpuState } from '../../cluster-state/read.js'
import { displayedCluster } from '../../store/cluster-reads.js'
import { principalScope, sendJsonText } from '../read-cache.js'
import { ReliabilityWindowError, reliabilityReport, reliabilityWindow, withLiveUnhealthy } from '../../cluster-state/reliability.js'
import { whoAmI, withUsage, type UsageProvider } from '../../me/me.js'
import { principalOf } from '../auth.js'
import { HttpError } from '../errors.js'
import { ClusterParams, errorResponses } from '../schemas.js'

const Count3 = Type.Object({ total: Type.Integer(), allocated: Type.Integer(), free: Type.Integer() })
const States = Type.Object({ idle: Type.Integer(), mixed: Type.Integer(), allocated: Type.Integer(), drained: Type.Integer(), down: Type.Integer(), other: Type.Integer() })
export const GpusResponse = Type.Object({
  cluster: Type.String(),
  readAt: Type.String({ description: 'when Slurm was read' }),
  cacheSeconds: Type.Number({ description: 'reads are reused for this long' }),
  gpus: Type.Array(Type.Object({
    partition: Type.String(), type: Type.String(), total: Type.Integer(), allocated: Type.Integer(), free: Type.Integer(),
    unavailable: Type.Integer({ description: 'GPUs on drained or down nodes' }), shards: Count3, mps: Count3, nodes: States,
  })),
  partitions: Type.Array(Type.Object({ partition: Type.String(), nodes: States })),
})
export type GpusResponse = Static<typeof GpusResponse>

const NullableNumber = Type.Union([Type.Number(), Type.Null()])
export const ReliabilityQuery = Type.Object({
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, default: 30, description: 'the window: the last N days' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'the window starts here instead (ISO 8601)' })),
  nodes: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'size of a job, for its expected time between failures' })),
  checkpointSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, default: 300, description: 'what one checkpoint costs the job' })),
}, { additionalProperties: false })
export const ReliabilityResponse = Type.Object({
  cluster: Type.String(),
  window: Type.Object({ from: Type.String(), to: Type.String(), hours: Type.Number() }),
  rule: Type.String(),
  groups: Type.Array(Type.Object({
    group: Type.String(), nodes: Type.Integer(), failures: Type.Integer(), planned: Type.Integer(), inServiceNodeHours: Type.Number(),
    failureRatePerNodeHour: Type.Number(), mtbfHours: NullableNumber, mttrHours: NullableNumber,
    unhealthy: Type.Array(Type.Object({ node: Type.String(), state: Type.String(), reason: Type.String(), since: Type.String(), kind: Type.String() })),
    job: Type.Optional(Type.Object({ nodes: Type.Integer(), checkpointCostSeconds: Type.Integer(), meanHoursBetweenFailures: NullableNumber, youngIntervalHours: NullableNumber, dalyIntervalHours: NullableNumber })),
  })),
})
export type ReliabilityResponse = Static<typeof ReliabilityResponse>

export const MeResponse = Type.Object({
  cluster: Type.String(), role: Type.String(), departments: Type.Array(Type.String()),
  user: Type.Union([Type.Object({ name: Type.String(), uid: Type.Integer(), email: Type.Union([Type.String(), Type.Null()]), home: Type.String() }), Type.Null()]),
  accounts: Type.Array(Type.Object({ name: Type.String(), department: Type.String(), default: Type.Boolean() })),
  qos: Type.Array(Type.Object({ name: Type.String(), limits: Type.Array(Type.String()) })),
  partitions: Type.Array(Type.Object({ name: Type.String(), maxTime: Type.Union([Type.String(), Type.Null()]), shared: Type.Boolean() })),
  login: Type.Object({
    pools: Type.Array(Type.Object({ name: Type.String(), address: Type.String(), port: Type.Integer(), how: Type.String() })),
    sessionManager: Type.Union([Type.Object({ runAs: Type.String(), maxDurationMinutes: Type.Union([Type.Integer(), Type.Null()]) }), Type.Null()]),
  }),
  usage: Type.Object({ available: Type.Boolean() }, { additionalProperties: true, description: 'usage and budgets (issue 10) when a provider is registered' }),
})

/** Parsed specs by store and cluster, with their revision: revisions never change, so a hit is exact. */
const parsedSpecs = new WeakMap<Store, Map<string, { revision: number; spec: ClusterSpec }>>()

/**
 * The spec a cluster runs, with its number: its applied revision, else its newest. The
 * cluster record comes from the display cache when the store has one (src/store/cluster-reads.ts:
 * a write of this process is seen at once, one of another within its bound); the
 * revision's spec is decoded once per revision number.
 */
export async function runningRevision(store: Store, cluster: string): Promise<{ revision: number; spec: ClusterSpec }> {
  const record = await displayedCluster(store, cluster)
  const revision = record.appliedRevision ?? record.latestRevision
  let specs = parsedSpecs.get(store)
  if (!specs) parsedSpecs.set(store, specs = new Map())
  const hit = specs.get(cluster)
  if (hit?.revision === revision) return hit
  const running = { revision, spec: (await store.getRevision(cluster, revision)).spec }
  specs.set(cluster, running)
  return running
}

/** The spec a cluster runs: its applied revision, else its newest (see `runningRevision`). */
export async function runningSpec(store: Store, cluster: string): Promise<ClusterSpec> {
  return (await runningRevision(store, cluster)).spec
}

export interface ClusterStateDeps {
  store: Store
  state: ClusterStateService
  now?: () => Date
}

/** The GPUs one principal scope may see in one read, as an object and as JSON in UTF-8 (shared: never change it). */
export interface VisibleGpus {
  readonly response: GpusResponse
  readonly json: Buffer
}

/** Views per cluster-state read, by running revision and principal scope. */
const visibleGpusCache = new WeakMap<GpuState, Map<string, VisibleGpus>>()
const MAX_SCOPES_PER_READ = 512

/**
 * GPUs of `cluster` as `p` may see them, cut and serialized once per cluster-state read
 * (the service's cache, `cacheSeconds`), running revision and principal scope, not once
 * per request: the same object for every request that shares these three.
 */
export async function visibleGpus(deps: ClusterStateDeps, p: Principal, cluster: string): Promise<VisibleGpus> {
  const { revision, spec } = await runningRevision(deps.store, cluster)
  const state = await deps.state.gpus(cluster)
  let views = visibleGpusCache.get(state)
  if (!views) visibleGpusCache.set(state, views = new Map())
  const key = `${cluster}\u0000${revision}\u0000${principalScope(p)}`
  let view = views.get(key)
  if (!view) {
    const seen = visiblePartitions(p, spec)
    const response: GpusResponse = Object.freeze({
      cluster,
      readAt: state.readAt,
      cacheSeconds: state.cacheSeconds,
      gpus: state.gpus.filter((r) => seen.has(r.partition)),
      partitions: state.partitions.filter((r) => seen.has(r.partition)),
    })
    view = Object.freeze({ response, json: Buffer.from(JSON.stringify(response), 'utf8') })
    if (views.size >= MAX_SCOPES_PER_READ) views.delete(views.keys().next().value as string)
    views.set(key, view)
  }
  return view
}

/** GPUs of `cluster` as `p` may see them. */
export async function gpusFor(deps: ClusterStateDeps, p: Principal, cluster: string): Promise<GpusResponse> {
  return (await visibleGpus(deps, p, cluster)).response
}

/** Reliability of the node groups of `cluster` that `p` may see. */
export async function reliabilityFor(deps: ClusterStateDeps, p: Principal, cluster: string, query: Static<typeof ReliabilityQuery>): Promise<ReliabilityResponse> {
  const spec = await runningSpec(deps.store, cluster)
  const groups = visibleNodeGroups(p, spec)
  let window
  try {
    window = reliabilityWindow(query, deps.now?.() ?? new Date())
  } catch (err) {
    if (err instanceof ReliabilityWindowError) throw new HttpError(400, 'BadRequest', err.message)
    throw err
  }
  const seen = spec.nodeGroups.filter((g) => groups.has(g.name))
  const [events, live] = await Promise.all([deps.state.events(cluster, window.from, window.to), deps.state.nodes(cluster)])
  return { cluster, ...withLiveUnhealthy(reliabilityReport(seen, events, window.from, window.to, query), seen, live.nodes) }
}

export function clusterStateRoutes(deps: { store: Store; state?: ClusterStateService; usage?: UsageProvider; now?: () => Date }): FastifyPluginAsyncTypebox {
  const { store, state } = deps
  return async (app) => {
    if (state) {
      const d = { store, state, ...(deps.now ? { now: deps.now } : {}) }
      app.get('/clusters/:cluster/gpus', {
        schema: {
          summary: 'GPUs free now per partition and GPU type, with shards/MPS and the node states behind them (the partitions the token may see)',
          params: ClusterParams, response: { 200: GpusResponse, ...errorResponses },
        },
      }, async (request, reply) => sendJsonText(reply, (await visibleGpus(d, principalOf(request), request.params.cluster)).json))

      app.get('/clusters/:cluster/reliability', {
        schema: {
          summary: 'Node failures vs planned maintenance per node group from slurmdbd events: failure rate per node-hour, MTBF, MTTR, unhealthy nodes; with ?nodes=N the expected time between failures of an N-node job and its Young/Daly checkpoint interval',
          params: ClusterParams, querystring: ReliabilityQuery, response: { 200: ReliabilityResponse, ...errorResponses },
        },
      }, async (request) => reliabilityFor(d, principalOf(request), request.params.cluster, request.query))
    }

    app.get('/me', {
      schema: {
        summary: 'Who this token is on its cluster: POSIX name and uid, accounts (default marked), QoS limits in plain words, partitions, how to log in; admins give ?cluster=',
        querystring: Type.Object({ cluster: Type.Optional(Name) }, { additionalProperties: false }),
        response: { 200: MeResponse, ...errorResponses },
      },
    }, async (request) => {
      const p = principalOf(request)
      const cluster = request.query.cluster ?? p.cluster
      if (!cluster) throw new HttpError(400, 'BadRequest', 'an admin token is global: give ?cluster=NAME')
      if (!canSeeCluster(p, cluster)) throw new StoreNotFoundError(noSuchCluster(cluster))
      const spec = await runningSpec(store, cluster)
      return withUsage(whoAmI(p, spec), p, spec, deps.usage)
    })
  }
}

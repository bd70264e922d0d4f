/**
 * The dashboard's pages: overview (partitions, nodes by state, GPUs free, login nodes),
 * reliability, recent applies with their step logs, the audit log, and the researcher's
 * own page. Data comes from the API's own functions with the request's principal.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { canSeeCluster, isAdmin, requireAdmin } from '../auth/policy.js'
import { StoreNotFoundError, noSuchCluster } from '../store/types.js'
import { Name } from '../spec/names.js'
import { reliabilityFor, runningSpec, visibleGpus, type GpusResponse, type ReliabilityResponse, type VisibleGpus } from '../api/routes/cluster-state.js'
import { whoAmI, withUsage, USAGE_NOT_AVAILABLE } from '../me/me.js'
import { desiredPools } from '../login-nodes/model.js'
import { loginNodeStatus } from '../login-nodes/drain.js'
import { NODE_STATES } from '../cluster-state/gpus.js'
import { barChart, dayBars, stackedBar } from './plots.js'
import { usageView, type UsageView } from '../budgets/view.js'
import { monthWindow } from '../usage/read.js'
import { formatCents } from '../usage/chargeback.js'
import type { UiContext } from './plugin.js'
import type { Session } from './sessions.js'

const Params = Type.Object({ cluster: Name }, { additionalProperties: false })
const STATE_CLASSES = NODE_STATES.map((s) => ({ state: s, cls: `st-${s}` }))

function checkCluster(ui: UiContext, request: FastifyRequest, cluster: string): void {
  if (!canSeeCluster(ui.principal(request), cluster)) throw new StoreNotFoundError(noSuchCluster(cluster))
}

/** A live read that may fail: the page still loads and says why the panel is empty. */
async function panel<T>(read: () => Promise<T>): Promise<{ value?: T; error?: string }> {
  try {
    return { value: await read() }
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) }
  }
}

function gpuView(g: GpusResponse) {
  return {
    readAt: g.readAt,
    cacheSeconds: g.cacheSeconds,
    rows: g.gpus.map((r) => ({
      ...r,
      type: r.type || '(untyped)',
      hasShards: r.shards.total > 0,
      hasMps: r.mps.total > 0,
      bar: stackedBar(`${r.partition} ${r.type}`, [
        { value: r.allocated, cls: 'st-allocated', name: 'allocated' },
        { value: r.free, cls: 'st-idle', name: 'free' },
        { value: r.unavailable, cls: 'st-down', name: 'unavailable' },
      ]),
    })),
    partitions: g.partitions.map((p) => ({
      partition: p.partition,
      nodes: p.nodes,
      total: NODE_STATES.reduce((a, s) => a + p.nodes[s], 0),
      bar: stackedBar(p.partition, STATE_CLASSES.map(({ state, cls }) => ({ value: p.nodes[state], cls, name: state }))),
    })),
  }
}

function reliabilityView(r: ReliabilityResponse) {
  return {
    ...r,
    chart: barChart(r.groups.map((g) => ({ label: g.group, value: g.failureRatePerNodeHour, text: `${(g.failureRatePerNodeHour * 100).toFixed(3)} %/node-h` }))),
    groups: r.groups.map((g) => ({ ...g, ratePercent: (g.failureRatePerNodeHour * 100).toFixed(4) })),
  }
}

/** Per department: totals, cost per day of the month, and spend to date against the budget with its thresholds. */
export function usagePageView(v: UsageView) {
  const w = monthWindow(v.month)
  const days = Math.round((w.to - w.from) / 86_400)
  const dates = Array.from({ length: days }, (_, i) => new Date((w.from + i * 86_400) * 1000).toISOString().slice(0, 10))
  const names = [...new Set([...v.byDepartment.map((l) => l.key), ...v.budgets.map((b) => b.department)])].sort()
  return {
    ...v,
    departments: names.map((name) => {
      const line = v.byDepartment.find((l) => l.key === name)
      const perDay = dates.map((d) => v.daily.find((x) => x.day === d)?.lines.find((l) => l.key === name)?.costCents ?? 0)
      let sum = 0
      // Spend to date exists up to today: the days to come get no bar.
      const toDate = perDay.map((c, i) => (v.through !== null && (dates[i] as string) <= v.through ? (sum += c) : 0))
      const budget = v.budgets.find((b) => b.department === name)
      return {
        name,
        jobs: line?.jobs ?? 0, gpuHours: line?.gpuHours ?? 0, cpuHours: line?.cpuHours ?? 0, cost: line?.cost ?? '0.00',
        perDay: dayBars(perDay, perDay.map((c, i) => `${dates[i]}: ${formatCents(BigInt(c))} ${v.currency}`)),
        budget,
        burn: budget ? dayBars(toDate, toDate.map((c, i) => `${dates[i]}: ${formatCents(BigInt(c))} ${v.currency} spent to date`),
          [...budget.thresholds.filter((t) => t !== 100).map((t) => ({ value: (budget.budgetCents * t) / 100, label: `${t} %` })), { value: budget.budgetCents, label: `budget ${budget.budget}` }]) : null,
      }
    }),
  }
}

/**
 * The overview's rendered bytes, so that a reload pays only for its session, its token and
 * three cached reads: the body per GPU view (one per cluster-state read, running revision
 * and principal scope: `visibleGpus`), and the whole page per session and cluster with the
 * navigation and GPU view it was made from. A new read, revision, cluster list or scope
 * makes another key, so no page outlives what it shows. Pages with a live login-node panel
 * (admins, when login pools are configured) are not kept.
 */
function overviewPages() {
  const bodies = new WeakMap<VisibleGpus, string>()
  const pages = new WeakMap<Session, Map<string, { gpus: VisibleGpus; nav: string; page: Buffer }>>()
  return {
    body(gpus: VisibleGpus, make: () => string): string {
      let body = bodies.get(gpus)
      if (body === undefined) bodies.set(gpus, body = make())
      return body
    },
    /** The page of `session` for `cluster` when it was made from this view and navigation, else one made by `make` (and kept). */
    page(session: Session, cluster: string, gpus: VisibleGpus, nav: string, make: () => string): Buffer {
      let forSession = pages.get(session)
      if (!forSession) pages.set(session, forSession = new Map())
      const hit = forSession.get(cluster)
      if (hit && hit.gpus === gpus && hit.nav === nav) return hit.page
      // Kept encoded: a reload is sent as it is (no UTF-8 length scan or encoding per request).
      const page = Buffer.from(make(), 'utf8')
      // At most one page per cluster the session may see (the navigation lists at most 100).
      if (forSession.size >= 100) forSession.clear()
      forSession.set(cluster, { gpus, nav, page })
      return page
    },
  }
}

export function pageRoutes(ui: UiContext): FastifyPluginAsyncTypebox {
  const { renderer } = ui
  const overviews = overviewPages()
  const send = (reply: { type(t: string): { send(b: string | Buffer): unknown } }, body: string | Buffer) => reply.type('text/html; charset=utf-8').send(body)
  return async (app) => {
    app.get('/clusters/:cluster', { schema: { hide: true, params: Params } }, async (request, reply) => {
      const { cluster } = request.params
      checkCluster(ui, request, cluster)
      const p = ui.principal(request)
      const nav = await ui.nav(request, cluster)
      const state = ui.state
      const raw = state ? await panel(() => visibleGpus({ store: ui.store, state }, p, cluster)) : { error: 'live cluster reads are not configured on this server' }
      let login: { value?: unknown; error?: string } | undefined
      if (ui.loginAccess && isAdmin(p)) {
        const spec = await runningSpec(ui.store, cluster)
        const pools = desiredPools(spec)
        if (pools.length > 0) {
          const access = ui.loginAccess(cluster, spec)
          try {
            login = await panel(() => loginNodeStatus(pools, access))
          } finally {
            await access.close()
          }
        }
      }
      const frame = { title: `${cluster}: overview`, nav }
      const render = (gpus: { value?: VisibleGpus; error?: string }) => renderer.body('overview', {
        ...frame, cluster, gpus: gpus.value ? { value: gpuView(gpus.value.response) } : { error: gpus.error }, login, usage: ui.usage ? null : USAGE_NOT_AVAILABLE,
      })
      const gpus = raw.value
      if (!gpus || login || !request.uiSession) return send(reply, renderer.layout(frame, render(raw)))
      // The body depends on the view alone (the cluster is the read's); the page also on
      // the navigation (clusters, role, the session's CSRF token), keyed as its JSON.
      return send(reply, overviews.page(request.uiSession, cluster, gpus, JSON.stringify(nav), () => renderer.layout(frame, overviews.body(gpus, () => render(raw)))))
    })

    app.get('/clusters/:cluster/reliability', {
      schema: {
        hide: true, params: Params,
        querystring: Type.Object({
          days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          nodes: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
          checkpointSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const { cluster } = request.params
      checkCluster(ui, request, cluster)
      const nav = await ui.nav(request, cluster)
      const query = { days: request.query.days ?? 30, nodes: request.query.nodes ?? 256, checkpointSeconds: request.query.checkpointSeconds ?? 300 }
      const state = ui.state
      const report = state ? await panel(async () => reliabilityView(await reliabilityFor({ store: ui.store, state }, ui.principal(request), cluster, query))) : { error: 'live cluster reads are not configured on this server' }
      return send(reply, renderer.page('reliability', { title: `${cluster}: reliability`, nav, cluster, query, report }))
    })

    app.get('/clusters/:cluster/usage', {
      schema: { hide: true, params: Params, querystring: Type.Object({ month: Type.Optional(Type.String({ pattern: '^\\d{4}-(?:0[1-9]|1[0-2])$', maxLength: 7 })) }, { additionalProperties: false }) },
    }, async (request, reply) => {
      const { cluster } = request.params
      checkCluster(ui, request, cluster)
      const nav = await ui.nav(request, cluster)
      const budgets = ui.budgets
      const view = budgets
        ? await panel(async () => usagePageView(await usageView(budgets, ui.principal(request), cluster, budgets.now(), request.query.month)))
        : undefined
      return send(reply, renderer.page('usage', { title: `${cluster}: usage and budgets`, nav, cluster, view, notice: budgets ? undefined : USAGE_NOT_AVAILABLE }))
    })

    app.get('/clusters/:cluster/applies', { schema: { hide: true, params: Params } }, async (request, reply) => {
      const { cluster } = request.params
      checkCluster(ui, request, cluster)
      requireAdmin(ui.principal(request), 'see applies')
      const nav = await ui.nav(request, cluster)
      const { items } = await ui.store.listApplies(cluster, { limit: 10 })
      const applies = await Promise.all(items.map((a) => ui.store.getApply(a.id)))
      return send(reply, renderer.page('applies', { title: `${cluster}: applies`, nav, cluster, applies }))
    })

    app.get('/audit', {
      schema: {
        hide: true,
        querystring: Type.Object({
          cluster: Type.Optional(Type.Union([Name, Type.Literal('')])),
          actor: Type.Optional(Type.String({ maxLength: 100 })),
          action: Type.Optional(Type.String({ pattern: '^[a-zA-Z.-]{0,60}$' })),
          resource: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9/_-]{0,300}$' })),
          cursor: Type.Optional(Type.String({ maxLength: 200 })),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      requireAdmin(ui.principal(request), 'read the audit log')
      const nav = await ui.nav(request, request.query.cluster || null)
      const { cursor, ...given } = request.query
      const filter = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined && v !== ''))
      const page = await ui.store.listAudit(filter, { limit: 50, cursor })
      const entries = page.items.map((e) => ({ ...e, change: JSON.stringify(e.change).slice(0, 300) }))
      const next = page.nextCursor ? new URLSearchParams({ ...filter, cursor: page.nextCursor }).toString() : null
      return send(reply, renderer.page('audit', { title: 'Audit log', nav, filter: given, entries, next }))
    })

    app.get('/me', {
      schema: { hide: true, querystring: Type.Object({ cluster: Type.Optional(Name) }, { additionalProperties: false }) },
    }, async (request, reply) => {
      const p = ui.principal(request)
      const nav = await ui.nav(request, request.query.cluster ?? p.cluster)
      const cluster = request.query.cluster ?? p.cluster ?? nav.clusters[0]?.name
      if (!cluster) throw new StoreNotFoundError('no cluster to show')
      checkCluster(ui, request, cluster)
      nav.cluster = cluster
      const spec = await runningSpec(ui.store, cluster)
      const me = await withUsage(whoAmI(p, spec), p, spec, ui.usage)
      return send(reply, renderer.page('me', { title: 'My account', nav, cluster, me, usage: me.usage.available ? me.usage : null, usageMessage: USAGE_NOT_AVAILABLE }))
    })
  }
}

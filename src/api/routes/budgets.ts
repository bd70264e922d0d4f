/**
 * Usage and budgets of a cluster. GET .../usage and GET .../budgets are scoped: admins
 * see everything, department admins their departments, researchers their own usage and
 * the budget state of their accounts' departments. Checking, lifting and recording an
 * event of AWS Budgets are for admins (the budget-alert Lambda holds an admin token).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type TSchema } from '@sinclair/typebox'
import { Name } from '../../spec/names.js'
import { isAdmin, requireAdmin } from '../../auth/policy.js'
import type { Store } from '../../store/types.js'
import { GROUP_BY, type GroupBy } from '../../usage/aggregate.js'
import { checkWindow, monthOf, monthWindow } from '../../usage/read.js'
import type { BudgetService } from '../../budgets/service.js'
import type { AwsBudgetService } from '../../budgets/aws-service.js'
import { scopeBudgetStatus, usageFilter } from '../../budgets/scope.js'
import { BudgetEventAnswer, BudgetEventBody, BudgetsAnswer, DepartmentState, Month, Reconciliation, UsageAnswer } from '../../budgets/contract.js'
import { actorOf, principalOf } from '../auth.js'
import { ClusterParams, errorResponses } from '../schemas.js'

const Time = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}(?:T\\d{2}:\\d{2}(?::\\d{2})?Z?)?$', maxLength: 20, description: 'YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z], UTC' })

const UsageQuery = Type.Object({
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  groupBy: Type.Optional(Type.Union(GROUP_BY.map((g) => Type.Literal(g)), { default: 'department' })),
}, { additionalProperties: false })

const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()])

const CheckAnswer = Type.Object({
  month: Type.String(), states: Type.Array(DepartmentState), notified: Type.Array(Type.String()),
  started: Type.Array(Type.Object({ department: Type.String(), action: Type.String() })),
  ended: Type.Array(Type.Object({ department: Type.String(), reason: Type.String() })),
  apply: Nullable(Type.Object({ id: Type.String(), status: Type.String() })), pending: Nullable(Type.String()), garbledLines: Type.Integer(),
})
const ApplyRef = Type.Union([Type.Object({ id: Type.String(), status: Type.String() }), Type.Null()])

function parseTime(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const ms = Date.parse(/T/.test(text) ? (text.endsWith('Z') ? text : `${text}Z`) : `${text}T00:00:00Z`)
  return Number.isNaN(ms) ? NaN : Math.floor(ms / 1000)
}

const AwsSyncAnswer = Type.Object({ cluster: Type.String(), budgetName: Type.String(), dryRun: Type.Boolean(), steps: Type.Array(Type.String()) })

export function budgetRoutes(deps: { store: Store; budgets: BudgetService; aws?: AwsBudgetService }): FastifyPluginAsyncTypebox {
  const { budgets } = deps
  return async (app) => {
    app.get('/clusters/:cluster/usage', {
      schema: {
        summary: 'GPU-, CPU- and node-hours, jobs and cost from Slurm accounting, grouped (default: this month so far, by department); scoped to what the token may see',
        params: ClusterParams, querystring: UsageQuery,
        response: { 200: UsageAnswer, ...errorResponses },
      },
    }, async (request, reply) => {
      const p = principalOf(request)
      const nowS = budgets.now()
      const from = parseTime(request.query.from, monthWindow(monthOf(nowS)).from)
      // The default window is never empty: at the first second of a month it is that second.
      const to = parseTime(request.query.to, request.query.from === undefined ? Math.max(nowS, from + 1) : nowS)
      try {
        checkWindow({ from, to })
      } catch (err) {
        return reply.code(400).send({ error: 'BadRequest', message: (err as Error).message, details: [{ path: '/querystring', message: (err as Error).message }] })
      }
      const groupBy = (request.query.groupBy ?? 'department') as GroupBy
      const { spec, usage } = await budgets.usage(request.params.cluster, { from, to })
      const keep = usageFilter(p)
      const lines = usage.lines(groupBy, keep)
      const money = (cents: number) => (cents / 100).toFixed(2)
      const total = usage.lines('department', keep).reduce((t, l) => ({
        ...t, jobs: t.jobs + l.jobs, gpuHours: t.gpuHours + l.gpuHours, cpuHours: t.cpuHours + l.cpuHours, nodeHours: t.nodeHours + l.nodeHours,
        billedNodeHours: t.billedNodeHours + l.billedNodeHours, costCents: t.costCents + l.costCents,
      }), { key: 'total', jobs: 0, gpuHours: 0, cpuHours: 0, nodeHours: 0, billedNodeHours: 0, costCents: 0 })
      const round = (x: number) => Math.round(x * 10_000) / 10_000
      return {
        cluster: request.params.cluster, from: new Date(from * 1000).toISOString(), to: new Date(to * 1000).toISOString(), groupBy,
        currency: spec.pricing?.currency ?? 'USD',
        lines: lines.map((l) => ({ ...l, cost: money(l.costCents) })),
        total: { ...total, gpuHours: round(total.gpuHours), cpuHours: round(total.cpuHours), nodeHours: round(total.nodeHours), billedNodeHours: round(total.billedNodeHours), cost: money(total.costCents) },
        // Garbled lines name jobs of any user: admins only.
        garbledLines: isAdmin(p) ? usage.garbledCount : 0,
        garbled: isAdmin(p) ? usage.garbled.map((g) => ({ page: g.page, line: g.line, reason: g.reason })) : [],
      }
    })

    app.get('/clusters/:cluster/budgets', {
      schema: {
        summary: 'Department budgets this month (or ?month=YYYY-MM): spend, forecast to month end, thresholds crossed, action in force; and the cluster budget\'s events (admins)',
        params: ClusterParams, querystring: Type.Object({ month: Type.Optional(Month) }, { additionalProperties: false }),
        response: { 200: BudgetsAnswer, ...errorResponses },
      },
    }, async (request) => {
      const p = principalOf(request)
      const status = await budgets.status(request.params.cluster, request.query.month)
      return scopeBudgetStatus(p, await budgets.specOf(request.params.cluster), status)
    })

    app.post('/clusters/:cluster/budgets/check', {
      schema: {
        summary: 'Check spend against the department budgets now: notify once per threshold, put actions in force or end them, apply (admin)',
        params: ClusterParams, response: { 200: CheckAnswer, ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'check budgets')
      return budgets.check(request.params.cluster, actorOf(request).actor)
    })

    app.post('/clusters/:cluster/budgets/:department/lift', {
      schema: {
        summary: 'End the budget action in force on a department for the rest of the month, applied like any accounting change (admin)',
        params: Type.Object({ cluster: Name, department: Name }, { additionalProperties: false }),
        response: { 200: Type.Object({ apply: ApplyRef, pending: Type.Union([Type.String(), Type.Null()]) }), ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'lift a budget action')
      const { actor, source } = actorOf(request)
      return budgets.lift(request.params.cluster, request.params.department, actor, source)
    })

    app.post('/clusters/:cluster/budgets/events', {
      schema: {
        summary: 'Record an event of AWS Budgets (the budget-alert Lambda): duplicates have one effect; a department budget at >= 100 % ACTUAL runs its onExceeded (admin)',
        params: ClusterParams, body: BudgetEventBody,
        response: { 200: BudgetEventAnswer, ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'record budget events')
      const { actor, source } = actorOf(request)
      return budgets.recordEvent(request.params.cluster, request.body, actor, source)
    })

    const aws = deps.aws
    if (!aws) return
    app.post('/clusters/:cluster/budgets/aws', {
      schema: {
        summary: 'Make the cluster\'s AWS Budget match budgets.cluster of its spec (ClusterName tag filter, ACTUAL and FORECASTED notifications to the topic); idempotent; ?dryRun=true only plans (admin)',
        params: ClusterParams, querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false }),
        response: { 200: AwsSyncAnswer, ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'sync the AWS budget')
      return aws.sync(request.params.cluster, { dryRun: request.query.dryRun === true }, actorOf(request))
    })

    app.get('/clusters/:cluster/budgets/reconcile', {
      schema: {
        summary: 'The month\'s AWS bill of the cluster (Cost Explorer, ClusterName tag) beside the departments\' chargeback; the difference is idle or unallocated cost (admin)',
        params: ClusterParams, querystring: Type.Object({ month: Month }, { additionalProperties: false }),
        response: { 200: Reconciliation, ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'reconcile the AWS bill')
      return aws.reconcile(request.params.cluster, request.query.month)
    })
  }
}

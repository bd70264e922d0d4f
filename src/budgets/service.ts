/**
 * Department budgets, enforced by Slurm. The service reads the month's usage from
 * slurmdbd (src/usage/), charges it, and for each department budget: sends one
 * notification per threshold crossed (never twice: the key is claimed in the store first),
 * and at 100 % puts the budget's action (`restrict` or `block`) in force. An action is an
 * accounting change like any other: the apply engine plans the cluster's applied revision
 * with the actions in force (src/accounting/desired.ts) and applies it under the cluster's
 * lock, audited, step by step. A new month, a raised budget or an admin's lift ends the
 * action, and the next apply undoes it the same way. Running jobs are never touched.
 */
import type { ApplyEngine, EngineLogger } from '../apply/engine.js'
import type { ControllerProfile } from '../apply/profile.js'
import type { BudgetActions } from '../accounting/desired.js'
import type { ClusterSpec } from '../spec/schema.js'
import { StoreConflictError, StoreNotFoundError, type BudgetActionRecord, type BudgetEventRecord, type BudgetNotificationRecord, type Store } from '../store/types.js'
import { readUsage, monthOf, monthWindow } from '../usage/read.js'
import type { UsageAggregator, Window } from '../usage/aggregate.js'
import { formatCents } from '../usage/chargeback.js'
import { evaluateBudgets, type DepartmentBudgetState } from './evaluate.js'
import { thresholdNotice, type Notifier } from './notify.js'
import type { BudgetEventAnswer, BudgetEventBody } from './contract.js'
import { departmentBudgetName } from '../sessions/policy.js'
import { startBudgetScheduler } from './scheduler.js'

/** Thrown for a request the cluster's budgets cannot answer (no spec, unknown budget). */
export class BudgetError extends Error {
  override name = 'BudgetError'
}

/** Thrown for an event naming a budget or department the spec does not have (HTTP 422). */
export class UnknownBudgetError extends Error {
  override name = 'UnknownBudgetError'
}

export interface BudgetServiceDeps {
  store: Store
  engine: ApplyEngine
  profileFor(cluster: string): Promise<ControllerProfile>
  notifier?: Notifier | undefined
  log: EngineLogger
  /** "Now" in epoch seconds (tests move it to a new month). */
  now?: () => number
}

/** What a check did. */
export interface CheckResult {
  month: string
  states: DepartmentBudgetState[]
  notified: string[]
  started: Array<{ department: string; action: string }>
  ended: Array<{ department: string; reason: string }>
  apply: { id: string; status: string } | null
  /** Why the actions could not be applied now (another apply runs, nothing applied yet). */
  pending: string | null
  garbledLines: number
}

/** Everything GET .../budgets shows (before scoping). */
export interface BudgetStatus {
  month: string
  currency: string
  departments: Array<DepartmentBudgetState & { action: BudgetActionRecord | null; notifications: BudgetNotificationRecord[] }>
  cluster: { budgetName: string; monthly: number; thresholds: number[]; events: BudgetEventRecord[] } | null
  events: BudgetEventRecord[]
}

export interface BudgetService {
  /** The service's "now" in epoch seconds: every budget and usage view reads this clock, so one request sees one month. */
  now(): number
  /** The spec the cluster runs (applied revision, else the newest). */
  specOf(cluster: string): Promise<ClusterSpec>
  usage(cluster: string, window: Window): Promise<{ spec: ClusterSpec; usage: UsageAggregator }>
  /** `read`: the month's usage when the caller has just read it (one sacct read per request). */
  status(cluster: string, month?: string, read?: { spec: ClusterSpec; usage: UsageAggregator }): Promise<BudgetStatus>
  check(cluster: string, by: string): Promise<CheckResult>
  lift(cluster: string, department: string, by: string, source: string): Promise<{ apply: CheckResult['apply']; pending: string | null }>
  recordEvent(cluster: string, event: BudgetEventBody, actor: string, source: string): Promise<BudgetEventAnswer>
  /** The actions in force this month, for the apply engine. */
  actionsFor(cluster: string): Promise<BudgetActions>
  /** Checks every cluster with department budgets every `intervalMs`; returns a stop function. */
  startScheduler(intervalMs: number): () => void
}

export function createBudgetService(deps: BudgetServiceDeps): BudgetService {
  const { store, engine, log } = deps
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000))
  /** Clusters whose actions changed but could not be applied yet: the next check applies them. */
  const pending = new Set<string>()

  async function specOf(cluster: string): Promise<ClusterSpec> {
    const record = await store.getCluster(cluster)
    const number = record.appliedRevision ?? record.latestRevision
    if (number === 0) throw new BudgetError(`cluster ${cluster} has no spec yet`)
    return (await store.getRevision(cluster, number)).spec
  }

  async function usage(cluster: string, window: Window) {
    const spec = await specOf(cluster)
    const profile = await deps.profileFor(cluster)
    return { spec, usage: await readUsage(profile.executor, spec, window, { now: now() }) }
  }

  async function actionsFor(cluster: string): Promise<BudgetActions> {
    const month = monthOf(now())
    const rows = await store.listBudgetActions(cluster, month)
    return new Map(rows.filter((a) => a.endedAt === null && a.month === month).map((a) => [a.department, a.action]))
  }

  /**
   * Whether the sender of an AWS Budgets event must still tell the budget's contacts: a
   * notice row per (budget, month, type, threshold), `sending` until the sender confirms it
   * `sent`. At least once: a notice whose confirmation is lost is sent again by the retry,
   * wherever the retry runs; one confirmed is never sent again.
   */
  async function eventNotice(cluster: string, event: BudgetEventBody, recipients: string[]): Promise<Pick<BudgetEventAnswer, 'notice'>> {
    if (event.notice === undefined) return {}
    const key = `aws-budgets:${cluster}:${event.budgetName}:${event.month}:${event.notificationType}:${event.thresholdPercent}`
    const claimed = await store.claimBudgetNotification({ key, cluster, department: event.department, month: event.month, thresholdPercent: event.thresholdPercent, recipients })
    if (event.notice === 'sent') {
      await store.finishBudgetNotification(key, true)
      return { notice: 'sent' }
    }
    if (claimed) return { notice: 'send' }
    const row = await store.getBudgetNotification(key)
    return { notice: row?.status === 'sent' ? 'sent' : 'send' }
  }

  /** Applies the cluster's applied revision with the actions now in force, and waits for it. */
  async function applyActions(cluster: string, by: string): Promise<{ apply: CheckResult['apply']; pending: string | null }> {
    const record = await store.getCluster(cluster)
    if (record.appliedRevision === null) {
      pending.delete(cluster)
      return { apply: null, pending: 'no revision applied yet: the first apply carries the actions' }
    }
    try {
      const started = await engine.start(cluster, record.appliedRevision, by)
      const done = await engine.wait(started.id)
      if (done.status === 'succeeded') pending.delete(cluster)
      else pending.add(cluster)
      return { apply: { id: done.id, status: done.status }, pending: done.status === 'succeeded' ? null : `apply ${done.id} ${done.status}: ${done.error ?? ''}; tried again at the next check` }
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err
      pending.add(cluster)
      return { apply: null, pending: `${err.message}; the actions are applied at the next check` }
    }
  }

  async function notifyCrossed(cluster: string, spec: ClusterSpec, month: string, states: DepartmentBudgetState[], source: string): Promise<string[]> {
    const sent: string[] = []
    for (const s of states) {
      for (const t of s.crossed) {
        const key = `${cluster}/${s.department}/${month}/${t}`
        if (!(await store.claimBudgetNotification({ key, cluster, department: s.department, month, thresholdPercent: t, recipients: s.notify }))) continue
        let ok = true
        if (deps.notifier && s.notify.length > 0) {
          try {
            await deps.notifier.send(thresholdNotice({ key, cluster, specName: spec.cluster.name, month, state: s, threshold: t }))
          } catch (err) {
            ok = false
            log.error({ err, cluster, key }, 'sending a budget notification failed; it is tried again at the next check')
          }
        }
        await store.finishBudgetNotification(key, ok)
        if (ok) {
          sent.push(key)
          await store.appendAudit({ actor: 'system', source, cluster, action: 'budget.notify', resource: `clusters/${cluster}/budgets/${s.department}`, change: { key, percent: s.percent, recipients: s.notify } })
        }
      }
    }
    return sent
  }

  const service: BudgetService = {
    now,
    specOf,
    usage,
    actionsFor,

    async status(cluster, month, read) {
      const m = month ?? monthOf(now())
      const window = monthWindow(m)
      const known = read !== undefined && read.usage.window.from === window.from && read.usage.window.to === window.to ? read : undefined
      const spec = known?.spec ?? await specOf(cluster)
      const hasBudgets = (spec.budgets?.departments?.length ?? 0) > 0
      const spend = hasBudgets ? (known ?? await usage(cluster, window)).usage.departmentCents() : new Map<string, number>()
      const states = evaluateBudgets(spec, spend, window, Math.min(now(), window.to))
      const actions = await store.listBudgetActions(cluster, m)
      const notifications = await store.listBudgetNotifications(cluster, m)
      const events = await store.listBudgetEvents(cluster, m)
      const c = spec.budgets?.cluster
      return {
        month: m,
        currency: spec.pricing?.currency ?? 'USD',
        departments: states.map((s) => ({
          ...s,
          action: actions.find((a) => a.department === s.department && a.month === m) ?? null,
          notifications: notifications.filter((n) => n.department === s.department),
        })),
        cluster: c ? { budgetName: c.awsBudgetName, monthly: c.monthly, thresholds: c.thresholds, events: events.filter((e) => e.department === null) } : null,
        events,
      }
    },

    async check(cluster, by) {
      const t = now()
      const month = monthOf(t)
      const window = monthWindow(month)
      const spec = await specOf(cluster)
      const result: CheckResult = { month, states: [], notified: [], started: [], ended: [], apply: null, pending: null, garbledLines: 0 }
      const inForce = (await store.listBudgetActions(cluster, month)).filter((a) => a.endedAt === null)
      if ((spec.budgets?.departments?.length ?? 0) > 0) {
        const read = await usage(cluster, window)
        result.garbledLines = read.usage.garbledCount
        result.states = evaluateBudgets(spec, read.usage.departmentCents(), window, t)
        result.notified = await notifyCrossed(cluster, spec, month, result.states, 'scheduler')
      }
      const audit = (action: string, department: string, change: unknown) =>
        store.appendAudit({ actor: by, source: 'budgets', cluster, action, resource: `clusters/${cluster}/budgets/${department}`, change })
      for (const a of inForce) {
        const state = result.states.find((s) => s.department === a.department)
        const reason = a.month !== month ? 'new month'
          : !state ? 'no budget'
            : state.wanted !== a.action ? (state.wanted === 'none' ? 'under budget' : `the budget now asks for ${state.wanted}`)
              : null
        if (reason === null) continue
        if (await store.endBudgetAction(cluster, a.department, a.month, reason, by)) {
          result.ended.push({ department: a.department, reason })
          await audit('budget.action.end', a.department, { month: a.month, action: a.action, reason })
        }
      }
      for (const s of result.states) {
        if (s.wanted !== 'restrict' && s.wanted !== 'block') continue
        const reason = `spend ${formatCents(BigInt(s.spendCents))} ${s.currency} is ${s.percent} % of ${formatCents(BigInt(s.budgetCents))}`
        if (await store.startBudgetAction({ cluster, department: s.department, month, action: s.wanted, reason })) {
          result.started.push({ department: s.department, action: s.wanted })
          await audit('budget.action.start', s.department, { month, action: s.wanted, reason })
        }
      }
      if (result.started.length > 0 || result.ended.length > 0 || pending.has(cluster)) {
        const applied = await applyActions(cluster, by)
        result.apply = applied.apply
        result.pending = applied.pending
      }
      return result
    },

    async lift(cluster, department, by, source) {
      const month = monthOf(now())
      if (!(await store.endBudgetAction(cluster, department, month, 'lifted', by))) {
        // Say what is wrong: no such cluster (404), no such department (404), or nothing to lift (409).
        const spec = await specOf(cluster)
        if (!spec.departments.some((d) => d.name === department)) throw new StoreNotFoundError(`cluster ${cluster} has no department "${department}"`)
        throw new StoreConflictError(`department ${department} has no budget action in force in ${month}`)
      }
      await store.appendAudit({ actor: by, source, cluster, action: 'budget.lift', resource: `clusters/${cluster}/budgets/${department}`, change: { month } })
      return applyActions(cluster, by)
    },

    async recordEvent(cluster, event, actor, source) {
      const spec = await specOf(cluster)
      const c = spec.budgets?.cluster
      const budget = event.department === null ? undefined : spec.budgets?.departments?.find((d) => d.department === event.department)
      if (event.department === null && c?.awsBudgetName !== event.budgetName) {
        throw new UnknownBudgetError(`cluster ${cluster} has no budget named "${event.budgetName}"`)
      }
      if (event.department !== null && (!budget || event.budgetName !== departmentBudgetName(cluster, event.department))) {
        throw new UnknownBudgetError(`cluster ${cluster} has no budget "${event.budgetName}" for department "${event.department}"`)
      }
      const current = event.month === monthOf(now())
      const action = budget && current && event.notificationType === 'ACTUAL' && event.thresholdPercent >= 100 ? budget.onExceeded : 'none'
      const recorded = await store.recordBudgetEvent({
        eventId: event.eventId, cluster, budgetName: event.budgetName, department: event.department, month: event.month,
        thresholdPercent: event.thresholdPercent, notificationType: event.notificationType, action, payload: event,
      })
      await store.appendAudit({ actor, source, cluster, action: 'budget.event', resource: `clusters/${cluster}/budgets/${event.department ?? 'cluster'}`, change: { event, recorded, action: recorded ? action : 'none' } })
      const notice = await eventNotice(cluster, event, (budget ? budget.notify : c?.notify) ?? [])
      if (!recorded) return { recorded, action: 'none', ...notice }
      if (budget && (action === 'restrict' || action === 'block')) {
        const reason = `AWS Budgets: ${event.budgetName} ${event.notificationType} ${event.thresholdPercent} %`
        if (await store.startBudgetAction({ cluster, department: budget.department, month: event.month, action, reason })) {
          await store.appendAudit({ actor, source, cluster, action: 'budget.action.start', resource: `clusters/${cluster}/budgets/${budget.department}`, change: { month: event.month, action, reason } })
          // Applied in the background: the caller (the Lambda) gets its answer at once.
          void applyActions(cluster, actor).catch((err: unknown) => log.error({ err, cluster }, 'applying a budget action failed'))
        }
      }
      return { recorded, action, ...notice }
    },

    startScheduler(intervalMs) {
      return startBudgetScheduler({ store, log, now, specOf, check: (cluster, by) => service.check(cluster, by) }, intervalMs)
    },
  }
  return service
}

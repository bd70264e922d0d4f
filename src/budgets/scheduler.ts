/**
 * The budget scheduler: every `intervalMs`, a check of each cluster that has department
 * budgets or an action still in force, one tick at a time (a slow tick is not overlapped).
 * A cluster whose check fails is logged and tried again at the next tick; the others go on.
 */
import type { EngineLogger } from '../apply/engine.js'
import type { ClusterSpec } from '../spec/schema.js'
import type { Store } from '../store/types.js'
import { monthOf } from '../usage/read.js'
import type { CheckResult } from './service.js'

export interface BudgetSchedulerDeps {
  store: Pick<Store, 'listClusters' | 'listBudgetActions'>
  log: EngineLogger
  /** "Now" in epoch seconds. */
  now: () => number
  specOf(cluster: string): Promise<ClusterSpec>
  check(cluster: string, by: string): Promise<CheckResult>
}

/** Starts the scheduler; returns a stop function. */
export function startBudgetScheduler(deps: BudgetSchedulerDeps, intervalMs: number): () => void {
  const { store, log, now } = deps
  let running = false
  const tick = async () => {
    if (running) return
    running = true
    try {
      for (let cursor: string | undefined, first = true; first || cursor; first = false) {
        const page = await store.listClusters({ limit: 100, cursor })
        cursor = page.nextCursor ?? undefined
        for (const c of page.items) {
          try {
            const spec = c.latestRevision > 0 ? await deps.specOf(c.name) : undefined
            const actions = await store.listBudgetActions(c.name, monthOf(now()))
            if (!spec?.budgets?.departments?.length && !actions.some((a) => a.endedAt === null)) continue
            const r = await deps.check(c.name, 'system:budget-scheduler')
            if (r.started.length || r.ended.length || r.notified.length) log.info({ cluster: c.name, started: r.started, ended: r.ended, notified: r.notified }, 'budget check')
          } catch (err) {
            log.error({ err, cluster: c.name }, 'budget check failed; tried again at the next tick')
          }
        }
      }
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => void tick(), intervalMs)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * A cluster "campus" with department budgets on a real store, the controller's sacct
 * answered by a fake Executor (three jobs of an hour on the month's first day, one garbled
 * line) and the apply engine by a recorder. Shared by the budget routes' and the
 * dashboard's usage tests.
 */
import type { Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStore } from '../../src/store/index.js'
import type { ApplyEngine } from '../../src/apply/engine.js'
import type { ApplyRecord } from '../../src/store/types.js'
import type { Executor } from '../../src/adapters/executor.js'
import type { ControllerProfile } from '../../src/apply/profile.js'
import { createBudgetService } from '../../src/budgets/service.js'
import { monthOf, monthWindow } from '../../src/usage/read.js'
import { seeded, specFor } from '../api/helpers.js'
import type { AppDeps } from '../../src/api/app.js'
import type { BudgetService } from '../../src/budgets/service.js'

export const NOW = Math.floor(Date.now() / 1000)
export const MONTH = monthOf(NOW)
export const DAY1 = monthWindow(MONTH).from
export const iso = (s: number) => new Date(s * 1000).toISOString().slice(0, 19)
/** A completed job line of sacct: one hour from a minute past `day1`, on `node`. */
export const sacctJob = (day1: number, id: number, account: string, user: string, partition: string, tres: string, node: string) =>
  `${id}|${account}|${user}|${partition}|standard|COMPLETED|${iso(day1 + 60)}|${iso(day1 + 60 + 3600)}|1|${tres}|${node}`

/** A controller whose sacct answers `lines` for the day `day1` and nothing for any other day; `counted.runs`: how many times sacct ran. */
export function fakeSacct(day1: number, lines: string[]): Executor & { counted: { runs: number } } {
  const counted = { runs: 0 }
  return {
    target: 'fake',
    counted,
    async run(argv) {
      counted.runs += 1
      const day = Date.parse(`${argv.find((a) => a.startsWith('--starttime='))!.slice(12)}Z`) / 1000
      return { argv, code: 0, stdout: day !== day1 ? '' : lines.join('\n'), stderr: '' }
    },
    readFile: async () => undefined,
    writeFileAtomic: async () => undefined,
  }
}

/** The controller profile of `cluster` with `executor` (the budget service reads usage through it). */
export const profileWith = (executor: Executor) => async (cluster: string): Promise<ControllerProfile> =>
  ({ cluster, executor, configDir: '/x', renderOptions: () => ({}), restart: ['true'], reconfigure: ['true'] })

/** An apply engine that records each start (`cluster@revision:by`) and says every apply succeeded. */
export function recordingEngine(): { engine: ApplyEngine; started: string[] } {
  const started: string[] = []
  const engine = {
    async start(cluster: string, revision: number | undefined, by: string) {
      started.push(`${cluster}@${revision}:${by}`)
      return { id: `apply_${started.length}`, cluster, revision: revision ?? 1, status: 'running', startedBy: by, createdAt: '', finishedAt: null, error: null, steps: [] } as ApplyRecord
    },
    async wait(id: string) {
      return { id, status: 'succeeded', steps: [] } as unknown as ApplyRecord
    },
  } as unknown as ApplyEngine
  return { engine, started }
}

/**
 * The app with budgets (and `more` deps built on them), seeded with the campus spec with
 * budgets. `clock`: the budget service's "now" (default NOW), the one clock of every
 * budget and usage path (routes, pages, /v1/me): the wall clock is never read, so a run
 * that crosses a month's end sees the month NOW is in.
 */
export async function setup(t: Test, more: (budgets: BudgetService) => Omit<AppDeps, 'store'> = () => ({}), clock: () => number = () => NOW) {
  const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-budget-routes-')) })
  const { engine, started } = recordingEngine()
  const ex = fakeSacct(DAY1, [
    sacctJob(DAY1, 1, 'nlp-smith', 'alice', 'nlp', 'cpu=4,gres/gpu=8,mem=10G,node=1', 'gpu-h100-001'),
    sacctJob(DAY1, 2, 'cv-chen', 'dave', 'cv', 'cpu=1,gres/gpu=4,mem=1G,node=1', 'gpu-a10g-01'),
    sacctJob(DAY1, 3, 'dl-okafor', 'frank', 'dl', 'cpu=96,mem=1G,node=1', 'cpu-001'),
    'garbled|line',
  ])
  /** How many times sacct ran (a request reads the month once: one run per day so far). */
  const sacct = ex.counted
  const budgets = createBudgetService({
    store, engine, log: { info: () => undefined, error: () => undefined }, now: clock,
    profileFor: profileWith(ex),
  })
  const spec = {
    ...specFor('campus'),
    pricing: { currency: 'EUR', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } },
    budgets: {
      cluster: { monthly: 1000, thresholds: [80, 100], awsBudgetName: 'campus-monthly', notify: ['admins@example.edu'] },
      departments: [
        { department: 'nlp', monthly: 50, thresholds: [100], onExceeded: 'restrict', notify: ['pi@example.edu'] },
        { department: 'cv', monthly: 100, thresholds: [100], onExceeded: 'block' },
        { department: 'dl', monthly: 100, thresholds: [100], onExceeded: 'notify' },
      ],
    },
  }
  const s = await seeded(store, { budgets, ...more(budgets) }, spec)
  await store.setAppliedRevision('campus', 1)
  t.teardown(async () => {
    await s.app.close()
    await store.close()
  })
  return { ...s, started, budgets, sacct }
}


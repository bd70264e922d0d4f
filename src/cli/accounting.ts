/**
 * `steward apply FILE` and `steward import --out FILE`, and the part of `steward plan FILE`
 * that needs the spec (plan.ts): accounting as code from the command line. Exit codes: 0 nothing to do or applied, 2 changes pending
 * (plan with `--detailed-exitcode`) or bad usage, 1 failure (a clash, a failed step).
 */
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline/promises'
import { parseArgs } from 'node:util'
import { stringify } from 'yaml'
import { loadSpecFile } from '../spec/load.js'
import type { ClusterSpec } from '../spec/schema.js'
import { planOnCluster, type ClusterPlanOptions } from '../accounting/cluster.js'
import type { LiveOutputs } from '../accounting/live.js'
import { applyPlan } from '../accounting/apply.js'
import { formatPlan, planToJson, shortArgv } from '../accounting/format.js'
import { importFromCluster } from '../accounting/import.js'
import { PlanClashError } from '../accounting/errors.js'
import type { Plan } from '../accounting/operations.js'
import type { Executor } from '../adapters/executor.js'
import { TARGET_OPTIONS, withController } from './controller.js'
import { PLAN_OPTIONS, planOptions, type PlanValues } from './plan.js'
import { UsageError } from './usage.js'

/** The one spec file of `positionals`, loaded and checked; warnings go to stderr. */
export async function specArg(positionals: string[], command: string): Promise<ClusterSpec> {
  if (positionals.length !== 1) throw new UsageError(`give one spec file: steward ${command} FILE`)
  const { spec, warnings } = await loadSpecFile(positionals[0] as string)
  for (const w of warnings) console.error(`${w.severity}: ${w.path || '/'}: ${w.message}`)
  return spec
}

/** Plans, printing a clash as one line per problem; `undefined` when the plan is refused. */
async function planOrReport(run: () => Promise<Plan>): Promise<Plan | undefined> {
  try {
    return await run()
  } catch (err) {
    if (!(err instanceof PlanClashError)) throw err
    for (const p of err.problems) console.error(`error: ${p.subject}: ${p.message}`)
    console.error('nothing planned, nothing applied: fix the clashes above')
    return undefined
  }
}

/**
 * The rest of `steward plan` (plan.ts starts the accounting reads first): plans `spec`
 * against the cluster with the reads already running and prints the plan. Exit 0, or 2
 * with `--detailed-exitcode` when there is something to do, 1 on a clash.
 */
export async function printPlan(executor: Executor, spec: ClusterSpec, values: PlanValues & { json?: boolean; 'detailed-exitcode'?: boolean }, liveAccounting: Promise<LiveOutputs>): Promise<number> {
  const plan = await planOrReport(() => planOnCluster(executor, spec, { ...planOptions(values), liveAccounting }))
  if (!plan) return 1
  for (const w of plan.warnings) console.error(`warning: ${w.subject}: ${w.message}`)
  process.stdout.write(values.json ? planToJson(plan) : formatPlan(plan))
  return values['detailed-exitcode'] && plan.operations.length > 0 ? 2 : 0
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(?:es)?$/i.test((await rl.question(question)).trim())
  } finally {
    rl.close()
  }
}

/** `steward apply FILE [--yes] [--prune] [target]` */
export async function applyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...PLAN_OPTIONS, yes: { type: 'boolean', short: 'y' } } })
  const spec = await specArg(positionals, 'apply')
  return withController(values, (executor) => applyWith(executor, spec, planOptions(values), values.yes ?? false))
}

async function applyWith(executor: Executor, spec: ClusterSpec, options: ClusterPlanOptions, yes: boolean): Promise<number> {
  const plan = await planOrReport(() => planOnCluster(executor, spec, options))
  if (!plan) return 1
  for (const w of plan.warnings) console.error(`warning: ${w.subject}: ${w.message}`)
  process.stdout.write(formatPlan(plan))
  if (plan.operations.length === 0) return 0
  if (!yes) {
    if (!process.stdin.isTTY) {
      console.error('not applied: confirm on a terminal or pass --yes')
      return 1
    }
    if (!(await confirm(`apply ${plan.operations.length} step(s) to ${plan.cluster} on ${executor.target}? [y/N] `))) {
      console.error('not applied')
      return 1
    }
  }
  const tty = process.stderr.isTTY
  const result = await applyPlan(executor, plan, {
    onStart: (op, i, n) => { if (tty) process.stderr.write(`[${i + 1}/${n}] ${op.summary} ... `) },
    onDone: (op, i, n, r, ms) => {
      const status = `${r.code === 0 ? 'done' : `exit ${r.code}`} (${(ms / 1000).toFixed(1)} s)`
      if (tty) process.stderr.write(`${status}\n`)
      else console.error(`[${i + 1}/${n}] ${op.summary}: ${status}`)
    },
  })
  if (!result.ok && result.failed) {
    const { operation, result: r, error } = result.failed
    console.error(`\nfailed: ${operation.summary}\n  $ ${shortArgv(operation.argv)}`)
    if (error) console.error(`  ${error.message}`)
    if (r) console.error(`  exit ${r.code}\n${`${r.stdout}${r.stderr}`.trim().replace(/^/gm, '  | ')}`)
    if (r && /Job\(s\) active/.test(r.stdout + r.stderr)) {
      console.error('  hint: Slurm keeps associations with running jobs; wait for them, or if squeue does not show them,\n  they are runaway jobs left by a controller restart: sacctmgr show runawayjobs fixes them')
    }
    console.error(`${result.done.length} step(s) applied, ${result.remaining.length} not run:`)
    for (const op of result.remaining) console.error(`  - ${op.summary}`)
    console.error('run plan again: it continues from the cluster\'s real state')
    return 1
  }
  // Slurm sometimes accepts a command and changes nothing; a fresh plan tells the truth.
  const after = await planOnCluster(executor, spec, options)
  if (after.operations.length > 0) {
    console.error(`applied ${result.done.length} step(s), but ${after.operations.length} remain; Slurm did not take them:`)
    process.stderr.write(formatPlan(after))
    return 1
  }
  console.error(`applied ${result.done.length} step(s); the cluster matches the spec`)
  return 0
}

/** `steward import --out FILE [--cluster NAME] [--force] [target]` */
export async function importCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args, allowPositionals: false,
    options: { ...TARGET_OPTIONS, out: { type: 'string', short: 'o' }, cluster: { type: 'string' }, force: { type: 'boolean' }, 'protect-account': { type: 'string', multiple: true }, 'protect-user': { type: 'string', multiple: true } },
  })
  if (!values.out) throw new UsageError('give the output file: steward import --out FILE')
  if (existsSync(values.out) && !values.force) throw new UsageError(`${values.out} exists: pass --force to overwrite it`)
  const imported = await withController(values, async (executor) => ({
    target: executor.target,
    ...(await importFromCluster(executor, {
      ...(values.cluster ? { cluster: values.cluster } : {}),
      protectedAccounts: values['protect-account'] ?? [],
      protectedUsers: values['protect-user'] ?? [],
    })),
  }))
  const { spec, warnings } = imported
  for (const w of warnings) console.error(`warning: ${w.subject}: ${w.message}`)
  const header = [
    `# Imported by \`steward import\` from ${imported.target} (cluster ${spec.cluster.name}) on ${new Date().toISOString()}.`,
    '# Accounting only: add nodeGroups and partitions before rendering slurm.conf from it.',
  ].join('\n')
  await writeFile(values.out, `${header}\n${stringify(spec, { lineWidth: 0 })}`)
  const users = spec.users.length
  console.error(`wrote ${values.out}: ${spec.qos.length} QoS, ${spec.departments.length} department(s), ${users} user(s), ${warnings.length} warning(s)`)
  return 0
}

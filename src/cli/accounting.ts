/**
 * `steward plan FILE`, `steward apply FILE` and `steward import --out FILE`: accounting as
 * code from the command line. Exit codes: 0 nothing to do or applied, 2 changes pending
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
import { readLiveOutputs } from '../accounting/live.js'
import { applyPlan } from '../accounting/apply.js'
import { formatPlan, planToJson, shortArgv } from '../accounting/format.js'
import { importFromCluster } from '../accounting/import.js'
import { PlanClashError } from '../accounting/errors.js'
import type { Plan } from '../accounting/operations.js'
import { createLocalExecutor, ExecError, type Executor } from '../adapters/executor.js'
import { checkHostKey, createSshExecutor, parseSshUrl } from '../adapters/ssh-executor.js'
import { sandboxExecutor, sandboxTarget } from '../sandbox/index.js'
import { UsageError } from './usage.js'

/** How a command reaches a cluster: the local sandbox, this host's own Slurm, or a controller over SSH. */
export const TARGET_OPTIONS = {
  sandbox: { type: 'boolean' },
  local: { type: 'boolean' },
  controller: { type: 'string' },
  identity: { type: 'string', short: 'i' },
  'host-key': { type: 'string' },
} as const

/** An executor for the chosen cluster and how to let go of it. */
interface Connection {
  executor: Executor
  close(): Promise<void>
}

function connectController(values: { sandbox?: boolean; local?: boolean; controller?: string; identity?: string; 'host-key'?: string }): Connection {
  const local = (env?: Record<string, string>): Connection => ({ executor: createLocalExecutor(env), close: async () => {} })
  if ([values.sandbox, values.local, values.controller].filter(Boolean).length > 1) throw new UsageError('give one of --sandbox, --local or --controller')
  // The sandbox of STEWARD_SANDBOX_SLURM (or the host's release); 24.11 runs inside its Debian root.
  if (values.sandbox) return { executor: sandboxExecutor(sandboxTarget()), close: async () => {} }
  // On the controller itself: Slurm's own configuration (SLURM_CONF if set, else the default).
  if (values.local) return local()
  if (!values.controller) throw new UsageError('say which cluster: --sandbox, --local, or --controller ssh://user@host[:port] --identity KEYFILE --host-key SHA256:...')
  let target
  try {
    target = parseSshUrl(values.controller)
  } catch (err) {
    if (err instanceof ExecError) throw new UsageError(err.message)
    throw err
  }
  if (!values.identity) throw new UsageError('--controller needs --identity KEYFILE (the SSH private key)')
  if (!values['host-key']) throw new UsageError('--controller needs --host-key SHA256:... (the controller\'s host key fingerprint, as ssh-keygen -lf prints it on the controller)')
  let hostKey
  try {
    hostKey = checkHostKey(values['host-key'])
  } catch (err) {
    if (err instanceof ExecError) throw new UsageError(err.message)
    throw err
  }
  const ssh = createSshExecutor({ ...target, privateKeyPath: values.identity, hostKey })
  return { executor: ssh, close: () => ssh.close() }
}

/**
 * Runs a command body with a connection, closing it (an SSH session) whatever happens.
 * `first` (the spec being loaded) is reported before a bad target, as if it ran first.
 */
export async function withController<T>(values: Parameters<typeof connectController>[0], body: (executor: Executor) => Promise<T>, first?: Promise<unknown>): Promise<T> {
  let connection: Connection
  try {
    connection = connectController(values)
  } catch (err) {
    await first
    throw err
  }
  try {
    return await body(connection.executor)
  } finally {
    await connection.close()
  }
}

const PLAN_OPTIONS = {
  ...TARGET_OPTIONS,
  prune: { type: 'boolean' },
  'no-posix': { type: 'boolean' },
  'protect-account': { type: 'string', multiple: true },
  'protect-user': { type: 'string', multiple: true },
} as const

type PlanValues = { prune?: boolean; 'no-posix'?: boolean; 'protect-account'?: string[]; 'protect-user'?: string[] }

function planOptions(values: PlanValues): ClusterPlanOptions {
  return {
    prune: values.prune ?? false,
    posix: !values['no-posix'],
    protectedAccounts: values['protect-account'] ?? [],
    protectedUsers: values['protect-user'] ?? [],
  }
}

async function specArg(positionals: string[], command: string): Promise<ClusterSpec> {
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

/** `steward plan FILE [--json] [--detailed-exitcode] [--prune] [target]` */
export async function planCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { ...PLAN_OPTIONS, json: { type: 'boolean' }, 'detailed-exitcode': { type: 'boolean' } },
  })
  // The spec loads and is checked while the accounting reads (which need no spec) run.
  const loading = specArg(positionals, 'plan')
  loading.catch(() => undefined)
  const plan = await withController(values, async (executor) => {
    const liveAccounting = readLiveOutputs(executor)
    liveAccounting.catch(() => undefined)
    const spec = await loading
    return planOrReport(() => planOnCluster(executor, spec, { ...planOptions(values), liveAccounting }))
  }, loading)
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

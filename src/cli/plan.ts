/**
 * `steward plan FILE [--json] [--detailed-exitcode] [--prune] [target]`. With nothing to do
 * a plan costs about one read of the live state, so this module is small: it starts the
 * accounting reads (they need no spec) before the spec, the planner and the formats load
 * (accounting.ts), and the loading happens while slurmdbd answers.
 */
import { parseArgs } from 'node:util'
import { readLiveOutputs } from '../accounting/live.js'
import type { ClusterPlanOptions } from '../accounting/cluster.js'
import { TARGET_OPTIONS, withController } from './controller.js'

/** Options of `plan` and `apply`. */
export const PLAN_OPTIONS = {
  ...TARGET_OPTIONS,
  prune: { type: 'boolean' },
  'no-posix': { type: 'boolean' },
  'protect-account': { type: 'string', multiple: true },
  'protect-user': { type: 'string', multiple: true },
} as const

export type PlanValues = { prune?: boolean; 'no-posix'?: boolean; 'protect-account'?: string[]; 'protect-user'?: string[] }

/** The planner's options of parsed `PLAN_OPTIONS`. */
export function planOptions(values: PlanValues): ClusterPlanOptions {
  return {
    prune: values.prune ?? false,
    posix: !values['no-posix'],
    protectedAccounts: values['protect-account'] ?? [],
    protectedUsers: values['protect-user'] ?? [],
  }
}

/** `steward plan FILE [--json] [--detailed-exitcode] [--prune] [target]` */
export async function planCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { ...PLAN_OPTIONS, json: { type: 'boolean' }, 'detailed-exitcode': { type: 'boolean' } },
  })
  // The rest of the command and the spec load while the reads run; a bad spec is still
  // reported before a bad target, as if it came first.
  const rest = import('./accounting.js')
  const loading = rest.then((m) => m.specArg(positionals, 'plan'))
  loading.catch(() => undefined)
  return withController(values, async (executor) => {
    const liveAccounting = readLiveOutputs(executor)
    liveAccounting.catch(() => undefined)
    return (await rest).printPlan(executor, await loading, values, liveAccounting)
  }, loading)
}

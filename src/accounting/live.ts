/**
 * Reading a cluster's accounting from slurmdbd through an Executor: four `sacctmgr -n -P
 * show` commands (QoS, accounts, associations with their limits, users), parsed into the
 * same model the spec is turned into. The parse is pure
 * (`parseLiveAccounting`) so tests feed it output captured from a real slurmdbd.
 */
import { runAll, type ExecResult, type Executor } from '../adapters/executor.js'
import {
  normalizeTime, normalizeTres, parseLimit, parseList, parseParsable,
} from '../slurm/sacctmgr.js'
import { associationKey, emptyAccountingState, type AccountingState, type QosState } from './model.js'
import { LiveStateError } from './errors.js'

/** Fields of each read, in order; free text last because sacctmgr does not escape `|`. */
export const QOS_FIELDS = [
  'Name', 'Priority', 'MaxTRESPU', 'MaxTRES', 'GrpTRES', 'MaxWall', 'MaxJobsPU', 'MaxSubmitPU',
  'Preempt', 'PreemptMode', 'UsageFactor', 'Flags', 'Description',
] as const
export const ACCOUNT_FIELDS = ['Account', 'Organization', 'Description'] as const
/**
 * Associations with the two limits a budget's block sets (`GrpJobs`, `GrpSubmit`). A
 * cluster exists when it has associations: `sacctmgr add cluster` makes its root one.
 */
export const ASSOC_FIELDS = ['Cluster', 'Account', 'User', 'ParentName', 'Partition', 'Fairshare', 'QOS', 'DefaultQOS', 'GrpJobs', 'GrpSubmit'] as const
export const USER_FIELDS = ['User', 'DefaultAccount'] as const

/** The argv of each read (the same for every cluster: associations are read for all of them). */
export function readCommands(): Record<'qos' | 'accounts' | 'assocs' | 'users', string[]> {
  const show = (what: string, fields: readonly string[], ...where: string[]): string[] =>
    ['sacctmgr', '-n', '-P', 'show', what, ...where, `format=${fields.join(',')}`]
  return {
    qos: show('qos', QOS_FIELDS),
    accounts: show('account', ACCOUNT_FIELDS),
    // Every cluster's: QoS are global, and a prune must see which ones other clusters use.
    assocs: show('assoc', ASSOC_FIELDS),
    users: show('user', USER_FIELDS),
  }
}

/** The raw output of the reads, as captured in fixtures. */
export type LiveOutputs = Record<keyof ReturnType<typeof readCommands>, string>

function parseQos(row: Record<(typeof QOS_FIELDS)[number], string>): QosState {
  return {
    name: row.Name,
    description: row.Description.toLowerCase(),
    priority: parseLimit(row.Priority) ?? 0,
    maxTresPerUser: normalizeTres(row.MaxTRESPU),
    maxTresPerJob: normalizeTres(row.MaxTRES),
    grpTres: normalizeTres(row.GrpTRES),
    maxWall: normalizeTime(row.MaxWall),
    maxJobsPerUser: parseLimit(row.MaxJobsPU),
    maxSubmitJobsPerUser: parseLimit(row.MaxSubmitPU),
    preempt: parseList(row.Preempt),
    preemptMode: row.PreemptMode.toLowerCase() || 'cluster',
    usageFactor: row.UsageFactor === '' ? 1 : Number(row.UsageFactor),
    flags: parseList(row.Flags),
  }
}

function parseFairshare(value: string): number | 'parent' {
  return value === 'parent' ? 'parent' : Number(value || '1')
}

/** The block's limits an account association has at 0, and whether both are (the block in force). */
function zeroLimits(row: Record<'GrpJobs' | 'GrpSubmit', string>): { zeroLimits: string[]; blocked: boolean } {
  const zero = ([['GrpJobs', row.GrpJobs], ['GrpSubmitJobs', row.GrpSubmit]] as const).filter(([, v]) => v === '0').map(([k]) => k)
  return { zeroLimits: zero, blocked: zero.length === 2 }
}

/** Builds the live state from the reads' output. */
export function parseLiveAccounting(cluster: string, out: LiveOutputs): AccountingState {
  const state = emptyAccountingState(cluster)
  for (const row of parseParsable(out.qos, QOS_FIELDS)) state.qos.set(row.Name, parseQos(row))
  const records = new Map(parseParsable(out.accounts, ACCOUNT_FIELDS).map((r) => [r.Account, r]))
  for (const [name, r] of records) state.accountRecords.set(name, { description: r.Description.toLowerCase(), organization: r.Organization.toLowerCase() })
  for (const row of parseParsable(out.assocs, ASSOC_FIELDS)) {
    if (row.Cluster === cluster) state.clusterExists = true
    const qos = parseList(row.QOS)
    const defaultQos = row.DefaultQOS || undefined
    if (row.Cluster !== cluster) {
      for (const name of [...qos, ...(defaultQos ? [defaultQos] : [])]) {
        state.qosUsedElsewhere.set(name, (state.qosUsedElsewhere.get(name) ?? new Set()).add(row.Cluster))
      }
      continue
    }
    // Partition-level associations are not part of the model; the user-level one is.
    if (row.Partition !== '') continue
    if (row.User === '') {
      const record = records.get(row.Account)
      state.accounts.set(row.Account, {
        name: row.Account,
        parent: row.ParentName,
        description: record?.Description.toLowerCase(),
        organization: record?.Organization.toLowerCase(),
        fairshare: parseFairshare(row.Fairshare),
        qos,
        defaultQos,
        ...zeroLimits(row),
      })
    } else {
      state.associations.set(associationKey(row.User, row.Account), { user: row.User, account: row.Account, qos, defaultQos })
    }
  }
  for (const row of parseParsable(out.users, USER_FIELDS)) {
    state.users.set(row.User, { name: row.User, defaultAccount: row.DefaultAccount })
  }
  return state
}

/** The reads as (key, argv) pairs, in the order `liveOutputsOf` expects their results. */
export function liveReads(): Array<[keyof LiveOutputs, string[]]> {
  return Object.entries(readCommands()) as Array<[keyof LiveOutputs, string[]]>
}

/** The outputs of the reads' results; a failed read is `LiveStateError` with sacctmgr's message. */
export function liveOutputsOf(target: string, reads: ReadonlyArray<[keyof LiveOutputs, string[]]>, results: readonly ExecResult[]): LiveOutputs {
  const out = {} as LiveOutputs
  for (const [i, [key, argv]] of reads.entries()) {
    const result = results[i] as ExecResult
    if (result.code !== 0) {
      throw new LiveStateError(`cannot read accounting on ${target}: ${argv.join(' ')} exited ${result.code}: ${(result.stderr || result.stdout).trim()}`)
    }
    out[key] = result.stdout
  }
  return out
}

/** Runs the reads on a controller, all together (they are independent; over SSH in one session). */
export async function readLiveOutputs(executor: Executor): Promise<LiveOutputs> {
  const reads = liveReads()
  return liveOutputsOf(executor.target, reads, await runAll(executor, reads.map(([, argv]) => argv), { timeoutMs: LIVE_READ_TIMEOUT_MS }))
}

/** Time limit of the live-state reads (a large slurmdbd answers slowly). */
export const LIVE_READ_TIMEOUT_MS = 300_000

/** Reads and parses a cluster's accounting. */
export async function readLiveAccounting(executor: Executor, cluster: string): Promise<AccountingState> {
  return parseLiveAccounting(cluster, await readLiveOutputs(executor))
}

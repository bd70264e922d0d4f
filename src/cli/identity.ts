/**
 * `steward identity sync FILE [--dry-run] [--out FILE] [--json]`: syncs the users of the
 * directory a spec file's `identity` names into the file (or `--out`), all or nothing;
 * `steward identity sync --cluster C [--dry-run] [--json]`: the same on a cluster of the
 * service's store (STEWARD_DATA_DIR / DATABASE_URL), as a new revision.
 * `steward identity check FILE [--instance-arn ARN] [--json]`: Session Manager Run As
 * (see src/identity/run-as-check.ts). Prints the summary (added, changed, disabled, refused
 * with reasons) and, with --dry-run, the diff. Exit 0 done or nothing to do, 1 failure,
 * 2 unusable input.
 */
import { parseArgs } from 'node:util'
import { basename, dirname, resolve } from 'node:path'
import { stringify } from 'yaml'
import { acceptSpec, parseSpecText, readSpecFile } from '../spec/load.js'
import { isName } from '../spec/names.js'
import type { SpecChange } from '../spec/diff.js'
import type { SyncSummary } from '../identity/mapping.js'
import { syncCluster, syncSpecFile } from '../identity/sync.js'
import { identitySourceFor } from '../adapters/identity-sources.js'
import { writeFilesAtomically } from '../adapters/atomic-files.js'
import { SYSTEM_PRINCIPAL } from '../auth/policy.js'
import { UsageError } from './usage.js'

const SYNC_USAGE = 'usage: steward identity sync FILE [--dry-run] [--out FILE] [--json] | steward identity sync --cluster C [--dry-run] [--json]'

export async function identityCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'sync') return syncCommand(rest)
  if (sub === 'check') return (await import('./identity-check.js')).identityCheckCommand(rest)
  if (sub === 'run-as') return (await import('./identity-check.js')).identityRunAsCommand(rest)
  throw new UsageError(`${SYNC_USAGE}\n       steward identity check FILE [--instance-arn ARN] [--json]\n       steward identity run-as FILE [--dry-run] [--json]`)
}

async function syncCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { 'dry-run': { type: 'boolean' }, out: { type: 'string' }, json: { type: 'boolean' }, cluster: { type: 'string' } },
  })
  const dryRun = values['dry-run'] === true
  if (values.cluster !== undefined) {
    if (positionals.length > 0 || values.out !== undefined) throw new UsageError(`--cluster syncs the service's cluster: give no FILE or --out\n${SYNC_USAGE}`)
    if (!isName(values.cluster)) throw new UsageError(`--cluster "${values.cluster}" is not a cluster name`)
    return syncServiceCluster(values.cluster, dryRun, values.json === true)
  }
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError(SYNC_USAGE)
  const { spec } = acceptSpec(parseSpecText(await readSpecFile(file), file))
  const outcome = await syncSpecFile(spec, identitySourceFor(spec))
  const out = values.out ?? file
  if (!dryRun && outcome.changed) {
    await writeFilesAtomically(dirname(resolve(out)), [{ name: basename(out), content: stringify(outcome.spec, { lineWidth: 0 }) }])
  }
  print(outcome.summary, outcome.diff, dryRun, values.json === true, dryRun || !outcome.changed ? `${file}: ${outcome.changed ? 'would change' : 'nothing to change'}` : `${out}: written`)
  return 0
}

async function syncServiceCluster(cluster: string, dryRun: boolean, json: boolean): Promise<number> {
  const { loadConfig } = await import('../config.js')
  const { createStore } = await import('../store/index.js')
  const { createRevisionService } = await import('../revisions/service.js')
  const config = loadConfig()
  const store = await createStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
  try {
    const revisions = createRevisionService(store)
    const spec = (await revisions.latest(cluster)).spec
    const by = { actor: `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'}`, source: 'cli' }
    const outcome = await syncCluster(revisions, cluster, identitySourceFor(spec), { principal: SYSTEM_PRINCIPAL, by, dryRun })
    print(outcome.summary, outcome.diff, dryRun, json, `cluster ${cluster}: ${!outcome.changed ? `nothing to change (revision ${outcome.revision})` : dryRun ? 'would change' : `revision ${outcome.revision}`}`)
    return 0
  } finally {
    await store.close()
  }
}

function print(summary: SyncSummary, diff: SpecChange[], dryRun: boolean, json: boolean, verdict: string): void {
  if (json) {
    console.log(JSON.stringify({ summary, ...(dryRun ? { diff } : {}) }, null, 2))
  } else {
    for (const name of summary.added) console.log(`added     ${name}`)
    for (const c of summary.changed) console.log(`changed   ${c.user}: ${c.changes.join('; ')}`)
    for (const name of summary.disabled) console.log(`disabled  ${name}`)
    for (const r of summary.refused) console.log(`refused   ${r.user} (${r.externalId}): ${r.reason}`)
    if (dryRun) for (const c of diff) console.log(`${c.op.padEnd(9)} ${c.path}`)
  }
  console.error(`${verdict}: ${summary.added.length} added, ${summary.changed.length} changed, ${summary.disabled.length} disabled, ${summary.refused.length} refused, ${summary.unchanged} unchanged`)
}

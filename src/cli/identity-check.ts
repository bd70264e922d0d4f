/**
 * `steward identity check FILE [--instance-arn ARN] [--json]`: Session Manager Run As as it
 * stands: Identity Center's `SSMSessionRunAs` attribute (with --instance-arn), each synced
 * user's verdict with what to change, and the `SSMSessionRunAs` tag of each IAM principal
 * `identity.runAs.iam` maps. Exit 0 all good, 1 something to change.
 * `steward identity run-as FILE [--dry-run] [--json]`: applies Session Manager's
 * preferences document (from the one renderer) and the IAM tags; only what differs.
 */
import { parseArgs } from 'node:util'
import { SSMClient } from '@aws-sdk/client-ssm'
import { SSOAdminClient } from '@aws-sdk/client-sso-admin'
import { IAMClient } from '@aws-sdk/client-iam'
import { loadSpecFile } from '../spec/load.js'
import { checkRunAs, type RunAsReport } from '../identity/run-as-check.js'
import { identitySourceFor } from '../adapters/identity-sources.js'
import { readRunAsSource, syncRunAsTags } from '../adapters/aws/run-as.js'
import { applySessionPreferences } from '../adapters/aws/session-preferences.js'
import { specSessionPreferences } from '../sessions/preferences.js'
import { UsageError } from './usage.js'

export async function identityCheckCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'instance-arn': { type: 'string' }, json: { type: 'boolean' } } })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError('usage: steward identity check FILE [--instance-arn ARN] [--json]')
  const arn = values['instance-arn']
  if (arn !== undefined && !/^arn:aws(?:-cn|-us-gov)?:sso:::instance\/(?:sso)?ins-[a-zA-Z0-9-.]{16}$/.test(arn)) throw new UsageError(`--instance-arn "${arn}" is not an Identity Center instance ARN (arn:aws:sso:::instance/ssoins-...)`)
  const { spec } = await loadSpecFile(file)
  const region = spec.identity?.identityCenter?.region
  let report: RunAsReport | undefined
  if (spec.identity?.source === 'identity-center' && arn !== undefined) {
    const source = await readRunAsSource(arn, new SSOAdminClient(region ? { region } : {}))
    const users = new Map((await identitySourceFor(spec).listUsers()).map((u) => [u.id, u]))
    report = checkRunAs(spec, source, users)
  }
  const tags = await syncRunAsTags(spec.identity?.runAs?.iam ?? [], false, new IAMClient({}))
  const ok = (report ? report.attribute.ok && report.users.every((u) => u.ok) : true) && tags.every((t) => t.ok)
  if (values.json) {
    console.log(JSON.stringify({ ok, runAs: report ?? null, iam: tags }, null, 2))
  } else {
    if (!report) console.log(arn === undefined ? 'attribute: not checked (give --instance-arn of the Identity Center instance)' : 'attribute: not checked (identity.source is not identity-center)')
    else {
      console.log(`attribute: ${report.attribute.ok ? 'ok' : 'CHANGE'}: ${report.attribute.message}`)
      for (const u of report.users) console.log(u.ok ? `ok        ${u.user}` : `CHANGE    ${u.user}: ${u.fix}`)
    }
    for (const t of tags) console.log(t.ok ? `ok        ${t.principal} -> ${t.user}` : `CHANGE    ${t.principal}: tag ${'SSMSessionRunAs'} is ${t.has === undefined ? 'missing' : `"${t.has}"`}, set it to "${t.user}" (steward identity run-as)`)
  }
  return ok ? 0 : 1
}

export async function identityRunAsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } } })
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new UsageError('usage: steward identity run-as FILE [--dry-run] [--json]')
  const { spec } = await loadSpecFile(file)
  const content = specSessionPreferences(spec)
  if (!content) throw new UsageError(`${file} has no identity.runAs.defaultUser: Session Manager's preferences need it`)
  const dryRun = values['dry-run'] === true
  const document = dryRun ? { action: 'not applied (dry run)', content } : await applySessionPreferences(content, new SSMClient({}))
  const tags = await syncRunAsTags(spec.identity?.runAs?.iam ?? [], !dryRun, new IAMClient({}))
  if (values.json) console.log(JSON.stringify({ document, iam: tags }, null, 2))
  else {
    console.log(`SSM-SessionManagerRunShell: ${document.action}${'version' in document ? ` (version ${document.version})` : ''}`)
    for (const t of tags) console.log(`${t.changed ? 'tagged   ' : t.ok ? 'ok       ' : 'would tag'} ${t.principal} SSMSessionRunAs=${t.user}`)
  }
  return 0
}

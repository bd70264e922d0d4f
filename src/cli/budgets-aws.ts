/**
 * `steward budgets aws-sync FILE --topic-arn ARN [--dry-run] [--json]`: makes the AWS
 * Budget of the spec's `budgets.cluster` match it (ClusterName tag filter, ACTUAL and
 * FORECASTED notifications at each threshold to the topic and the `notify` addresses), with
 * the AWS credentials and region of the environment. Prints the calls planned (dry run) or
 * made; none when AWS already matches, so a second run changes nothing.
 */
import { parseArgs } from 'node:util'
import { loadSpecFile } from '../spec/load.js'
import { clusterBudgetInput } from '../budgets/aws-service.js'
import { accountOfTopic, createAwsBudgets } from '../adapters/aws/budgets.js'
import { UsageError } from './usage.js'

export async function awsSyncCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { 'topic-arn': { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } } })
  if (positionals.length !== 1 || !values['topic-arn']) throw new UsageError('usage: steward budgets aws-sync FILE --topic-arn ARN [--dry-run] [--json]')
  const topicArn = values['topic-arn']
  const { spec, warnings } = await loadSpecFile(positionals[0] as string)
  for (const w of warnings) console.error(`${w.severity}: ${w.path || '/'}: ${w.message}`)
  const input = clusterBudgetInput(spec, topicArn)
  const dryRun = values['dry-run'] === true
  const result = await createAwsBudgets(accountOfTopic(topicArn)).ensure(input, { dryRun })
  if (values.json) {
    console.log(JSON.stringify({ cluster: spec.cluster.name, budgetName: result.budgetName, dryRun, steps: result.lines }, null, 2))
    return 0
  }
  if (result.lines.length === 0) console.log(`AWS budget ${result.budgetName} already matches the spec: nothing to do`)
  else for (const line of result.lines) console.log(`${dryRun ? 'would ' : ''}${line}`)
  return 0
}

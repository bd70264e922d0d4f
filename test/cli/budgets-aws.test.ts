/**
 * `steward budgets aws-sync` against the emulator (the CLI's own AWS clients, configured by
 * the environment as on an admin's machine) and `steward budgets reconcile` through a
 * listening service app.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { main } from '../../src/cli/main.js'
import { startAwsEmulator, EMULATOR_ACCOUNT, type AwsEmulator } from '../support/aws/emulator.js'
import { specFor } from '../api/helpers.js'

let aws: AwsEmulator
const budgetName = `cli-campus-${process.pid}`
const topicArn = `arn:aws:sns:eu-west-1:${EMULATOR_ACCOUNT}:budgets-cli-${process.pid}`
const dir = mkdtempSync(join(tmpdir(), 'steward-aws-sync-'))

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const log = console.log
  const error = console.error
  console.log = (...a: unknown[]) => void out.push(a.join(' '))
  console.error = (...a: unknown[]) => void err.push(a.join(' '))
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') }
  } finally {
    console.log = log
    console.error = error
  }
}

function specFile(name: string, cluster: object | undefined): string {
  const spec = { ...specFor('campus'), pricing: { currency: 'USD', nodeGroups: { h100: 98.32 } }, ...(cluster ? { budgets: { cluster } } : {}) }
  const file = join(dir, `${name}.yaml`)
  writeFileSync(file, stringify(spec))
  return file
}

t.before(async () => {
  aws = await startAwsEmulator()
  Object.assign(process.env, aws.env)
})
t.teardown(async () => {
  await aws.close()
})

t.test('aws-sync: dry run, create, then nothing to do; a changed threshold is one notification swap', async (t) => {
  const file = specFile('ok', { monthly: 2500, thresholds: [80, 100], awsBudgetName: budgetName, notify: ['ops@example.edu'] })
  const dry = await run(['budgets', 'aws-sync', file, '--topic-arn', topicArn, '--dry-run'])
  t.equal(dry.code, 0, dry.err)
  t.match(dry.out, new RegExp(`^would create budget ${budgetName} \\(2500 USD a month, 4 notifications\\)`))
  t.equal(aws.budgets.get(EMULATOR_ACCOUNT, budgetName), undefined)
  t.equal((await run(['budgets', 'aws-sync', file, '--topic-arn', topicArn])).code, 0)
  t.equal(aws.budgets.get(EMULATOR_ACCOUNT, budgetName)?.notifications.length, 4)
  t.match((await run(['budgets', 'aws-sync', file, '--topic-arn', topicArn])).out, /already matches the spec: nothing to do/)
  const changed = specFile('changed', { monthly: 2500, thresholds: [90, 100], awsBudgetName: budgetName, notify: ['ops@example.edu'] })
  const r = await run(['budgets', 'aws-sync', changed, '--topic-arn', topicArn, '--json'])
  const body = JSON.parse(r.out) as { steps: string[] }
  t.same(body.steps.filter((s) => /^delete/.test(s)).length, 2, 'ACTUAL and FORECASTED at 80 go')
  t.same(body.steps.filter((s) => /^create notification/.test(s)).length, 2, 'and come at 90')
})

t.test('aws-sync refuses a spec without budgets.cluster, over the quota, or no topic', async (t) => {
  const bare = await run(['budgets', 'aws-sync', specFile('bare', undefined), '--topic-arn', topicArn])
  t.equal(bare.code, 1)
  t.match(bare.err, /has no budgets\.cluster/)
  const over = await run(['budgets', 'aws-sync', specFile('over', { monthly: 1, thresholds: [50, 80, 100], awsBudgetName: budgetName }), '--topic-arn', topicArn])
  t.equal(over.code, 1)
  t.match(over.err, /\/budgets\/cluster\/thresholds: 3 thresholds make 6 AWS Budgets notifications/)
  t.equal((await run(['budgets', 'aws-sync', specFile('x', undefined)])).code, 2)
})

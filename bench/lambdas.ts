/**
 * The Lambda bundles: size, and the cold import time of each (a fresh `node` importing the
 * bundle, as a Lambda cold start does) as a ratio to a fresh `node` that imports nothing;
 * and the budget-alert message parser (text form) as a ratio to JSON.parse of the same bytes.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { projectRoot } from '../src/project-root.js'
import { parseBudgetMessage } from '../src/budgets/aws-alert.js'
import { medianMs, type Report } from './timing.js'

const RUNS = 5
const MESSAGES = 20_000

export async function benchLambdas(report: Report): Promise<void> {
  const dir = join(projectRoot(), 'dist', 'lambdas')
  if (!existsSync(dir)) throw new Error(`${dir} is missing: npm run bench builds it`)
  const node = (code: string) => () => execFileSync(process.execPath, ['--input-type=module', '-e', code], { stdio: 'ignore', timeout: 30_000 })
  const baseline = await medianMs(node('0'), RUNS)
  for (const name of readdirSync(dir).sort()) {
    const bundle = join(dir, name, 'index.mjs')
    if (!existsSync(bundle)) continue
    const cold = await medianMs(node(`const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); if (typeof m.handler !== 'function') process.exit(3)`), RUNS)
    report(`lambda ${name}`, {
      'bundle bytes': statSync(bundle).size,
      'cold import ms (median of 5)': cold.toFixed(1),
      'baseline: empty node ms': baseline.toFixed(1),
      'ratio (import / empty node)': (cold / baseline).toFixed(2),
    })
  }
  const text = readFileSync(join(projectRoot(), 'test', 'fixtures', 'events', 'budget-notification.txt'), 'utf8')
  const messages = Array.from({ length: MESSAGES }, (_, i) => text.replace('$812.34', `$${800 + (i % 100)}.34`))
  const asJson = messages.map((m) => JSON.stringify({ m }))
  const parse = await medianMs(() => { for (const m of messages) if (!parseBudgetMessage(m)) throw new Error('unparsed') }, RUNS)
  const json = await medianMs(() => { for (const j of asJson) JSON.parse(j) }, RUNS)
  report('budget alert parsing (plain-text form)', {
    messages: MESSAGES,
    'parse ms (median of 5)': parse.toFixed(1),
    'baseline: JSON.parse same bytes ms': json.toFixed(1),
    'ratio (parse / JSON.parse)': (parse / json).toFixed(2),
  })
}

/**
 * The service's usage path (sacct text parsed and aggregated in one pass, no record
 * objects) against the record path (`SacctStream` + `UsageAggregator.add`) and against
 * a golden summary written by the aggregator before the fused path existed
 * (`UPDATE_GOLDEN=1` rewrites it: review the diff), on a varied generated month.
 */
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import type { Executor } from '../../src/adapters/executor.js'
import { SacctStream } from '../../src/usage/sacct.js'
import { UsageAggregator, type Window } from '../../src/usage/aggregate.js'
import { monthWindow, pagesOf, readUsage } from '../../src/usage/read.js'
import { summary, variedSacct } from './varied.js'

function spec(): ClusterSpec {
  const s = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
  s.pricing = { currency: 'USD', nodeGroups: { h100: 98.32, a10g: 5.672, cpu: 3.06 } }
  return s
}
const GOLDEN = new URL('./golden/varied-month.json', import.meta.url)
const WINDOW = monthWindow('2026-12')
/** Mid-month: running jobs are charged up to here, later pages are not read. */
const NOW = WINDOW.from + 17 * 86_400 + 5_000
const pageText = (page: Window, k: number) => variedSacct(page.from, 1, 250, 1000 + k)

/** An Executor answering each day's sacct with that day's varied text. */
function executor(): Executor {
  return {
    target: 'fake',
    async run(argv) {
      const from = Date.parse(`${argv.find((a) => a.startsWith('--starttime='))!.slice(12)}Z`) / 1000
      return { argv, code: 0, stderr: '', stdout: pageText({ from, to: from + 86_400 }, (from - WINDOW.from) / 86_400) }
    },
    readFile: async () => undefined,
    writeFileAtomic: async () => undefined,
  }
}

t.test('the service path gives what the aggregator gave before it was fused (golden)', async (t) => {
  const got = JSON.parse(JSON.stringify(summary(await readUsage(executor(), spec(), WINDOW, { now: NOW }))))
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, `${JSON.stringify(got, null, 1)}\n`)
  const want = JSON.parse(readFileSync(GOLDEN, 'utf8')) as { records: number; garbledCount: number; uncharged: unknown[]; daily: unknown[] }
  t.ok(want.records > 4000 && want.garbledCount > 100 && want.uncharged.length > 50 && want.daily.length === 18, 'the golden input is varied')
  t.same(got, want)
})

t.test('the record path (SacctStream and add, text in odd chunks) gives the same', async (t) => {
  const agg = new UsageAggregator(spec(), WINDOW, NOW)
  pagesOf({ from: WINDOW.from, to: NOW + 1 }).forEach((page, k) => {
    const name = `${new Date(page.from * 1000).toISOString()}/${new Date(page.to * 1000).toISOString()}`
    const stream = new SacctStream((r) => agg.add(r, page), (g) => agg.addGarbled(name, g))
    const text = pageText(page, k)
    for (let i = 0; i < text.length; i += 997) stream.push(text.slice(i, i + 997))
    stream.end()
  })
  t.same(JSON.parse(JSON.stringify(summary(agg))), JSON.parse(readFileSync(GOLDEN, 'utf8')))
})

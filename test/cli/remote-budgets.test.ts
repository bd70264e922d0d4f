/**
 * `steward --server URL --token-file F usage|budgets` against the app with the budget
 * service on loopback (sacct answered by the budget fixture): the same tables, --json and
 * --csv as `steward usage|budgets` with STEWARD_TOKEN, scoped by the token.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { setup, MONTH } from '../budgets/fixture.js'
import { steward } from './run.js'
import { budgetUsageProvider } from '../../src/me/usage-provider.js'

t.test('usage and budgets through --server with a token file, and with STEWARD_TOKEN/--url', async (t) => {
  const s = await setup(t, (budgets) => ({ usageProvider: budgetUsageProvider(budgets) }))
  const address = await s.app.listen({ port: 0, host: '127.0.0.1' })
  const dir = mkdtempSync(join(tmpdir(), 'steward-remote-budgets-'))
  const tokenFile = (name: keyof typeof s.tokens): string => {
    const file = join(dir, name)
    writeFileSync(file, `${s.tokens[name]}\n`, { mode: 0o600 })
    return file
  }
  const usage = await steward('--server', address, '--token-file', tokenFile('admin'), '--cluster', 'campus', 'usage', '--group-by', 'user')
  t.equal(usage.code, 0, usage.err)
  t.match(usage.out, /^campus: /)
  t.match(usage.out, /\nUSER\s+JOBS\s+GPU-HOURS/)
  t.match(usage.out, /\nalice\s+1\s+8\s.*98\.32/)
  t.match(usage.err, /1 line\(s\) of sacct output could not be read/)
  const nlp = await steward('--server', address, '--token-file', tokenFile('nlp'), 'usage', '--csv')
  t.equal(nlp.code, 0, nlp.err)
  t.equal(nlp.out, 'DEPARTMENT,JOBS,GPU-HOURS,CPU-HOURS,NODE-HOURS,BILLED-NODE-HOURS,COST (EUR)\nnlp,1,8,4,1,1,98.32', 'the token\'s one cluster; only nlp')
  const budgets = await steward('--server', address, '--token-file', tokenFile('cvdl'), 'budgets')
  t.equal(budgets.code, 0, budgets.err)
  t.match(budgets.out, new RegExp(`^campus: budgets of ${MONTH}\\nDEPARTMENT\\s+BUDGET\\s+SPENT`))
  t.match(budgets.out, /\ncv\s+100\.00 EUR\s+5\.67/)
  t.notMatch(budgets.out, /nlp/)
  const json = await steward('--server', address, '--token-file', tokenFile('admin'), '--cluster', 'campus', 'budgets', '--json')
  t.same(JSON.parse(json.out), (await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/budgets' })).json())
  const bad = await steward('--server', address, '--token-file', tokenFile('admin'), '--cluster', 'campus', 'budgets', '--month', '2026-1')
  t.equal(bad.code, 2, 'a bad month is a usage error')
  t.match(bad.err, /--month must be YYYY-MM/)
  for (const month of ['2026-13', '2026-00']) {
    const r = await steward('--server', address, '--token-file', tokenFile('admin'), '--cluster', 'campus', 'budgets', '--month', month)
    t.equal(r.code, 2, `${month} is a usage error, as the API's pattern refuses it`)
    t.match(r.err, /--month must be YYYY-MM/)
  }
  const me = await steward('--server', address, '--token-file', tokenFile('alice'), 'whoami')
  t.equal(me.code, 0, me.err)
  t.match(me.out, new RegExp(`\\nusage ${MONTH}: 1 jobs, 8 GPU-hours, 4 CPU-hours, cost 98\\.32 EUR\\nbudget nlp: 98\\.32 of 50\\.00 EUR \\(196\\.64 %\\), crossed 100 %`))
  // The STEWARD_TOKEN way prints the same table from the same formatting code.
  const before = process.env.STEWARD_TOKEN
  process.env.STEWARD_TOKEN = s.tokens.cvdl
  t.teardown(() => { if (before === undefined) delete process.env.STEWARD_TOKEN; else process.env.STEWARD_TOKEN = before })
  const local = await steward('budgets', '--url', address, '--cluster', 'campus')
  t.equal(local.code, 0, local.err)
  t.equal(local.out, budgets.out)
})

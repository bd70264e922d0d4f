/**
 * The usage view (the usage page and /v1/me) reads the month from sacct once per request:
 * the budget state it shows charges the same read. Counted by the fixture's Executor,
 * which answers one sacct run per day of the month so far.
 */
import t from 'tap'
import { setup, NOW, MONTH } from './fixture.js'
import { budgetUsageProvider } from '../../src/me/usage-provider.js'
import { monthWindow, pagesOf } from '../../src/usage/read.js'
import { signIn } from '../ui/helpers.js'

/** The sacct runs of one read of the month up to NOW: one per day page. */
const window = monthWindow(MONTH)
const PAGES = pagesOf({ from: window.from, to: Math.min(window.to, NOW + 1) }).length

t.test('GET /v1/me and the usage page read the month once per request', async (t) => {
  const s = await setup(t, (budgets) => ({ usageProvider: budgetUsageProvider(budgets, () => NOW) }))
  s.sacct.runs = 0
  const me = await s.as('admin', { method: 'GET', url: '/v1/me?cluster=campus' })
  t.equal(me.statusCode, 200, me.body)
  t.match(me.json().usage.budgets[0], { department: 'nlp', spend: '98.32' }, 'the budget state is charged')
  t.equal(s.sacct.runs, PAGES, `/v1/me: one read of ${PAGES} day pages`)

  const admin = await signIn(s.app, s.tokens.admin)
  s.sacct.runs = 0
  const page = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus/usage', cookies: { stw_session: admin.session } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /budget 50\.00/)
  t.equal(s.sacct.runs, PAGES, '/ui/clusters/campus/usage: one read')

  // Another month's usage is not taken for this month's budget state.
  s.sacct.runs = 0
  const read = await s.budgets.usage('campus', monthWindow('2020-01'))
  const status = await s.budgets.status('campus', MONTH, read)
  t.equal(status.departments.find((d) => d.department === 'nlp')?.spendCents, 9832)
  t.equal(s.sacct.runs, 31 + PAGES, 'January 2020, then this month')
})

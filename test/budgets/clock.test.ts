/**
 * One clock for every budget and usage path: the budget service's `now`. A run that
 * crosses a month's end (the fixture's NOW is read once, at load) must not see two
 * months: here the service's clock is one second past the end of the fixture's month,
 * and the usage route's default window, GET .../budgets, /v1/me and the usage page all
 * show the month that clock is in, whatever the wall clock says.
 */
import t from 'tap'
import { setup, MONTH } from './fixture.js'
import { budgetUsageProvider } from '../../src/me/usage-provider.js'
import { monthOf, monthWindow } from '../../src/usage/read.js'
import { signIn } from '../ui/helpers.js'

const CLOCK = monthWindow(MONTH).to + 1
const NEXT = monthOf(CLOCK)

t.test('every budget and usage path reads the service\'s clock, not the wall clock', async (t) => {
  t.not(NEXT, MONTH)
  const s = await setup(t, (budgets) => ({ usageProvider: budgetUsageProvider(budgets) }), () => CLOCK)
  const usage = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/usage' })
  t.equal(usage.statusCode, 200, usage.body)
  t.match(usage.json(), { from: `${NEXT}-01T00:00:00.000Z`, to: new Date(CLOCK * 1000).toISOString(), total: { jobs: 0 } }, 'the default window: the clock\'s month so far')
  t.match((await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/budgets' })).json(), { month: NEXT })
  const me = await s.as('alice', { method: 'GET', url: '/v1/me?cluster=campus' })
  t.match(me.json().usage, { available: true, month: NEXT }, '/v1/me: the clock\'s month')
  const admin = await signIn(s.app, s.tokens.admin)
  const page = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus/usage', cookies: { stw_session: admin.session } })
  t.equal(page.statusCode, 200)
  t.match(page.body, `name="month" type="month" value="${NEXT}"`, 'the usage page: the clock\'s month')
})

t.test('at the first second of a month the default usage window is that second, not an error', async (t) => {
  const start = monthWindow(NEXT).from
  const s = await setup(t, () => ({}), () => start)
  const usage = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/usage' })
  t.equal(usage.statusCode, 200, usage.body)
  t.match(usage.json(), { from: `${NEXT}-01T00:00:00.000Z`, to: new Date((start + 1) * 1000).toISOString(), total: { jobs: 0, costCents: 0 } })
  const future = await s.as('admin', { method: 'GET', url: `/v1/clusters/campus/usage?from=${new Date((start + 3600) * 1000).toISOString()}` })
  t.equal(future.statusCode, 400, 'a from after now, with no to, is still refused')
})

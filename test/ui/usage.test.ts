/**
 * Usage and budgets on the dashboard and in /v1/me, wired to the budget service (sacct
 * answered by the budget fixture's fake Executor: three one-hour jobs on the month's
 * first day): the per-day and burn-down plots, the thresholds marked, and the scoping of
 * GET .../usage and .../budgets (a department admin sees only theirs, a researcher their own).
 */
import t from 'tap'
import { setup, MONTH } from '../budgets/fixture.js'
import { budgetUsageProvider } from '../../src/me/usage-provider.js'
import { signIn } from './helpers.js'
import { NOW } from '../budgets/fixture.js'
import { usageView } from '../../src/budgets/view.js'
import { usagePageView } from '../../src/ui/pages.js'

const OTHERS_OF_NLP = /\b(cv|dl|chen|okafor|dave|frank|Computer Vision|Deep Learning)\b/

t.test('GET /v1/me carries the researcher\'s own usage and their departments\' budget state', async (t) => {
  const s = await setup(t, (budgets) => ({ usageProvider: budgetUsageProvider(budgets, () => NOW) }))
  const alice = await s.as('alice', { method: 'GET', url: '/v1/me?cluster=campus' })
  t.equal(alice.statusCode, 200, alice.body)
  const usage = alice.json().usage
  t.match(usage, { available: true, month: MONTH, currency: 'EUR', total: { jobs: 1, gpuHours: 8, costCents: 9832, cost: '98.32' } })
  t.same(usage.byDepartment.map((l: { key: string }) => l.key), ['nlp'], 'only her own jobs')
  t.same(usage.budgets.map((b: { department: string }) => b.department), ['nlp'])
  t.match(usage.budgets[0], { spend: '98.32', budget: '50.00', percent: 196.64, crossed: [100], onExceeded: 'restrict', action: null })
  t.notOk('daily' in usage, '/v1/me stays small: no per-day series')
  const cvdl = (await s.as('cvdl', { method: 'GET', url: '/v1/me?cluster=campus' })).json().usage
  t.same(cvdl.budgets.map((b: { department: string }) => b.department), ['cv', 'dl'])
  t.same(cvdl.byDepartment.map((l: { key: string }) => l.key), ['cv', 'dl'])
  t.notMatch(JSON.stringify(cvdl), /nlp|alice|pi@example/, 'nothing of nlp, no recipients')
  const admin = (await s.as('admin', { method: 'GET', url: '/v1/me?cluster=campus' })).json().usage
  t.equal(admin.total.costCents, 9832 + 567 + 306)
  t.same(admin.budgets.map((b: { department: string }) => b.department), ['nlp', 'cv', 'dl'], 'spec order')
  // The same numbers as GET .../budgets for the same token.
  const budgets = (await s.as('cvdl', { method: 'GET', url: '/v1/clusters/campus/budgets' })).json()
  t.same(budgets.departments.map((d: { spendCents: number }) => d.spendCents), cvdl.budgets.map((b: { spendCents: number }) => b.spendCents))
})

t.test('/ui/clusters/{c}/usage: cost per day and burn-down with thresholds, scoped', async (t) => {
  const s = await setup(t, (budgets) => ({ usageProvider: budgetUsageProvider(budgets, () => NOW) }))
  // The check puts nlp's "restrict" in force: the page shows it.
  t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/check' })).statusCode, 200)
  const admin = await signIn(s.app, s.tokens.admin)
  const page = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus/usage', cookies: { stw_session: admin.session } })
  t.equal(page.statusCode, 200, page.body.slice(0, 500))
  t.notMatch(page.body, /<script/i)
  for (const d of ['nlp', 'cv', 'dl']) t.match(page.body, new RegExp(`<h2>${d}</h2>`), `a section for ${d}`)
  t.match(page.body, `${MONTH}-01: 98.32 EUR</title>`, 'nlp\'s first day as a bar with its cost')
  t.match(page.body, /class="mark"/, 'threshold and budget lines')
  t.match(page.body, /budget 50\.00/)
  t.match(page.body, /In force: restrict/)
  t.match(page.body, /\(196\.64 %\)/)
  const days = Number(new Date(Date.UTC(Number(MONTH.slice(0, 4)), Number(MONTH.slice(5, 7)), 0)).getUTCDate())
  const nlpSection = page.body.slice(page.body.indexOf('<h2>nlp</h2>'))
  const today = new Date(NOW * 1000).getUTCDate()
  t.equal((nlpSection.match(/spent to date<\/title>/g) ?? []).length, today, 'the burn-down has a bar for each day so far (spend began on the 1st), none for the days to come')
  t.ok(days >= today)
  const view = await usageView(s.budgets, { tokenId: 'test', role: 'admin', departments: [], user: null, cluster: null }, 'campus', NOW)
  const past = usagePageView({ ...view, through: `${MONTH}-${String(days).padStart(2, '0')}` })
  t.equal(past.departments.find((d) => d.name === 'nlp')?.burn?.bars.length, days, 'a month that is over: a bar for each of its days')
  const ahead = usagePageView({ ...view, through: null })
  t.equal(ahead.departments.find((d) => d.name === 'nlp')?.burn?.bars.length, 0, 'a month to come: none')

  const nlp = await signIn(s.app, s.tokens.nlp)
  for (const url of ['/ui/clusters/campus/usage', '/ui/me']) {
    const r = await s.app.inject({ method: 'GET', url, cookies: { stw_session: nlp.session } })
    t.equal(r.statusCode, 200, url)
    t.match(r.body, /nlp/)
    t.notMatch(r.body, OTHERS_OF_NLP, `${url} shows nothing of cv or dl`)
  }
  const alice = await signIn(s.app, s.tokens.alice)
  const me = await s.app.inject({ method: 'GET', url: '/ui/me', cookies: { stw_session: alice.session } })
  t.match(me.body, /1 jobs, 8 GPU-hours/)
  t.match(me.body, /<td>nlp<\/td><td>98\.32<\/td><td>50\.00<\/td>/)
  const bad = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus/usage?month=2026-13', cookies: { stw_session: admin.session } })
  t.equal(bad.statusCode, 400, 'a month that is not one is refused')
})

t.test('without the budget service the page says usage is not available', async (t) => {
  const { seeded } = await import('../api/helpers.js')
  const s = await seeded()
  t.teardown(() => s.app.close())
  const admin = await signIn(s.app, s.tokens.admin)
  const r = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus/usage', cookies: { stw_session: admin.session } })
  t.equal(r.statusCode, 200)
  t.match(r.body, /usage and budgets are not available in this version/)
})

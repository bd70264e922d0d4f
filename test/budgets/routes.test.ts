/**
 * The usage and budget routes on a real store, with the controller's sacct answered by a
 * fake Executor and the apply engine by a recorder: the event contract of the budget-alert
 * Lambda (duplicates have one effect, 404, 422, 403), scoping of usage and budget state by
 * role, lift and check.
 */
import t from 'tap'
import { setup, iso, MONTH, NOW, DAY1, fakeSacct, profileWith, recordingEngine } from './fixture.js'
import { createBudgetService } from '../../src/budgets/service.js'
import type { BudgetEventBody } from '../../src/budgets/contract.js'
import type { Store } from '../../src/store/types.js'

const event = (over: Record<string, unknown> = {}) => ({
  eventId: 'msg-1', source: 'aws-budgets', budgetName: 'campus-cv', department: 'cv', month: MONTH,
  thresholdPercent: 100, notificationType: 'ACTUAL', actualSpend: 120, budgetLimit: 100, currency: 'EUR', ...over,
})

t.test('POST budgets/events: a department at 100 % ACTUAL runs its action once; duplicates have one effect', async (t) => {
  const { as, started, store } = await setup(t)
  const post = (who: 'admin' | 'nlp', body: unknown, cluster = 'campus') => as(who, { method: 'POST', url: `/v1/clusters/${cluster}/budgets/events`, payload: body as object })
  const first = await post('admin', event())
  t.equal(first.statusCode, 200, first.body)
  t.same(first.json(), { recorded: true, action: 'block' })
  await new Promise((r) => setTimeout(r, 50))
  t.match(started, [/^campus@1:tok_\w+:admin$/], 'one apply of the applied revision, by the event\'s actor')
  t.same((await post('admin', event())).json(), { recorded: false, action: 'none' }, 'same event id')
  t.same((await post('admin', event({ eventId: 'msg-2' }))).json(), { recorded: false, action: 'none' }, 'same content, another id')
  t.equal(started.length, 1, 'duplicates start nothing')
  t.same((await post('admin', event({ eventId: 'msg-3', notificationType: 'FORECASTED' }))).json(), { recorded: true, action: 'none' })
  t.same((await post('admin', event({ eventId: 'msg-4', department: 'nlp', budgetName: 'campus-nlp', thresholdPercent: 80 }))).json(), { recorded: true, action: 'none' }, 'below 100 %')
  t.same((await post('admin', event({ eventId: 'msg-5', department: null, budgetName: 'campus-monthly', thresholdPercent: 80 }))).json(), { recorded: true, action: 'none' }, 'the cluster budget: recorded')
  t.same((await post('admin', event({ eventId: 'msg-6', department: 'dl', budgetName: 'campus-dl' }))).json(), { recorded: true, action: 'notify' }, 'a department budget by its own name')
  const unknown = await post('admin', event({ eventId: 'msg-7', budgetName: 'someone-else' }))
  t.equal(unknown.statusCode, 422)
  t.match(unknown.json(), { error: 'UnknownBudget' })
  t.equal((await post('admin', event({ eventId: 'msg-8', department: 'physics', budgetName: 'campus-physics' }))).statusCode, 422, 'a department without a budget')
  t.equal((await post('admin', event({ eventId: 'msg-8', department: 'cv', budgetName: 'campus-monthly' }))).statusCode, 422, 'a department event under the cluster budget\'s name')
  t.equal((await post('admin', event({ eventId: 'msg-8', department: 'Bad Name' }))).statusCode, 400)
  t.equal((await post('admin', event(), 'nosuch')).statusCode, 404)
  t.equal((await post('nlp', event({ eventId: 'msg-9' }))).statusCode, 403)
  t.equal((await post('admin', event({ eventId: 'msg-10', thresholdPercent: 1001 }))).statusCode, 400)
  t.equal((await post('admin', { ...event({ eventId: 'msg-11' }), extra: 1 })).statusCode, 400)
  const audit = await store.listAudit({ cluster: 'campus', action: 'budget.event' }, { limit: 50 })
  t.equal(audit.items.length, 7, 'every event of a known budget is audited, duplicates too')
  const actions = await store.listBudgetActions('campus', MONTH)
  t.match(actions, [{ department: 'cv', action: 'block', endedAt: null }])
})

t.test('POST budgets/events with a notice: "send" until a sender confirms it "sent", across deliveries; a bad notice value is 400', async (t) => {
  const { as, store } = await setup(t)
  const post = (body: unknown) => as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/events', payload: body as object })
  const asked = event({ eventId: 'n-1', department: 'nlp', budgetName: 'campus-nlp', thresholdPercent: 80, notice: 'wanted' })
  t.same((await post(asked)).json(), { recorded: true, action: 'none', notice: 'send' })
  t.same((await post({ ...asked, eventId: 'n-2' })).json(), { recorded: false, action: 'none', notice: 'send' }, 'another delivery, nothing confirmed yet: still owed')
  t.same((await post({ ...asked, notice: 'sent' })).json(), { recorded: false, action: 'none', notice: 'sent' })
  t.same((await post({ ...asked, eventId: 'n-3' })).json(), { recorded: false, action: 'none', notice: 'sent' }, 'confirmed: never owed again')
  t.same((await post(event({ eventId: 'n-4', department: 'nlp', budgetName: 'campus-nlp', thresholdPercent: 90 }))).json(), { recorded: true, action: 'none' }, 'no notice asked: none answered')
  t.equal((await post(event({ eventId: 'n-5', notice: 'maybe' }))).statusCode, 400)
  const rows = (await store.listBudgetNotifications('campus', MONTH)).filter((n) => n.key.startsWith('aws-budgets:'))
  t.match(rows, [{ key: `aws-budgets:campus:campus-nlp:${MONTH}:ACTUAL:80`, department: 'nlp', status: 'sent', thresholdPercent: 80 }])
})

t.test('the notice answer reads its one row by key, never the month\'s notifications', async (t) => {
  const { store } = await setup(t)
  const calls: string[] = []
  const counted = new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.push(String(prop))
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  }) as Store
  const budgets = createBudgetService({
    store: counted, engine: recordingEngine().engine, profileFor: profileWith(fakeSacct(DAY1, [])), now: () => NOW,
    log: { info: () => undefined, error: () => undefined },
  })
  const asked = event({ eventId: 'k-1', department: 'nlp', budgetName: 'campus-nlp', thresholdPercent: 80, notice: 'wanted' }) as BudgetEventBody
  t.match(await budgets.recordEvent('campus', asked, 'test', 'test'), { recorded: true, notice: 'send' })
  t.match(await budgets.recordEvent('campus', { ...asked, eventId: 'k-2' }, 'test', 'test'), { recorded: false, notice: 'send' }, 'claimed, not confirmed: still owed')
  await budgets.recordEvent('campus', { ...asked, notice: 'sent' }, 'test', 'test')
  t.match(await budgets.recordEvent('campus', { ...asked, eventId: 'k-3' }, 'test', 'test'), { recorded: false, notice: 'sent' }, 'confirmed')
  t.equal(calls.filter((c) => c === 'getBudgetNotification').length, 2, 'one keyed read per answer the claim did not settle')
  t.notOk(calls.includes('listBudgetNotifications'), 'no list of the month')
})

t.test('GET usage is scoped: admins all, department admins their departments, researchers themselves', async (t) => {
  const { as } = await setup(t)
  const get = async (who: 'admin' | 'nlp' | 'alice' | 'frank' | 'cvdl', query: string) => {
    const r = await as(who, { method: 'GET', url: `/v1/clusters/campus/usage?${query}` })
    t.equal(r.statusCode, 200, r.body)
    return r.json() as { lines: Array<{ key: string; costCents: number; cost: string; gpuHours: number }>; total: { costCents: number }; currency: string; garbledLines: number; garbled: unknown[] }
  }
  const window = `from=${MONTH}-01&to=${iso(NOW)}`
  const admin = await get('admin', `${window}&groupBy=user`)
  t.same(admin.lines.map((l) => [l.key, l.costCents]), [['alice', 9832], ['dave', 567], ['frank', 306]])
  t.equal(admin.total.costCents, 9832 + 567 + 306)
  t.equal(admin.currency, 'EUR')
  t.equal(admin.garbledLines, 1, 'the garbled line is reported to admins, not charged')
  t.match(admin.lines[1], { key: 'dave', cost: '5.67', gpuHours: 4 })
  t.same((await get('nlp', `${window}&groupBy=user`)).lines.map((l) => l.key), ['alice'])
  t.same((await get('cvdl', `${window}&groupBy=department`)).lines.map((l) => l.key), ['cv', 'dl'])
  const alice = await get('alice', `${window}&groupBy=account`)
  t.same(alice.lines.map((l) => l.key), ['nlp-smith'])
  t.same([alice.garbledLines, alice.garbled], [0, []])
  t.same((await get('frank', `${window}&groupBy=partition`)).lines.map((l) => l.key), ['dl'])
  const bad = await as('admin', { method: 'GET', url: '/v1/clusters/campus/usage?from=2026-12-05&to=2026-12-01' })
  t.equal(bad.statusCode, 400)
  t.equal((await as('admin', { method: 'GET', url: '/v1/clusters/campus/usage?groupBy=color' })).statusCode, 400)
})

t.test('GET budgets: spend, forecast, thresholds, action; scoped; check and lift (admins)', async (t) => {
  const { as, started } = await setup(t)
  const budgetsOf = async (who: 'admin' | 'alice' | 'cvdl') => {
    const r = await as(who, { method: 'GET', url: '/v1/clusters/campus/budgets' })
    t.equal(r.statusCode, 200, r.body)
    return r.json() as { departments: Array<{ department: string; spendCents: number; percent: number; crossed: number[]; forecastCents: number; notify: string[]; action: { action: string } | null }>; cluster: unknown }
  }
  const check = await as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/check' })
  t.equal(check.statusCode, 200, check.body)
  t.same(check.json().started, [{ department: 'nlp', action: 'restrict' }], 'nlp spent 98.32 of 50: restrict; cv and dl are under 100')
  t.equal(started.length, 1)
  const admin = await budgetsOf('admin')
  const nlp = admin.departments.find((d) => d.department === 'nlp')!
  t.match(nlp, { spendCents: 9832, percent: 196.64, crossed: [100], action: { action: 'restrict' }, notify: ['pi@example.edu'] })
  t.ok(nlp.forecastCents >= nlp.spendCents, 'the forecast extrapolates to month end')
  t.ok(admin.cluster, 'admins see the cluster budget')
  const alice = await budgetsOf('alice')
  t.same(alice.departments.map((d) => d.department), ['nlp'])
  t.same([alice.cluster, alice.departments[0]!.notify], [null, []], 'no cluster budget, no addresses')
  t.same((await budgetsOf('cvdl')).departments.map((d) => d.department), ['cv', 'dl'])
  t.equal((await as('alice', { method: 'POST', url: '/v1/clusters/campus/budgets/check' })).statusCode, 403)
  t.equal((await as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/cv/lift' })).statusCode, 409, 'nothing in force on cv')
  const lift = await as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/nlp/lift' })
  t.equal(lift.statusCode, 200, lift.body)
  t.equal(started.length, 2, 'the lift is applied')
  t.equal((await budgetsOf('admin')).departments.find((d) => d.department === 'nlp')?.action?.action, 'restrict', 'shown with its end')
  t.same((await as('admin', { method: 'POST', url: '/v1/clusters/campus/budgets/check' })).json().started, [], 'a lift holds for the month')
})

t.test('lift names what is wrong: an unknown cluster (404), a department the spec does not have (404), nothing in force (409)', async (t) => {
  const { as, started } = await setup(t)
  const lift = (path: string) => as('admin', { method: 'POST', url: `/v1/clusters/${path}/lift` })
  const nosuch = await lift('nosuch/budgets/nlp')
  t.equal(nosuch.statusCode, 404, nosuch.body)
  t.match(nosuch.json(), { error: 'NotFound', message: /cluster nosuch/ })
  const physics = await lift('campus/budgets/physics')
  t.equal(physics.statusCode, 404, physics.body)
  t.match(physics.json(), { error: 'NotFound', message: /cluster campus has no department "physics"/ })
  const cv = await lift('campus/budgets/cv')
  t.equal(cv.statusCode, 409, cv.body)
  t.match(cv.json(), { error: 'Conflict', message: /department cv has no budget action in force in \d{4}-\d{2}/ })
  t.equal(started.length, 0, 'nothing applied')
})

t.test('steward usage and steward budgets: tables, --json and --csv through the API', async (t) => {
  const { app, tokens } = await setup(t)
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const { usageCommand, budgetsCommand } = await import('../../src/cli/budgets.js')
  const run = async (token: string, fn: (args: string[]) => Promise<number>, args: string[]) => {
    const out: string[] = []
    const log = console.log
    const saved = process.env.STEWARD_TOKEN
    console.log = (...a: unknown[]) => { out.push(a.join(' ')) }
    process.env.STEWARD_TOKEN = token
    try {
      t.equal(await fn(['--url', address, '--cluster', 'campus', ...args]), 0)
    } finally {
      console.log = log
      if (saved === undefined) delete process.env.STEWARD_TOKEN
      else process.env.STEWARD_TOKEN = saved
    }
    return out.join('\n')
  }
  const table = await run(tokens.admin, usageCommand, ['--from', `${MONTH}-01`, '--group-by', 'user'])
  t.match(table, /^USER\s+JOBS\s+GPU-HOURS\s+CPU-HOURS\s+NODE-HOURS\s+BILLED-NODE-HOURS\s+COST \(EUR\)$/m)
  t.match(table, /^alice\s+1\s+8\s+4\s+1\s+1\s+98\.32$/m)
  t.match(table, /^total\s+3\s+(?:\S.*)?107\.05$/m)
  const csv = await run(tokens.alice, usageCommand, ['--from', `${MONTH}-01`, '--group-by', 'user', '--csv'])
  t.equal(csv, 'USER,JOBS,GPU-HOURS,CPU-HOURS,NODE-HOURS,BILLED-NODE-HOURS,COST (EUR)\nalice,1,8,4,1,1,98.32', 'a researcher: their own line only')
  const json = JSON.parse(await run(tokens.nlp, budgetsCommand, ['--json'])) as { departments: Array<{ department: string }> }
  t.same(json.departments.map((d) => d.department), ['nlp'])
  t.match(await run(tokens.admin, budgetsCommand, []), /^cv\s+100\.00 EUR\s+5\.67\s+5\.67%/m)
  process.env.STEWARD_TOKEN = tokens.alice
  await t.rejects(budgetsCommand(['--url', address, '--cluster', 'campus', 'check']), /403 only cluster admins may check budgets/)
  // check and lift act on this month and on one department, reconcile on the cluster: anything more is refused before a request.
  process.env.STEWARD_TOKEN = tokens.admin
  for (const args of [['lift', 'nlp', 'cv'], ['check', 'nlp'], ['lift', 'nlp', '--month', '2026-01'], ['check', '--month', '2026-01'], ['reconcile', 'nlp', '--month', '2026-01']]) {
    await t.rejects(budgetsCommand(['--url', 'http://127.0.0.1:1', '--cluster', 'campus', ...args]), { name: 'UsageError' }, args.join(' '))
  }
  delete process.env.STEWARD_TOKEN
})

t.test('the scheduler checks every cluster with budgets, one tick at a time, and stops', async (t) => {
  const { budgets, store, started } = await setup(t)
  const stop = budgets.startScheduler(20)
  t.teardown(stop)
  const end = Date.now() + 10_000
  while ((await store.listBudgetNotifications('campus', MONTH)).length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
  stop()
  t.same((await store.listBudgetNotifications('campus', MONTH)).map((n) => n.key), [`campus/nlp/${MONTH}/100`])
  await new Promise((r) => setTimeout(r, 100))
  t.equal(started.length, 1, 'the restrict was applied once, however many ticks ran')
  t.match(await store.listBudgetActions('campus', MONTH), [{ department: 'nlp', action: 'restrict', endedAt: null }])
})

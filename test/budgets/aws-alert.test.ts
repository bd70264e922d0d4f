/** Budget alert messages: both forms parsed, what they leave open settled by the read-back, the event body. */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { alertKey, eventBody, monthOf, needsReadback, parseBudgetMessage, parseMoney, resolveAlert, type BudgetReadback } from '../../src/budgets/aws-alert.js'

const text = readFileSync(new URL('../fixtures/events/budget-notification.txt', import.meta.url), 'utf8')
const back: BudgetReadback = { limit: 333.33, currency: 'USD', actual: 340.5, forecasted: 420, notifications: [{ type: 'ACTUAL', threshold: 80 }, { type: 'FORECASTED', threshold: 80 }, { type: 'ACTUAL', threshold: 100 }, { type: 'FORECASTED', threshold: 100 }] }

t.test('money', async (t) => {
  t.same(parseMoney('$1,000.00'), { amount: 1000, currency: 'USD' })
  t.same(parseMoney(' 812.34 USD '), { amount: 812.34, currency: 'USD' })
  t.same(parseMoney('EUR 5'), { amount: 5, currency: 'EUR' })
  t.same(parseMoney('1234'), { amount: 1234 })
  for (const bad of ['', 'abc', '1,00', '$-5', '1.2.3']) t.equal(parseMoney(bad), undefined, bad)
})

t.test('the plain-text form (AWS Budget Notification)', async (t) => {
  const p = parseBudgetMessage(text)
  t.same(p, { form: 'text', budgetName: 'hpc-steward-campus', notificationType: 'ACTUAL', thresholdAmount: 800, spend: 812.34, budgetLimit: 1000, currency: 'USD', accountId: '123456789012' })
  t.equal(needsReadback(p!), false, '800 of 1000 is exactly 80 %')
  t.same(resolveAlert(p!), { budgetName: 'hpc-steward-campus', notificationType: 'ACTUAL', thresholdPercent: 80, actualSpend: 812.34, budgetLimit: 1000, currency: 'USD' })
  const forecast = parseBudgetMessage(text.replace('Alert Type: ACTUAL', 'Alert Type: FORECASTED').replace('ACTUAL Amount: $812.34', 'FORECASTED Amount: $1,050.00'))
  t.match(resolveAlert(forecast!), { notificationType: 'FORECASTED', forecastedSpend: 1050 })
  t.notOk('actualSpend' in (resolveAlert(forecast!) as object), 'a forecast is not spend')
  const percentForm = parseBudgetMessage(text.replace('Alert Threshold: > $800.00', 'Alert Threshold: > 80%'))
  t.equal(percentForm?.thresholdPercent, 80)
  t.equal(parseBudgetMessage('Dear customer, nothing here'), undefined)
})

t.test('JSON in several shapes', async (t) => {
  t.match(parseBudgetMessage(JSON.stringify({ budgetName: 'b', notificationType: 'forecasted', threshold: 90, budgetLimit: { amount: '100', unit: 'USD' }, forecastedSpend: 95 })),
    { form: 'json', budgetName: 'b', notificationType: 'FORECASTED', thresholdPercent: 90, budgetLimit: 100, currency: 'USD', spend: 95 })
  t.match(parseBudgetMessage(JSON.stringify({ Budget: { BudgetName: 'b' }, Notification: { NotificationType: 'ACTUAL', Threshold: 50, ThresholdType: 'ABSOLUTE_VALUE' } })),
    { budgetName: 'b', notificationType: 'ACTUAL', thresholdAmount: 50 })
  t.equal(parseBudgetMessage('{"hello": 1}'), undefined)
  t.equal(parseBudgetMessage('[1,2]'), undefined)
  t.equal(parseBudgetMessage('{not json'), undefined)
})

t.test('what the message leaves open is settled by the read-back, or refused with the reason', async (t) => {
  const amount = parseBudgetMessage(JSON.stringify({ budgetName: 'p', threshold: 266.66, thresholdType: 'ABSOLUTE_VALUE' }))!
  t.equal(needsReadback(amount), true)
  t.same(resolveAlert(amount, back), { budgetName: 'p', notificationType: 'ACTUAL', thresholdPercent: 80, actualSpend: 340.5, budgetLimit: 333.33, currency: 'USD' }, 'snapped to the configured 80 %, the type taken from it')
  t.match(resolveAlert(amount), /does not say ACTUAL or FORECASTED/)
  t.match(resolveAlert(parseBudgetMessage(JSON.stringify({ budgetName: 'p', notificationType: 'ACTUAL' }))!, back), /no threshold/)
  t.match(resolveAlert(parseBudgetMessage(JSON.stringify({ budgetName: 'p', notificationType: 'ACTUAL', threshold: 5000 }))!, back), /outside \(0, 1000\]/)
  const far = resolveAlert(parseBudgetMessage(JSON.stringify({ budgetName: 'p', notificationType: 'ACTUAL', threshold: 50 }))!, back)
  t.match(far, { thresholdPercent: 50 }, 'no configured threshold near: the message\'s percentage stands')
})

t.test('month, key and the contract body', async (t) => {
  t.equal(monthOf('2026-11-30T23:59:59.999Z'), '2026-11')
  t.equal(monthOf('nonsense'), undefined)
  const a = resolveAlert(parseBudgetMessage(text)!)
  if (typeof a === 'string') throw new Error(a)
  t.equal(alertKey(a, '2026-11'), 'aws-budgets:hpc-steward-campus:2026-11:ACTUAL:80')
  t.same(eventBody(a, '2026-11', 'physics'), { eventId: 'aws-budgets:hpc-steward-campus:2026-11:ACTUAL:80', source: 'aws-budgets', budgetName: 'hpc-steward-campus', department: 'physics', month: '2026-11', thresholdPercent: 80, notificationType: 'ACTUAL', actualSpend: 812.34, budgetLimit: 1000, currency: 'USD' })
  t.equal(alertKey({ ...a, budgetName: 'x'.repeat(300) }, '2026-11').length, 200)
})

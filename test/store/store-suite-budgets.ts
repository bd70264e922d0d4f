/**
 * Shared store tests, continued: budget notifications (never twice), budget events
 * (duplicates have one effect) and budget actions (lift holds for the month).
 */
import type { Test } from 'tap'
import { campusSpec, setup, type StoreHarness } from './harness.js'

/** Registers the shared tests of budget records on `t`. */
export function budgetSuite(t: Test, harness: StoreHarness): void {
  t.test('a notification key is claimed once; a failed send frees it; a sent one never again', async (t) => {
    const { store, open } = await setup(t, harness)
    await store.createCluster('campus', '')
    const n = { key: 'campus/cv/2026-12/90', cluster: 'campus', department: 'cv', month: '2026-12', thresholdPercent: 90, recipients: ['pi@example.edu'] }
    const other = await open()
    const claims = await Promise.all([store.claimBudgetNotification(n), other.claimBudgetNotification(n)])
    t.same(claims.filter(Boolean).length, 1, 'two replicas racing: one claim')
    await store.finishBudgetNotification(n.key, false)
    t.equal(await store.claimBudgetNotification(n), true, 'a failed send is tried again')
    await store.finishBudgetNotification(n.key, true)
    t.equal(await store.claimBudgetNotification(n), false)
    await store.finishBudgetNotification(n.key, false)
    const [row] = await store.listBudgetNotifications('campus', '2026-12')
    t.match(row, { key: n.key, department: 'cv', thresholdPercent: 90, status: 'sent', recipients: ['pi@example.edu'] })
    t.ok(row?.sentAt)
  })

  t.test('a notification is read by its key: that one row of the month, undefined for a key never claimed', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    await store.createCluster('other', '')
    const n = (key: string, over: Record<string, unknown> = {}) => ({ key, cluster: 'campus', department: 'cv', month: '2026-12', thresholdPercent: 90, recipients: ['pi@example.edu'], ...over })
    for (const p of [50, 80, 90, 100]) await store.claimBudgetNotification(n(`campus/cv/2026-12/${p}`, { thresholdPercent: p }))
    await store.claimBudgetNotification(n('aws-budgets:campus:campus-cv:2026-12:ACTUAL:80', { thresholdPercent: 80, recipients: [] }))
    await store.claimBudgetNotification(n('campus/cv/2026-11/80', { month: '2026-11', thresholdPercent: 80 }))
    await store.claimBudgetNotification(n('other/cv/2026-12/80', { cluster: 'other', thresholdPercent: 80 }))
    await store.finishBudgetNotification('campus/cv/2026-12/80', true)
    t.match(await store.getBudgetNotification('campus/cv/2026-12/80'), { key: 'campus/cv/2026-12/80', cluster: 'campus', department: 'cv', month: '2026-12', thresholdPercent: 80, status: 'sent', recipients: ['pi@example.edu'] })
    t.ok((await store.getBudgetNotification('campus/cv/2026-12/80'))?.sentAt)
    t.match(await store.getBudgetNotification('aws-budgets:campus:campus-cv:2026-12:ACTUAL:80'), { status: 'sending', sentAt: null, recipients: [] })
    t.match(await store.getBudgetNotification('campus/cv/2026-11/80'), { month: '2026-11' })
    t.match(await store.getBudgetNotification('other/cv/2026-12/80'), { cluster: 'other' })
    t.equal(await store.getBudgetNotification('campus/cv/2026-12/70'), undefined)
    await store.finishBudgetNotification('campus/cv/2026-12/90', false)
    t.equal(await store.getBudgetNotification('campus/cv/2026-12/90'), undefined, 'a freed key has no row')
  })

  t.test('budget events: the same id, or the same budget, month, threshold and type, are recorded once', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    const e = { eventId: 'sns-1', cluster: 'campus', budgetName: 'campus-monthly', department: null, month: '2026-12', thresholdPercent: 80.5, notificationType: 'ACTUAL' as const, action: 'none' as const, payload: { actualSpend: 1 } }
    t.equal(await store.recordBudgetEvent(e), true)
    t.equal(await store.recordBudgetEvent(e), false, 'same id')
    t.equal(await store.recordBudgetEvent({ ...e, eventId: 'sns-2' }), false, 'same content, new id')
    t.equal(await store.recordBudgetEvent({ ...e, eventId: 'sns-3', notificationType: 'FORECASTED' }), true)
    const events = await store.listBudgetEvents('campus', '2026-12')
    t.same(events.map((x) => [x.eventId, x.thresholdPercent, x.notificationType]), [['sns-1', 80.5, 'ACTUAL'], ['sns-3', 80.5, 'FORECASTED']])
  })

  t.test('budget actions: in force once; a raised budget may bring it back, a lift holds for the month', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    const a = { cluster: 'campus', department: 'cv', month: '2026-12', action: 'block' as const, reason: 'spend 101 % of 12000.00' }
    t.equal(await store.startBudgetAction(a), true)
    t.equal(await store.startBudgetAction(a), false, 'already in force')
    t.equal(await store.endBudgetAction('campus', 'cv', '2026-12', 'under budget', 'system'), true)
    t.equal(await store.endBudgetAction('campus', 'cv', '2026-12', 'under budget', 'system'), false)
    t.equal(await store.startBudgetAction(a), true, 'over again after a raised budget')
    t.equal(await store.endBudgetAction('campus', 'cv', '2026-12', 'lifted', 'tok_1:admin'), true)
    t.equal(await store.startBudgetAction(a), false, 'a lift holds for the month')
    t.equal(await store.startBudgetAction({ ...a, month: '2027-01' }), true, 'a new month starts afresh')
    const listed = await store.listBudgetActions('campus', '2026-12')
    t.same(listed.map((x) => [x.month, x.endedReason]), [['2026-12', 'lifted'], ['2027-01', null]])
    t.equal(campusSpec().cluster.name, 'campus')
  })
}

/** The AWS bill beside the departments' chargeback: idle/unallocated, over-charged, estimated, bad inputs. */
import t from 'tap'
import { clusterCostsOf, monthPeriod, reconcile, ReconcileError } from '../../src/budgets/aws-reconcile.js'

t.test('month periods: End is the next month, December wraps; bad months refused', async (t) => {
  t.same(monthPeriod('2026-11'), { start: '2026-11-01', end: '2026-12-01' })
  t.same(monthPeriod('2026-12'), { start: '2026-12-01', end: '2027-01-01' })
  for (const bad of ['2026-13', '2026-1', 'nov', '2026-00']) t.throws(() => monthPeriod(bad), ReconcileError, bad)
})

t.test('groups: ClusterName$value per cluster, ClusterName$ untagged; another tag or currency is an error', async (t) => {
  const c = clusterCostsOf('2026-11', [
    { key: 'ClusterName$campus', amount: 1000.004, unit: 'USD' }, { key: 'ClusterName$other', amount: 5, unit: 'USD' }, { key: 'ClusterName$', amount: 7.5, unit: 'USD' },
  ])
  t.same([...c.byCluster], [['campus', 1000.004], ['other', 5]])
  t.equal(c.untagged, 7.5)
  t.throws(() => clusterCostsOf('2026-11', [{ key: 'Project$x', amount: 1, unit: 'USD' }]), /not a ClusterName tag group/)
  t.throws(() => clusterCostsOf('2026-11', [{ key: 'ClusterName$a', amount: 1, unit: 'USD' }, { key: 'ClusterName$b', amount: 1, unit: 'EUR' }]), /several currencies: USD, EUR/)
  t.throws(() => clusterCostsOf('2026-11', [{ key: 'ClusterName$a', amount: Number.NaN, unit: 'USD' }]), /no amount/)
})

t.test('the bill beside the chargeback: the difference is idle/unallocated, to the cent', async (t) => {
  const costs = clusterCostsOf('2026-11', [{ key: 'ClusterName$campus', amount: 1000, unit: 'USD' }])
  const r = reconcile('campus', costs, new Map([['physics', 412.345], ['chemistry', 250.1]]), 'USD')
  t.same(r.departments, [{ department: 'physics', cost: 412.35, percentOfBill: 41.23 }, { department: 'chemistry', cost: 250.1, percentOfBill: 25.01 }])
  t.equal(r.awsBill, 1000)
  t.equal(r.allocated, 662.45)
  t.equal(r.unallocated, 337.55)
  t.equal(r.unallocatedPercent, 33.76)
  t.same(r.notes, [])
})

t.test('charged more than billed, no tagged cost, an open month: said in notes', async (t) => {
  const over = reconcile('campus', clusterCostsOf('2026-11', [{ key: 'ClusterName$campus', amount: 100, unit: 'USD' }], true), new Map([['physics', 120]]), 'USD')
  t.equal(over.unallocated, -20)
  t.match(over.notes, [/not closed/, /charged 20 USD more than AWS billed/])
  const none = reconcile('campus', clusterCostsOf('2026-11', []), new Map(), 'USD')
  t.equal(none.awsBill, 0)
  t.equal(none.unallocatedPercent, null)
  t.match(none.notes, [/no cost tagged ClusterName=campus .*activated/])
})

t.test('bad chargeback inputs are refused', async (t) => {
  const costs = clusterCostsOf('2026-11', [{ key: 'ClusterName$campus', amount: 100, unit: 'USD' }])
  t.throws(() => reconcile('campus', costs, new Map([['physics', 1]]), 'EUR'), /chargeback is in EUR but AWS bills USD/)
  t.throws(() => reconcile('campus', costs, new Map([['physics', -1]]), 'USD'), /department physics is -1/)
  t.throws(() => reconcile('campus', costs, new Map([['physics', Number.POSITIVE_INFINITY]]), 'USD'), ReconcileError)
})

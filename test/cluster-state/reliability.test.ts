import t from 'tap'
import { classifyEvent, computeReliability, jobRisk, parseEvents, withLiveUnhealthy } from '../../src/cluster-state/reliability.js'
import { SacctmgrParseError } from '../../src/slurm/sacctmgr.js'

// `sacctmgr -n -P show event format=NodeName,TimeStart,TimeEnd,State,User,Reason`, as
// Slurm 22.05 prints it (TZ=UTC); the cluster event (no node name) is skipped.
const text = [
  '|2026-12-01T00:00:00|2026-12-01T01:00:00||root(0)|Cluster Registered TRES',
  'n1|2026-12-01T02:00:00|2026-12-01T04:00:00|DOWN|root(0)|gpu xid 79',
  'n1|2026-12-01T03:00:00|2026-12-01T05:00:00|IDLE+DRAIN|alice(1001)|still broken',
  'n2|2026-12-01T06:00:00|2026-12-01T07:00:00|DOWN*|slurm(64030)|Not responding',
  'n3|2026-12-01T08:00:00|2026-12-01T12:00:00|IDLE+DRAIN|root(0)|maintenance: firmware',
  'n4|2026-12-01T09:00:00|Unknown|DOWN|slurm(64030)|Kill task failed',
  'm1|2026-11-30T00:00:00|Unknown|DOWN|root(0)|gone|with a pipe',
].join('\n')

t.test('failures and planned maintenance are told apart by reason and who set it', async (t) => {
  t.equal(classifyEvent({ state: 'IDLE+DRAIN', user: 'root', reason: 'Planned maintenance' }), 'planned')
  t.equal(classifyEvent({ state: 'IDLE+DRAIN', user: 'alice', reason: 'maintenance' }), 'failure', 'a non-admin drain is a failure')
  t.equal(classifyEvent({ state: 'IDLE+DRAIN', user: 'root', reason: 'maintenance after health check failed' }), 'failure', 'a fault reason wins')
  t.equal(classifyEvent({ state: 'DOWN', user: 'root', reason: 'bad DIMM' }), 'failure', 'an admin DOWN without a maintenance reason')
  t.equal(classifyEvent({ state: 'DOWN', user: 'ops', reason: 'upgrade' }, ['ops']), 'planned', 'the admin list is configurable')
})

t.test('events parse with open ends, uid-less users and a reason holding |', async (t) => {
  const events = parseEvents(text)
  t.equal(events.length, 6)
  t.equal(events[0]?.user, 'root')
  t.equal(events.find((e) => e.node === 'n4')?.end, null)
  t.equal(events.find((e) => e.node === 'm1')?.reason, 'gone|with a pipe')
  t.throws(() => parseEvents('n1|yesterday|Unknown|DOWN|root(0)|x'), SacctmgrParseError)
})

t.test('counts, MTBF and MTTR are what the events imply', async (t) => {
  const from = new Date('2026-12-01T00:00:00Z')
  const to = new Date('2026-12-01T12:00:00Z')
  const r = computeReliability([{ name: 'g', nodes: 'n[1-4]' }], parseEvents(text), from, to)
  const g = r.groups[0]
  // Failures: n1 (02-05, two overlapping events = one incident), n2 (06-07), n4 (09-open).
  // Out of service: n1 3 h, n2 1 h, n3 4 h (planned), n4 3 h: 48 - 11 = 37 node-hours.
  t.match(g, { group: 'g', nodes: 4, failures: 3, planned: 1 })
  t.equal(g?.inServiceNodeHours, 37)
  t.equal(g?.mtbfHours, 37 / 3)
  t.equal(g?.failureRatePerNodeHour, 3 / 37)
  t.equal(g?.mttrHours, 2, 'repairs of 3 h and 1 h; the open one is not a repair yet')
  t.same(g?.unhealthy.map((u) => [u.node, u.kind]), [['n4', 'failure']])
})

t.test('a job of N nodes: 1/(N x rate) and the Young/Daly checkpoint interval', async (t) => {
  // 0.05 % per node-hour, 256 nodes: a failure every 7.8 h.
  const risk = jobRisk(0.0005, 256, 300)
  t.equal(risk.meanHoursBetweenFailures?.toFixed(3), (1 / (256 * 0.0005)).toFixed(3))
  t.equal(risk.youngIntervalHours?.toFixed(4), Math.sqrt(2 * (300 / 3600) * 7.8125).toFixed(4))
  t.ok((risk.dalyIntervalHours ?? 0) < (risk.youngIntervalHours ?? 0) + 0.1 && (risk.dalyIntervalHours ?? 0) > 0.5)
  t.same(jobRisk(0, 256, 300).meanHoursBetweenFailures, null, 'no failure seen: no estimate')
})

t.test('nodes down or drained now without an open event are listed from Slurm\'s own state', async (t) => {
  const from = new Date('2026-12-01T00:00:00Z')
  const to = new Date('2026-12-01T12:00:00Z')
  const groups = [{ name: 'g', nodes: 'n[1-6]' }]
  const report = withLiveUnhealthy(computeReliability(groups, parseEvents(text), from, to), groups, [
    { name: 'n4', state: 'down', slurmState: 'DOWN', reason: 'Kill task failed' },
    { name: 'n5', state: 'drained', slurmState: 'IDLE+DRAIN', reason: 'planned maintenance [root@2026-12-01T10:00:00]' },
    { name: 'n6', state: 'idle', slurmState: 'IDLE' },
  ])
  t.same(report.groups[0]?.unhealthy.map((u) => [u.node, u.kind, u.reason, u.since]), [
    ['n4', 'failure', 'Kill task failed', '2026-12-01T09:00:00.000Z'],
    ['n5', 'planned', 'planned maintenance', '2026-12-01T10:00:00Z'],
  ], 'n4 once (its open event), n5 with who and when from the [user@time] suffix, n6 healthy')
})

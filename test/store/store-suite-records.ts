/**
 * Shared store tests, continued: apply runs with their steps, and the audit log.
 */
import type { Test } from 'tap'
import type { ApplyStepRecord, Store } from '../../src/store/types.js'
import { campusSpec, ISO, setup, type StoreHarness } from './harness.js'

async function clusterWithRevision(store: Store, name = 'campus'): Promise<void> {
  await store.createCluster(name, '')
  await store.appendRevision(name, { spec: campusSpec(), author: 'a', message: 'm' })
}

function step(seq: number, status: ApplyStepRecord['status'], finishedAt: string | null = null): ApplyStepRecord {
  return { seq, name: `step ${seq}`, status, detail: `sacctmgr -i add qos q${seq}`, output: '', startedAt: '2025-03-01T10:00:00.000Z', finishedAt }
}

/** Registers the shared tests of apply runs and the audit log on `t`. */
export function recordsSuite(t: Test, harness: StoreHarness): void {
  t.test('an apply run starts queued and records its status, error and steps', async (t) => {
    const { store } = await setup(t, harness)
    await clusterWithRevision(store)
    const run = await store.createApply({ cluster: 'campus', revision: 1, startedBy: 'tok_1 admin' })
    t.match(run, { id: /^apl_[0-9a-f]{12}$/, cluster: 'campus', revision: 1, status: 'queued', startedBy: 'tok_1 admin', finishedAt: null, error: null, steps: [] })
    t.match(run.createdAt, ISO)
    await store.updateApply(run.id, { status: 'running' })
    await store.putApplyStep(run.id, step(2, 'running'))
    await store.putApplyStep(run.id, step(1, 'running'))
    await store.putApplyStep(run.id, { ...step(1, 'ok', '2025-03-01T10:00:01Z'), output: 'done' })
    await store.updateApply(run.id, { status: 'failed', error: 'step 2 failed', finishedAt: '2025-03-01T10:00:02Z' })
    const read = await store.getApply(run.id)
    t.match(read, { status: 'failed', error: 'step 2 failed', finishedAt: '2025-03-01T10:00:02.000Z' })
    t.same(read.steps, [{ ...step(1, 'ok', '2025-03-01T10:00:01.000Z'), output: 'done' }, step(2, 'running')])
    await store.updateApply(run.id, { error: null })
    t.equal((await store.getApply(run.id)).error, null, 'null clears a field; undefined keeps it')
    t.equal((await store.getApply(run.id)).status, 'failed')
  })

  t.test('apply runs refer to stored revisions and unknown runs are not found', async (t) => {
    const { store } = await setup(t, harness)
    await clusterWithRevision(store)
    await t.rejects(store.createApply({ cluster: 'campus', revision: 2, startedBy: 'a' }), { name: 'StoreNotFoundError', message: /no revision 2/ })
    await t.rejects(store.createApply({ cluster: 'nowhere', revision: 1, startedBy: 'a' }), { name: 'StoreNotFoundError' })
    await t.rejects(store.getApply('apl_000000000000'), { name: 'StoreNotFoundError' })
    await t.rejects(store.updateApply('apl_000000000000', { status: 'running' }), { name: 'StoreNotFoundError' })
    await t.rejects(store.updateApply('apl_000000000000', {}), { name: 'StoreNotFoundError' })
    await t.rejects(store.putApplyStep('apl_000000000000', step(1, 'ok')), { name: 'StoreNotFoundError' })
  })

  t.test("a cluster's apply runs are listed newest first, a page at a time", async (t) => {
    const { store } = await setup(t, harness)
    await clusterWithRevision(store)
    await clusterWithRevision(store, 'lab')
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await store.createApply({ cluster: 'campus', revision: 1, startedBy: 'a' })).id)
    await store.createApply({ cluster: 'lab', revision: 1, startedBy: 'a' })
    const first = await store.listApplies('campus', { limit: 3 })
    const second = await store.listApplies('campus', { limit: 3, cursor: first.nextCursor ?? undefined })
    t.same([...first.items, ...second.items].map((a) => a.id), ids.reverse())
    t.equal(second.nextCursor, null)
    t.notOk('steps' in (first.items[0] ?? {}), 'a listed run has no steps')
  })

  t.test('runs left queued or running are found after a crash, with their steps', async (t) => {
    const { store, open } = await setup(t, harness)
    await clusterWithRevision(store)
    const queued = await store.createApply({ cluster: 'campus', revision: 1, startedBy: 'a' })
    const running = await store.createApply({ cluster: 'campus', revision: 1, startedBy: 'a' })
    const done = await store.createApply({ cluster: 'campus', revision: 1, startedBy: 'a' })
    await store.updateApply(running.id, { status: 'running' })
    await store.putApplyStep(running.id, step(1, 'running'))
    await store.updateApply(done.id, { status: 'succeeded', finishedAt: new Date().toISOString() })
    const restarted = await open()
    const unfinished = await restarted.listUnfinishedApplies()
    t.same(unfinished.map((a) => [a.id, a.status, a.steps.length]), [[queued.id, 'queued', 0], [running.id, 'running', 1]])
  })

  t.test('audit rows are appended with an id and a time and read back newest first', async (t) => {
    const { store } = await setup(t, harness)
    const first = await store.appendAudit({ actor: 'cli:root', action: 'cluster.create', resource: 'clusters/campus', cluster: 'campus', change: { after: { name: 'campus' } }, source: 'cli' })
    const second = await store.appendAudit({ actor: 'system', action: 'apply.start', resource: 'clusters/campus/applies/x', cluster: null, change: undefined, source: '10.0.0.1', at: '2025-03-01T10:00:00+01:00' })
    t.match(first.at, ISO)
    t.ok(second.id > first.id)
    t.equal(second.at, '2025-03-01T09:00:00.000Z', 'a given time is kept in UTC')
    t.equal(second.change, null, 'an undefined change is stored as null')
    const page = await store.listAudit({}, { limit: 10 })
    t.same(page.items, [second, first])
    t.same(page.items[1]?.change, { after: { name: 'campus' } })
    t.equal(page.nextCursor, null)
  })

  t.test('the audit log filters by cluster, actor, action, resource and time, a page at a time', async (t) => {
    const { store } = await setup(t, harness)
    const rows = [
      ['alice', 'department.create', 'clusters/campus/departments/nlp', 'campus', '2025-03-01T10:00:00.000Z'],
      ['alice', 'department.update', 'clusters/campus/departments/nlp/users/ana', 'campus', '2025-03-02T10:00:00.000Z'],
      ['bob', 'department.create', 'clusters/campus/departments/nlp-vision', 'campus', '2025-03-03T10:00:00.000Z'],
      ['bob', 'spec.put', 'clusters/lab', 'lab', '2025-03-04T10:00:00.000Z'],
      ['carol', 'token.create', 'tokens/tok_1', null, '2025-03-05T10:00:00.000Z'],
    ] as const
    for (const [actor, action, resource, cluster, at] of rows) await store.appendAudit({ actor, action, resource, cluster, change: {}, source: 'cli', at })
    const resources = async (filter: Parameters<Store['listAudit']>[0]) => (await store.listAudit(filter, { limit: 10 })).items.map((a) => a.resource)
    t.same(await resources({ cluster: 'campus' }), [rows[2][2], rows[1][2], rows[0][2]])
    t.same(await resources({ actor: 'bob' }), [rows[3][2], rows[2][2]])
    t.same(await resources({ action: 'department.create' }), [rows[2][2], rows[0][2]])
    t.same(await resources({ resource: 'clusters/campus/departments/nlp' }), [rows[1][2], rows[0][2]], 'a prefix matches whole path segments')
    t.same(await resources({ resource: 'clusters/campus/departments/nlp/' }), [rows[1][2], rows[0][2]])
    t.same(await resources({ resource: 'clusters/campus/departments/NLP' }), [], 'resources match case-sensitively')
    t.same(await resources({ since: '2025-03-02T10:00:00Z', until: '2025-03-04T10:00:00Z' }), [rows[2][2], rows[1][2]], 'since is inclusive, until exclusive')
    t.same(await resources({ actor: 'alice', since: '2025-03-02' }), [rows[1][2]])
    const first = await store.listAudit({ actor: 'alice' }, { limit: 1 })
    const second = await store.listAudit({ actor: 'alice' }, { limit: 1, cursor: first.nextCursor ?? undefined })
    t.same([...first.items, ...second.items].map((a) => a.action), ['department.update', 'department.create'])
    t.equal(second.nextCursor, null)
    await t.rejects(store.listAudit({ since: 'yesterday' }, { limit: 1 }), RangeError)
  })

  t.test('the database itself refuses to change or delete audit rows and revisions', async (t) => {
    const { store, exec } = await setup(t, harness)
    await clusterWithRevision(store)
    await store.allocateUid('ana', 10000)
    await store.appendAudit({ actor: 'system', action: 'x', resource: 'r', cluster: null, change: null, source: 'cli' })
    await t.rejects(exec("UPDATE audit_log SET actor = 'mallory'"), /append-only/)
    await t.rejects(exec('DELETE FROM audit_log'), /append-only/)
    await t.rejects(exec("UPDATE revisions SET author = 'mallory'"), /append-only/)
    await t.rejects(exec('DELETE FROM uid_allocations'), /append-only/)
    t.equal((await store.listAudit({}, { limit: 5 })).items[0]?.actor, 'system')
    t.notOk('updateAudit' in store || 'deleteAudit' in store || 'deleteRevision' in store, 'the store has no such methods')
  })
}

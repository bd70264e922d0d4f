/**
 * The overview page and /gpus are made once per cluster-state read, running revision and
 * scope (src/ui/pages.ts, src/api/routes/cluster-state.ts) and the cluster records behind
 * them are cached (src/store/cluster-reads.ts): none of this may show an old page after a
 * new revision or an apply, a page of one session in another, or a read older than the
 * cluster-state cache.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { createClusterStateService } from '../../src/cluster-state/read.js'
import { createStore } from '../../src/store/index.js'
import { withClusterReads } from '../../src/store/cluster-reads.js'
import { createRevisionService } from '../../src/revisions/service.js'
import { SYSTEM_PRINCIPAL } from '../../src/auth/policy.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { seeded, specFor } from '../api/helpers.js'
import { replayExecutor, SCONTROL_NODES } from '../support/replay-slurm.js'
import { hidden, signIn } from './helpers.js'

const replay = replayExecutor((argv) => (argv.includes('scontrol') ? SCONTROL_NODES : ''))
const BOUND_MS = 300

/** campus with the shared scavenger partition for cv alone: nlp no longer sees it. */
const scavengerForCvOnly = (): ClusterSpec => {
  const spec = specFor('campus') as unknown as ClusterSpec
  return { ...spec, sharedPartitions: (spec.sharedPartitions ?? []).map((p) => ({ ...p, departments: ['cv'] })) }
}
const SCAVENGER_ROW = /<td>scavenger<\/td>/
const gpuPartitions = (body: string) => [...new Set((JSON.parse(body) as { gpus: Array<{ partition: string }> }).gpus.map((g) => g.partition))]

async function setup(t: Test, clock?: { now: number }) {
  // Wrapped first, as src/server.ts does, so that a write of "the engine" below goes through the same cache.
  // The bare store stands for another process (the CLI, a replica) on the same database.
  const bare = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-overview-')) })
  const store = withClusterReads(bare, { ttlMs: BOUND_MS })
  const state = createClusterStateService({ executorFor: async () => replay, ...(clock ? { now: () => new Date(clock.now) } : {}) })
  const s = await seeded(store, { clusterState: state, latestCacheMs: BOUND_MS })
  t.teardown(async () => { await s.app.close(); await bare.close() })
  const page = async (session: string, url = '/ui/clusters/campus') => {
    const r = await s.app.inject({ method: 'GET', url, cookies: { stw_session: session } })
    t.equal(r.statusCode, 200, url)
    return r.body
  }
  return { s, store, bare, page }
}

t.test('each session gets its own page: its scope, its CSRF token; a reload is the same page', async (t) => {
  const { s, page } = await setup(t)
  const admin = await signIn(s.app, s.tokens.admin)
  const nlp = await signIn(s.app, s.tokens.nlp)
  const nlp2 = await signIn(s.app, s.tokens.nlp)
  const adminPage = await page(admin.session)
  t.match(adminPage, /<td>cv<\/td>/)
  const nlpPage = await page(nlp.session)
  t.notMatch(nlpPage, /\b(cv|dl)\b/, 'a department admin never gets the admin\'s page')
  t.match(nlpPage, SCAVENGER_ROW)
  t.equal(hidden(nlpPage), nlp.csrf, 'the sign-out form carries this session\'s CSRF token')
  t.equal(await page(nlp.session), nlpPage, 'a reload within the same read is the same page')
  const other = await page(nlp2.session)
  t.equal(hidden(other), nlp2.csrf, 'another session of the same token gets its own CSRF token')
  t.not(nlp.csrf, nlp2.csrf)
  t.equal(hidden(await page(admin.session)), admin.csrf)
})

t.test('a new revision through the API shows at once on the page and in /gpus', async (t) => {
  const { s, page } = await setup(t)
  const nlp = await signIn(s.app, s.tokens.nlp)
  t.match(await page(nlp.session), SCAVENGER_ROW)
  t.same(gpuPartitions((await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/gpus' })).body), ['nlp', 'scavenger'])
  const put = await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: scavengerForCvOnly() })
  t.equal(put.statusCode, 200, put.body)
  t.notMatch(await page(nlp.session), SCAVENGER_ROW, 'the next page is made from the new revision')
  const gpus = await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/gpus' })
  t.match(gpus.headers['content-type'], /^application\/json/)
  t.same(gpuPartitions(gpus.body), ['nlp'])
})

t.test('an apply shows at once; a revision stored by another process within the bound', async (t) => {
  const { s, store, bare, page } = await setup(t)
  const nlp = await signIn(s.app, s.tokens.nlp)
  const by = { actor: 'test', source: 'test' }
  // Revision 1 runs (applied); revision 2 is only stored: the page shows what runs.
  await store.setAppliedRevision('campus', 1)
  const second = await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: scavengerForCvOnly() })
  t.equal(second.statusCode, 200, second.body)
  t.match(await page(nlp.session), SCAVENGER_ROW, 'revision 1 still runs')
  // The engine ends an apply of revision 2 (through the same store, as in src/server.ts).
  await store.setAppliedRevision('campus', 2)
  t.notMatch(await page(nlp.session), SCAVENGER_ROW, 'the page after the apply shows revision 2 at once')

  // Another process (the CLI, a replica) stores and applies revision 3 with scavenger for all again.
  const third = await createRevisionService(bare).put('campus', specFor('campus') as unknown as ClusterSpec, by, { principal: SYSTEM_PRINCIPAL, message: 'elsewhere' })
  await bare.setAppliedRevision('campus', third.revision.number)
  const started = Date.now()
  let shown = await page(nlp.session)
  while (!SCAVENGER_ROW.test(shown) && Date.now() - started < 5 * BOUND_MS) {
    await sleep(20)
    shown = await page(nlp.session)
  }
  t.match(shown, SCAVENGER_ROW, 'seen within the bound')
})

t.test('a new cluster-state read makes a new page; within the read the page is not read again', async (t) => {
  const clock = { now: Date.parse('2026-12-01T10:00:00Z') }
  const { s, page } = await setup(t, clock)
  const admin = await signIn(s.app, s.tokens.admin)
  t.match(await page(admin.session), /Read from Slurm at 2026-12-01T10:00:00.000Z/)
  clock.now += 4_999
  t.match(await page(admin.session), /Read from Slurm at 2026-12-01T10:00:00.000Z/, 'the same read within the cluster-state cache')
  clock.now += 1
  t.match(await page(admin.session), /Read from Slurm at 2026-12-01T10:00:05.000Z/, 'never older than the cluster-state cache')
  t.match((await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/gpus' })).body, /"readAt":"2026-12-01T10:00:05.000Z"/)
})

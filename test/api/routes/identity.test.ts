/**
 * `POST /v1/clusters/{c}/identity/sync`: admin only; a dry run answers the summary and the
 * diff and stores nothing; a sync stores one revision; a second sync stores none; a
 * failing directory leaves the revision unchanged and says what failed (502).
 */
import t from 'tap'
import { IdentitystoreClient } from '@aws-sdk/client-identitystore'
import { seeded, specFor } from '../helpers.js'
import { startAwsEmulator } from '../../support/aws/emulator.js'
import { createIdentityStoreSource } from '../../../src/adapters/aws/identity-store.js'

const STORE = 'd-abcdef0123'
const aws = await startAwsEmulator()
t.teardown(() => aws.close())
const is = aws.identityStore
const lab = is.addGroup(STORE, 'Okafor Lab')
for (const name of ['Ann.Lee@uni.edu', 'Ben.Ode@uni.edu']) is.addMember(STORE, lab, is.addUser(STORE, { UserName: name }))

const campus = {
  ...specFor('campus'),
  identity: {
    source: 'identity-center',
    identityCenter: { identityStoreId: STORE, region: 'eu-west-1' },
    uidRange: { from: 500_000, to: 500_100 },
    groups: [{ group: 'Okafor Lab', department: 'dl', supervisor: 'okafor' }],
  },
}
const client = new IdentitystoreClient({ ...aws.clientConfig, maxAttempts: 1 })
const { as, store } = await seeded(undefined, {
  identitySources: (spec) => createIdentityStoreSource({ identityStoreId: spec.identity!.identityCenter!.identityStoreId, client, limiter: { maxAttempts: 2, baseBackoffMs: 1 } }),
}, campus)
const url = '/v1/clusters/campus/identity/sync'

t.test('admin only', async (t) => {
  t.equal((await as('nlp', { method: 'POST', url })).statusCode, 403)
  t.equal((await as(null, { method: 'POST', url })).statusCode, 401)
})

t.test('a dry run, a sync, and a sync with nothing new', async (t) => {
  const dry = await as('admin', { method: 'POST', url: `${url}?dryRun=true` })
  t.equal(dry.statusCode, 200, dry.body)
  t.match(dry.json(), { revision: 1, changed: true, dryRun: true, summary: { added: ['ann_lee', 'ben_ode'], refused: [] } })
  t.ok(dry.json().diff.some((c: { path: string }) => c.path === '/users/ann_lee'))
  t.equal((await store.getCluster('campus')).latestRevision, 1)

  const sync = await as('admin', { method: 'POST', url })
  t.match(sync.json(), { revision: 2, changed: true, dryRun: false })
  const spec = (await store.getRevision('campus', 2)).spec
  t.same(spec.users.filter((u) => u.source).map((u) => [u.name, u.uid]), [['ann_lee', 500_000], ['ben_ode', 500_001]])
  t.match(spec.departments.find((d) => d.name === 'dl')!.supervisors![0]!.users, ['frank', 'ann_lee', 'ben_ode'])
  t.match((await store.listAudit({ action: 'identity.sync' }, { limit: 5 })).items, [{ cluster: 'campus', resource: 'clusters/campus/identity' }])

  const again = await as('admin', { method: 'POST', url })
  t.match(again.json(), { revision: 2, changed: false, diff: [] })
  t.equal((await store.getCluster('campus')).latestRevision, 2)
})

t.test('a failing directory leaves the revision unchanged and says what failed', async (t) => {
  is.failNext('ListGroups', 10)
  const res = await as('admin', { method: 'POST', url })
  t.equal(res.statusCode, 502)
  t.match(res.json(), { error: 'IdentitySourceUnavailable', message: /ListGroups page 1 failed after 2 attempt\(s\): ThrottlingException/ })
  is.failNext('ListGroups', 0)
  const noName = is.addUser(STORE, { DisplayName: 'nobody knows' })
  is.addMember(STORE, lab, noName)
  const bad = await as('admin', { method: 'POST', url })
  t.equal(bad.statusCode, 422)
  t.match(bad.json(), { error: 'IdentitySourceInvalid', message: /has no user name/ })
  t.equal((await store.getCluster('campus')).latestRevision, 2)
})

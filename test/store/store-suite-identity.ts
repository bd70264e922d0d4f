/**
 * Shared store tests, continued: API tokens and POSIX uid allocations.
 */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import type { Role } from '../../src/store/types.js'
import { MIGRATIONS, MIGRATIONS_TABLE, migrationSql, type Dialect } from '../../src/store/migrations.js'
import { ISO, campusSpec, setup, type StoreHarness } from './harness.js'

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex')

function tokenInput(secret: string, role: Role = 'admin') {
  return { secretHash: hash(secret), role, departments: role === 'department-admin' ? ['nlp', 'vision'] : [], user: role === 'researcher' ? 'ana' : null, description: `token ${secret}`, createdBy: 'cli:root' }
}

/** The dialect of the harness's databases. */
async function dialectOf(harness: StoreHarness): Promise<Dialect> {
  const probe = await harness.fresh()
  try {
    const store = await probe.open()
    await store.close()
    return store.kind
  } finally {
    await probe.dispose()
  }
}

/** Registers the shared tests of tokens and uid allocations on `t`. */
export function identitySuite(t: Test, harness: StoreHarness): void {
  t.test('a token is stored by the hash of its secret and found by it', async (t) => {
    const { store } = await setup(t, harness)
    const created = await store.createToken(tokenInput('s3cret', 'department-admin'))
    t.match(created, { id: /^tok_[0-9a-f]{12}$/, role: 'department-admin', departments: ['nlp', 'vision'], user: null, description: 'token s3cret', createdBy: 'cli:root', revokedAt: null })
    t.match(created.createdAt, ISO)
    t.same(await store.findTokenBySecretHash(hash('s3cret')), created)
    t.equal(await store.findTokenBySecretHash(hash('other')), null)
    await t.rejects(store.createToken(tokenInput('s3cret')), { name: 'StoreConflictError' })
  })

  t.test('a revoked token is still found, with the time of its first revocation', async (t) => {
    const { store } = await setup(t, harness)
    const token = await store.createToken(tokenInput('s3cret', 'researcher'))
    await store.revokeToken(token.id)
    const revoked = await store.findTokenBySecretHash(hash('s3cret'))
    t.match(revoked, { id: token.id, user: 'ana', revokedAt: ISO })
    await store.revokeToken(token.id)
    t.equal((await store.findTokenBySecretHash(hash('s3cret')))?.revokedAt, revoked?.revokedAt)
    await t.rejects(store.revokeToken('tok_000000000000'), { name: 'StoreNotFoundError' })
  })

  t.test('tokens are listed in the order they were created, a page at a time', async (t) => {
    const { store } = await setup(t, harness)
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await store.createToken(tokenInput(`s${i}`))).id)
    const first = await store.listTokens({ limit: 2 })
    const second = await store.listTokens({ limit: 2, cursor: first.nextCursor ?? undefined })
    const third = await store.listTokens({ limit: 2, cursor: second.nextCursor ?? undefined })
    t.same([...first.items, ...second.items, ...third.items].map((tok) => tok.id), ids)
    t.equal(third.nextCursor, null)
    t.notOk(JSON.stringify(first).includes(hash('s0')), 'listed tokens do not carry the secret hash')
  })

  t.test('uids are allocated from the smallest never-allocated one and kept per user', async (t) => {
    const { store } = await setup(t, harness)
    await store.reserveUid('reserved', 10002)
    t.equal(await store.allocateUid('ana', 10000), 10000)
    t.equal(await store.allocateUid('ben', 10000), 10001)
    t.equal(await store.allocateUid('ana', 20000), 10000, 'a user keeps the uid it has')
    t.equal(await store.allocateUid('cy', 10000), 10003, 'a reserved uid is skipped')
    t.equal(await store.allocateUid('dee', 5000), 5000)
    t.equal(await store.allocateUid('eve', 10000), 10004)
  })

  t.test('allocation skips nobody, 65535 and the systemd dynamic range', async (t) => {
    const { store } = await setup(t, harness)
    t.equal(await store.allocateUid('a', 61183), 61183)
    t.equal(await store.allocateUid('b', 61183), 65520)
    t.equal(await store.allocateUid('c', 61184), 65521)
    t.equal(await store.allocateUid('d', 65530), 65530)
    for (const user of ['e', 'f', 'g']) await store.allocateUid(user, 65530)
    t.equal(await store.allocateUid('h', 65530), 65536, '65534 and 65535 are skipped')
    await t.rejects(store.allocateUid('i', -1), RangeError)
  })

  t.test('a uid once recorded is never given to another user', async (t) => {
    const { store } = await setup(t, harness)
    await store.reserveUid('ana', 20000)
    await store.reserveUid('ana', 20000)
    await t.rejects(store.reserveUid('ben', 20000), { name: 'StoreConflictError', message: /belongs to ana/ })
    await t.rejects(store.reserveUid('ana', 20001), { name: 'StoreConflictError', message: /already has uid 20000/ })
    t.equal(await store.allocateUid('ben', 20000), 20001)
    const page = await store.listUidAllocations({ limit: 10 })
    t.same(page.items.map((a) => [a.user, a.uid]), [['ana', 20000], ['ben', 20001]])
    t.match(page.items[0]?.allocatedAt, ISO)
  })

  t.test('concurrent allocations on two replicas give distinct consecutive uids', async (t) => {
    const { store, open } = await setup(t, harness)
    const replica = await open()
    const uids = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : replica).allocateUid(`user${i}`, 30000)))
    t.same([...uids].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => 30000 + i))
    const again = await Promise.all([store.allocateUid('new', 30000), replica.allocateUid('new', 30000)])
    t.same(again, [30020, 30020], 'the same user racing on two replicas gets one uid')
  })

  t.test('uid allocations are listed by uid, a page at a time', async (t) => {
    const { store } = await setup(t, harness)
    for (const [user, uid] of [['c', 3000], ['a', 1000], ['b', 2000]] as const) await store.reserveUid(user, uid)
    const first = await store.listUidAllocations({ limit: 2 })
    const second = await store.listUidAllocations({ limit: 2, cursor: first.nextCursor ?? undefined })
    t.same([...first.items, ...second.items].map((a) => a.uid), [1000, 2000, 3000])
    t.equal(second.nextCursor, null)
    await t.rejects(store.listUidAllocations({ limit: 0 }), RangeError)
  })

  t.test('a token is bound to a cluster, and lists of clusters can be limited to the ones a token sees', async (t) => {
    const { store } = await setup(t, harness)
    for (const name of ['campus', 'lab', 'zoo']) await store.createCluster(name, '')
    const bound = await store.createToken({ ...tokenInput('s1', 'department-admin'), cluster: 'lab' })
    t.equal(bound.cluster, 'lab')
    t.equal((await store.findTokenBySecretHash(hash('s1')))?.cluster, 'lab')
    t.equal((await store.createToken(tokenInput('s2'))).cluster, null, 'no cluster: null')
    await t.rejects(store.createToken({ ...tokenInput('s3', 'researcher'), cluster: 'nowhere' }), { name: 'StoreNotFoundError' })
    t.same((await store.listClusters({ limit: 10 }, ['lab', 'zoo'])).items.map((c) => c.name), ['lab', 'zoo'])
    const first = await store.listClusters({ limit: 1 }, ['campus', 'zoo'])
    t.same(first.items.map((c) => c.name), ['campus'])
    t.same((await store.listClusters({ limit: 1, cursor: first.nextCursor ?? undefined }, ['campus', 'zoo'])).items.map((c) => c.name), ['zoo'])
    t.same((await store.listClusters({ limit: 10 }, [])).items, [])
  })

  t.test('migrating binds existing non-admin tokens to the only cluster, and leaves them unbound when there are several', async (t) => {
    for (const clusters of [['campus'], ['campus', 'lab']]) {
      const dialect = await dialectOf(harness)
      // A store as it was before tokens had a cluster: rebuilt from the earlier migrations.
      const old = await harness.fresh()
      t.teardown(() => old.dispose())
      const before = MIGRATIONS.filter((m) => m.id < 4)
      await old.exec([
        migrationSql(MIGRATIONS_TABLE, dialect),
        ...before.map((m) => migrationSql(m.sql, dialect)),
        ...before.map((m) => `INSERT INTO schema_migrations (id, name, applied_at) VALUES (${m.id}, '${m.name}', '2026-01-01T00:00:00.000Z');`),
        ...clusters.map((c) => `INSERT INTO clusters (name, description, created_at) VALUES ('${c}', '', '2026-01-01T00:00:00.000Z');`),
        `INSERT INTO tokens (id, secret_hash, role, departments, user_name, description, created_at, created_by) VALUES
          ('tok_a', '${hash('a')}', 'admin', '[]', NULL, '', '2026-01-01T00:00:00.000Z', 'x'),
          ('tok_d', '${hash('d')}', 'department-admin', '["nlp"]', NULL, '', '2026-01-01T00:00:00.000Z', 'x'),
          ('tok_r', '${hash('r')}', 'researcher', '[]', 'ana', '', '2026-01-01T00:00:00.000Z', 'x');`,
      ].join(';\n'))
      const store = await old.open()
      t.teardown(() => store.close())
      const only = clusters.length === 1 ? 'campus' : null
      t.equal((await store.findTokenBySecretHash(hash('a')))?.cluster, null, 'admin tokens stay global')
      t.equal((await store.findTokenBySecretHash(hash('d')))?.cluster, only, `department admin with ${clusters.length} cluster(s)`)
      t.equal((await store.findTokenBySecretHash(hash('r')))?.cluster, only, `researcher with ${clusters.length} cluster(s)`)
    }
  })

  t.test('a revision and its uids are stored together or not at all', async (t) => {
    const { store } = await setup(t, harness)
    await store.createCluster('campus', '')
    await store.reserveUid('someone', 200003)
    const spec = campusSpec()
    const users = spec.users.map((u) => u.name)
    const reserve = spec.users.map((u) => ({ user: u.name, uid: u.uid }))
    await t.rejects(store.appendRevision('campus', { spec, author: 'a', message: 'm', uids: { reserve, allocate: { users: [], from: 1000, avoid: new Set() } } }), { name: 'StoreConflictError', message: /200003 belongs to someone/ })
    t.equal((await store.getCluster('campus')).latestRevision, 0, 'no revision')
    t.same((await store.listUidAllocations({ limit: 50 })).items.map((a) => a.user), ['someone'], 'no uid reserved')
    const fresh = { ...spec, users: spec.users.filter((u) => u.uid !== 200003) }
    const revision = await store.appendRevision('campus', {
      author: 'a', message: 'm',
      uids: { reserve: fresh.users.map((u) => ({ user: u.name, uid: u.uid })), allocate: { users: ['zoe'], from: 200001, avoid: new Set([200007]) } },
      spec: (allocated) => ({ ...fresh, users: [...fresh.users, { name: 'zoe', uid: allocated.get('zoe') ?? 0 }] }),
    })
    const zoe = revision.spec.users.find((u) => u.name === 'zoe')?.uid
    t.equal(zoe, 200008, 'the smallest uid taken by no one and not avoided')
    t.same((await store.getRevision('campus', 1)).spec.users.find((u) => u.name === 'zoe'), { name: 'zoe', uid: 200008 })
    t.equal(revision.specHash, (await store.getRevision('campus', 1)).specHash)
    t.ok(users.length > 0)
  })
}

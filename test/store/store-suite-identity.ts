/**
 * Shared store tests, continued: API tokens and POSIX uid allocations.
 */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import type { Role } from '../../src/store/types.js'
import { ISO, setup, type StoreHarness } from './harness.js'

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex')

function tokenInput(secret: string, role: Role = 'admin') {
  return { secretHash: hash(secret), role, departments: role === 'department-admin' ? ['nlp', 'vision'] : [], user: role === 'researcher' ? 'ana' : null, description: `token ${secret}`, createdBy: 'cli:root' }
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
}

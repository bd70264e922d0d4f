/**
 * The token cache: a valid token is trusted for TOKEN_CACHE_MS (5 s) without asking the
 * store; a token revoked elsewhere (the CLI, another replica) stops working within that
 * lifetime, one revoked through this process (`forget`) at once; unknown and revoked
 * secrets are never cached. The clock is the test's own.
 */
import t from 'tap'
import { createTokenCache, TOKEN_CACHE_MS } from '../../src/auth/token-cache.js'
import type { TokenRecord } from '../../src/store/types.js'

function fakeStore() {
  const tokens = new Map<string, TokenRecord>()
  let asked = 0
  let gate: Promise<void> | undefined
  return {
    tokens,
    get asked() { return asked },
    hold(): () => void {
      let release = () => undefined as void
      gate = new Promise((resolve) => { release = resolve })
      return () => { gate = undefined; release() }
    },
    async findTokenBySecretHash(hash: string): Promise<TokenRecord | null> {
      asked++
      const found = tokens.get(hash)
      const copy = found ? { ...found } : null
      await gate
      return copy
    },
  }
}

const token = (id: string): TokenRecord => ({ id, role: 'admin', departments: [], user: null, cluster: null, description: '', createdAt: '', createdBy: '', revokedAt: null })

t.test('a token revoked in the store stops working within the lifetime (5 s), and not before it is over', async (t) => {
  t.equal(TOKEN_CACHE_MS, 5000)
  const store = fakeStore()
  store.tokens.set('h1', token('tok_1'))
  let now = 1_000_000
  const cache = createTokenCache(store, { now: () => now })
  t.equal((await cache.lookup('h1'))?.id, 'tok_1')
  t.equal(store.asked, 1)
  store.tokens.set('h1', { ...token('tok_1'), revokedAt: '2026-12-01T00:00:00Z' })
  now += TOKEN_CACHE_MS - 1
  t.equal((await cache.lookup('h1'))?.id, 'tok_1', 'still trusted inside the lifetime')
  t.equal(store.asked, 1, 'without asking the store')
  now += 1
  t.equal(await cache.lookup('h1'), null, 'refused once the lifetime is over')
  t.equal(await cache.lookup('h1'), null, 'and stays refused')
  t.equal(store.asked, 3, 'a revoked token is never cached')
})

t.test('a token revoked through this process is forgotten at once, also while its lookup is in flight', async (t) => {
  const store = fakeStore()
  store.tokens.set('h1', token('tok_1'))
  const cache = createTokenCache(store, { now: () => 0 })
  await cache.lookup('h1')
  store.tokens.set('h1', { ...token('tok_1'), revokedAt: 'now' })
  cache.forget('tok_1')
  t.equal(await cache.lookup('h1'), null)

  store.tokens.set('h2', token('tok_2'))
  const release = store.hold()
  const inFlight = cache.lookup('h2')
  store.tokens.set('h2', { ...token('tok_2'), revokedAt: 'now' })
  cache.forget('tok_2')
  release()
  t.equal((await inFlight)?.id, 'tok_2', 'the answer asked for before the revocation')
  t.equal(await cache.lookup('h2'), null, 'is not cached')
})

t.test('unknown secrets are asked every time; lifetime 0 turns the cache off; the size is bounded', async (t) => {
  const store = fakeStore()
  const cache = createTokenCache(store, { now: () => 0 })
  await cache.lookup('nope')
  await cache.lookup('nope')
  t.equal(store.asked, 2)

  const off = fakeStore()
  off.tokens.set('h1', token('tok_1'))
  const uncached = createTokenCache(off, { ttlMs: 0, now: () => 0 })
  await uncached.lookup('h1')
  await uncached.lookup('h1')
  t.equal(off.asked, 2)

  const small = fakeStore()
  for (const i of [1, 2, 3]) small.tokens.set(`h${i}`, token(`tok_${i}`))
  const bounded = createTokenCache(small, { maxEntries: 2, now: () => 0 })
  for (const h of ['h1', 'h2', 'h3']) await bounded.lookup(h)
  t.equal(small.asked, 3)
  await bounded.lookup('h3')
  await bounded.lookup('h2')
  t.equal(small.asked, 3, 'the newest two are kept')
  await bounded.lookup('h1')
  t.equal(small.asked, 4, 'the oldest was dropped')
})

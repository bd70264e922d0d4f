import t from 'tap'
import { createSessionStore, sameSecret } from '../../src/ui/sessions.js'

t.test('a session ends when idle too long or too old, and the least recently used go first', async (t) => {
  let now = 0
  const store = createSessionStore({ idleMs: 100, maxAgeMs: 250, maxSessions: 2, now: () => now })
  const a = store.create('hash-a')
  t.not(a.id, a.csrf, 'the cookie id and the CSRF token are different secrets')
  now = 90
  t.equal(store.get(a.id)?.secretHash, 'hash-a', 'used within the idle time')
  now = 180
  t.equal(store.get(a.id)?.id, a.id)
  now = 260
  t.equal(store.get(a.id), undefined, 'older than maxAge, even if used')
  const b = store.create('b')
  const c = store.create('c')
  store.get(b.id)
  store.create('d')
  t.equal(store.size, 2)
  t.ok(store.get(b.id), 'the recently used one stays')
  t.equal(store.get(c.id), undefined, 'the least recently used went')
  t.equal(store.get(undefined), undefined)
})

t.test('secrets compare in constant time and never equal a missing one', async (t) => {
  t.ok(sameSecret('abc', 'abc'))
  t.notOk(sameSecret('abc', 'abd'))
  t.notOk(sameSecret('abc', 'abcd'))
  t.notOk(sameSecret(undefined, undefined))
  t.notOk(sameSecret('', ''))
})

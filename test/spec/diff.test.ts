import t from 'tap'
import { diffSpecs } from '../../src/spec/diff.js'

t.test('named items are matched by name, not by position', async (t) => {
  const before = { users: [{ name: 'a', uid: 1 }, { name: 'b', uid: 2 }] }
  const after = { users: [{ name: 'b', uid: 3 }, { name: 'c', uid: 4 }] }
  t.same(diffSpecs(before, after), [
    { op: 'remove', path: '/users/a', before: { name: 'a', uid: 1 } },
    { op: 'change', path: '/users/b/uid', before: 2, after: 3 },
    { op: 'add', path: '/users/c', after: { name: 'c', uid: 4 } },
  ])
})

t.test('equal specs have no difference and plain lists change whole', async (t) => {
  t.same(diffSpecs({ a: [1, 2] }, { a: [1, 2] }), [])
  t.same(diffSpecs({ a: [1, 2] }, { a: [2, 1] }), [{ op: 'change', path: '/a', before: [1, 2], after: [2, 1] }])
})

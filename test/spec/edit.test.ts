import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { SpecItemExistsError, SpecItemNotFoundError, editPartitions, editSupervisors, editUsers, listPartitions } from '../../src/spec/edit.js'

const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('edits return a new spec and leave the old one alone', async (t) => {
  const next = editUsers(spec, { kind: 'create', item: { name: 'zoe', uid: 200010 } })
  t.equal(next.users.length, spec.users.length + 1)
  t.notOk(spec.users.some((u) => u.name === 'zoe'))
})

t.test('creating a taken name or touching a missing one is refused', async (t) => {
  t.throws(() => editUsers(spec, { kind: 'create', item: { name: 'alice', uid: 1 } }), SpecItemExistsError)
  t.throws(() => editUsers(spec, { kind: 'remove', name: 'nobody' }), SpecItemNotFoundError)
  t.throws(() => editSupervisors(spec, 'physics', { kind: 'remove', name: 'x' }), SpecItemNotFoundError)
})

t.test('a partition is replaced in place, moved between owners, and removed', async (t) => {
  const inPlace = editPartitions(spec, { kind: 'replace', name: 'cv', item: { name: 'cv', department: 'cv', nodeGroups: ['a10g'], maxTime: '10:00:00' } })
  t.same(listPartitions(inPlace).map((p) => p.name), ['nlp', 'cv', 'dl', 'scavenger'])
  const moved = editPartitions(spec, { kind: 'replace', name: 'cv', item: { name: 'cv', departments: 'all', nodeGroups: ['a10g'] } })
  t.same(moved.sharedPartitions?.map((p) => p.name), ['scavenger', 'cv'])
  t.same(moved.departments[1]?.partitions, [])
  const removed = editPartitions(spec, { kind: 'remove', name: 'scavenger' })
  t.same(removed.sharedPartitions, [])
})

import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { ForbiddenError, canEditUser, canSeeCluster, canSeeUser, departmentsOfUser, type Principal } from '../../src/auth/policy.js'
import { checkSpecChange } from '../../src/auth/spec-change.js'

const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const admin: Principal = { tokenId: 't1', role: 'admin', departments: [], user: null, cluster: null }
const nlp: Principal = { tokenId: 't2', role: 'department-admin', departments: ['nlp'], user: null, cluster: 'campus' }
const alice: Principal = { tokenId: 't3', role: 'researcher', departments: [], user: 'alice', cluster: 'campus' }

t.test('a user belongs to the departments whose supervisors list them', async (t) => {
  t.same(departmentsOfUser(spec, 'bob'), ['nlp'])
  t.same(departmentsOfUser(spec, 'dave'), ['cv'])
})

t.test('who may see a user', async (t) => {
  const cases: Array<[Principal, string, boolean]> = [
    [admin, 'dave', true], [nlp, 'alice', true], [nlp, 'dave', false], [alice, 'alice', true], [alice, 'bob', false],
  ]
  for (const [p, user, expected] of cases) t.equal(canSeeUser(p, spec, user), expected, `${p.role} sees ${user}: ${expected}`)
})

t.test('a department admin may not edit a user shared with another department', async (t) => {
  const shared = structuredClone(spec)
  shared.departments[1]?.supervisors?.[0]?.users.push('bob')
  t.equal(canEditUser(nlp, spec, 'bob'), true)
  t.equal(canEditUser(nlp, shared, 'bob'), false)
})

t.test('a department admin changes the description but not the fairshare or partitions', async (t) => {
  const withDepartment = (change: object): ClusterSpec => ({ ...spec, departments: spec.departments.map((d, i) => (i === 0 ? { ...d, ...change } : d)) })
  t.doesNotThrow(() => checkSpecChange(nlp, spec, withDepartment({ description: 'NLP' })))
  t.throws(() => checkSpecChange(nlp, spec, withDepartment({ fairshare: 1 })), { name: 'ForbiddenError', path: '/departments/0/fairshare' })
  t.throws(() => checkSpecChange(nlp, spec, withDepartment({ partitions: [] })), ForbiddenError)
  t.throws(() => checkSpecChange(nlp, spec, withDepartment({ gid: 5000 })), { name: 'ForbiddenError', path: '/departments/0/gid' }, 'a department gid is set by an admin')
  t.throws(() => checkSpecChange(nlp, spec, { ...spec, departments: [...spec.departments, { name: 'physics', qos: ['standard'] }] }), ForbiddenError, 'creating a department is for admins')
  t.throws(() => checkSpecChange(nlp, undefined, spec), ForbiddenError, 'the first spec is for admins')
  t.doesNotThrow(() => checkSpecChange(admin, spec, withDepartment({ fairshare: 1 })))
})

t.test('a token sees only the cluster it is bound to; admin tokens see every cluster', async (t) => {
  t.equal(canSeeCluster(nlp, 'campus'), true)
  t.equal(canSeeCluster(nlp, 'other'), false)
  t.equal(canSeeCluster(alice, 'other'), false)
  t.equal(canSeeCluster({ ...nlp, cluster: null }, 'campus'), false, 'an unbound non-admin token sees no cluster')
  t.equal(canSeeCluster(admin, 'other'), true)
})

t.test('every change to a supervisor runs the same check, whichever part of the spec carries it', async (t) => {
  const supervised = (supervisor: object): ClusterSpec => ({
    ...spec,
    departments: spec.departments.map((d, i) => (i === 0 ? { ...d, supervisors: [...(d.supervisors ?? []), { name: 'spy', users: [], ...supervisor }] } : d)),
  })
  t.doesNotThrow(() => checkSpecChange(nlp, spec, supervised({ users: ['alice'] })))
  t.doesNotThrow(() => checkSpecChange(nlp, spec, supervised({ account: 'nlp-spy' })), 'the default account may be spelled out')
  t.throws(() => checkSpecChange(nlp, spec, supervised({ users: ['dave'] })), { name: 'SpecInvalidError', problems: [{ path: '/departments/0/supervisors/2/users/0', message: /unknown user "dave"/ }] })
  t.throws(() => checkSpecChange(nlp, spec, supervised({ users: ['nosuch'] })), { name: 'SpecInvalidError', problems: [{ path: '/departments/0/supervisors/2/users/0', message: /unknown user "nosuch"/ }] }, 'a hidden user reads as a missing one')
  t.throws(() => checkSpecChange(nlp, spec, supervised({ account: 'cv-chen' })), { name: 'ForbiddenError', path: '/departments/0/supervisors/2/account' })
  t.throws(() => checkSpecChange(nlp, spec, supervised({ account: 'legacy' })), { name: 'ForbiddenError', path: '/departments/0/supervisors/2/account' })
})

t.test('a department admin gives a user only the identity the cluster gives', async (t) => {
  const rooted: ClusterSpec = { ...spec, cluster: { ...spec.cluster, homeRoot: '/fsx' }, departments: spec.departments.map((d) => (d.name === 'nlp' ? { ...d, gid: 5001 } : d.name === 'cv' ? { ...d, gid: 5002 } : d)) }
  const add = (user: object): ClusterSpec => ({ ...rooted, users: [...rooted.users, { name: 'zoe', uid: 100000, ...user }] })
  const pending = new Set(['zoe'])
  t.doesNotThrow(() => checkSpecChange(nlp, rooted, add({}), pending))
  t.doesNotThrow(() => checkSpecChange(nlp, rooted, add({ home: '/fsx/zoe', gid: 5001 }), pending))
  t.throws(() => checkSpecChange(nlp, rooted, add({ home: '/etc/sudoers.d/x' }), pending), { name: 'ForbiddenError', path: '/users/6/home' })
  t.throws(() => checkSpecChange(nlp, rooted, add({ home: '/home/zoe' }), pending), { name: 'ForbiddenError', path: '/users/6/home' }, 'the cluster\'s home root, not /home')
  t.throws(() => checkSpecChange(nlp, rooted, add({ gid: 5002 }), pending), { name: 'ForbiddenError', path: '/users/6/gid' }, 'not another department\'s group')
  t.throws(() => checkSpecChange(nlp, rooted, add({ gid: 4242 }), pending), { name: 'ForbiddenError', path: '/users/6/gid' })
  t.throws(() => checkSpecChange(nlp, rooted, add({}), new Set()), { name: 'ForbiddenError', path: '/users/6/uid' }, 'a uid of their choice')
})

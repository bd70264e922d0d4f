import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { ForbiddenError, canEditUser, canSeeUser, checkDepartmentChange, departmentsOfUser, type Principal } from '../../src/auth/policy.js'

const spec = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const admin: Principal = { tokenId: 't1', role: 'admin', departments: [], user: null }
const nlp: Principal = { tokenId: 't2', role: 'department-admin', departments: ['nlp'], user: null }
const alice: Principal = { tokenId: 't3', role: 'researcher', departments: [], user: 'alice' }

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
  const before = spec.departments[0]!
  t.doesNotThrow(() => checkDepartmentChange(nlp, before, { ...before, description: 'NLP' }))
  t.throws(() => checkDepartmentChange(nlp, before, { ...before, fairshare: 1 }), ForbiddenError)
  t.throws(() => checkDepartmentChange(nlp, before, { ...before, partitions: [] }), ForbiddenError)
  t.throws(() => checkDepartmentChange(nlp, undefined, before), ForbiddenError, 'creating a department is for admins')
})

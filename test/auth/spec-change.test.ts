/**
 * The one check of a department admin's change: every top-level section but departments
 * and users is a cluster admin's, including sections added later (login nodes, sessions,
 * HyperPod), so no new section can slip past tenant isolation.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { checkSpecChange } from '../../src/auth/spec-change.js'
import type { Principal } from '../../src/auth/policy.js'
import { ClusterSpec, type ClusterSpec as Spec } from '../../src/spec/schema.js'

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as Spec
const nlp: Principal = { tokenId: 't', role: 'department-admin', departments: ['nlp'], user: null, cluster: 'campus' }

t.test('a department admin may change no section but departments and users, whichever the schema has', async (t) => {
  const samples: Record<string, unknown> = {
    loginNodes: { pools: [{ name: 'main', nodes: 'login-1', balancer: { type: 'haproxy', listen: '0.0.0.0:22', runtimeSocket: '/run/h.sock' } }] },
    sessions: { ssh: { maxPerUser: 1 } },
    hyperpod: { clusterName: 'x', controllerGroup: 'ctl', instanceGroups: [{ name: 'ctl', instanceType: 'ml.m5.xlarge', count: 1 }] },
  }
  for (const section of Object.keys(ClusterSpec.properties)) {
    if (section === 'departments' || section === 'users') continue
    const after = structuredClone(campus) as unknown as Record<string, unknown>
    after[section] = section in samples ? samples[section] : (section === 'apiVersion' ? 'steward/v2' : [])
    t.throws(() => checkSpecChange(nlp, campus, after as unknown as Spec), { name: 'ForbiddenError', message: new RegExp(`only cluster admins may change ${section}`) }, section)
  }
})

t.test('a department admin may not set a user\'s directory fields: only a sync (an admin) does', async (t) => {
  for (const [field, value] of [['source', 'identity-center'], ['externalId', 'someone-else'], ['disabled', true]] as const) {
    const after = structuredClone(campus)
    after.users[0] = { ...after.users[0]!, [field]: value }
    t.throws(() => checkSpecChange(nlp, campus, after), { name: 'ForbiddenError', message: `only cluster admins (and identity sync) may set ${field}` }, field)
  }
})

/**
 * Every stateful route through `app.inject`, with the role matrix: what each role may
 * read and change, and that no response carries another tenant's data. The whole suite
 * runs on a SQLite store and on a PostgreSQL store.
 */
import tap, { type Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStore } from '../../src/store/index.js'
import type { Store } from '../../src/store/types.js'
import { freshPostgresDatabase } from '../support/postgres.js'
import { campusSpec, seeded, specFor, type Seeded } from './helpers.js'

function suite(t: Test, makeStore: () => Promise<Store>): void {
  let s: Seeded
  t.before(async () => { s = await seeded(await makeStore()) })
  t.teardown(async () => { await s.app.close(); await s.store.close() })

  const json = <T = Record<string, unknown>>(res: { json(): unknown }): T => res.json() as T

  t.test('requests without a token, or with an unknown one, are 401', async (t) => {
    for (const url of ['/v1/clusters', '/v1/clusters/campus/spec', '/v1/clusters/campus/users', '/v1/audit']) {
      t.equal((await s.as(null, { method: 'GET', url })).statusCode, 401, `${url} without a token`)
      const bad = await s.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer stw_notarealtokenatall' } })
      t.equal(bad.statusCode, 401, `${url} with an unknown token`)
    }
  })

  t.test('an admin reads the whole spec with its revision as ETag, in JSON or YAML', async (t) => {
    const res = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/spec' })
    t.equal(res.statusCode, 200)
    t.equal(res.headers.etag, '"1"')
    t.same(res.json(), campusSpec())
    const yaml = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/spec', headers: { accept: 'application/yaml' } })
    t.match(yaml.headers['content-type'], /yaml/)
    t.match(yaml.body, /apiVersion: steward\/v1/)
  })

  t.test('a stale If-Match is refused with 409 and a current one makes a new revision', async (t) => {
    const spec = campusSpec()
    const stale = await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', headers: { 'if-match': '"0"' }, payload: spec })
    t.equal(stale.statusCode, 409)
    const head = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus' })
    const latest = json<{ latestRevision: number }>(head).latestRevision
    ;(spec.departments[0] as { description: string }).description = 'NLP group'
    const ok = await s.as('admin', { method: 'PUT', url: `/v1/clusters/campus/spec?message=${encodeURIComponent('rename nlp')}`, headers: { 'if-match': `"${latest}"` }, payload: spec })
    t.equal(ok.statusCode, 200, ok.body)
    t.equal(json<{ revision: number }>(ok).revision, latest + 1)
  })

  t.test('a spec with a broken reference is 422 and one with a bad shape is 400, both with paths', async (t) => {
    const spec = campusSpec()
    ;(spec.departments[0] as { defaultQos: string }).defaultQos = 'gold'
    const semantic = await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: spec })
    t.equal(semantic.statusCode, 422)
    t.same(json<{ details: Array<{ path: string }> }>(semantic).details.map((d) => d.path), ['/departments/0/defaultQos'])
    const shape = await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: { ...campusSpec(), extra: 1 } })
    t.equal(shape.statusCode, 400)
    t.same(json<{ details: Array<{ path: string }> }>(shape).details.map((d) => d.path), ['/extra'])
  })

  t.test('revisions list, show a diff, and roll back to an old one', async (t) => {
    const list = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/revisions?limit=1' })
    t.equal(list.statusCode, 200)
    const page = json<{ items: Array<{ number: number }>; nextCursor: string | null }>(list)
    t.equal(page.items.length, 1)
    t.ok(page.nextCursor, 'there is a next page')
    const latest = page.items[0]?.number ?? 0
    const diff = await s.as('admin', { method: 'GET', url: `/v1/clusters/campus/revisions/${latest}?diff=1` })
    t.same(json<{ changes: unknown[] }>(diff).changes, [{ op: 'change', path: '/departments/nlp/description', before: 'Natural Language Processing', after: 'NLP group' }])
    const back = await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/revisions/1/rollback' })
    t.equal(back.statusCode, 200)
    const spec = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/spec' })
    t.same(spec.json(), campusSpec())
    t.equal((await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/revisions/999' })).statusCode, 404)
  })

  t.test('the render preview gives the files of the newest revision', async (t) => {
    const res = await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/render' })
    t.equal(res.statusCode, 200)
    t.match(json<{ files: Array<{ content: string }> }>(res).files[0]?.content, /PartitionName=nlp/)
  })

  t.test('an admin creates, replaces and deletes QoS, node groups and partitions', async (t) => {
    t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/qos', payload: { name: 'debug', maxWallDurationPerJob: '00:30:00' } })).statusCode, 201)
    t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/qos', payload: { name: 'debug' } })).statusCode, 409)
    t.equal((await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/qos/debug', payload: { name: 'debug', priority: 5 } })).statusCode, 200)
    t.same(json(await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/qos/debug' })), { name: 'debug', priority: 5 })
    t.equal((await s.as('admin', { method: 'DELETE', url: '/v1/clusters/campus/qos/debug' })).statusCode, 200)
    t.equal((await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/qos/debug' })).statusCode, 404)
    const group = { name: 'l40s', nodes: 'gpu-l40s-[01-04]', cpus: 64, realMemoryMiB: 500000, gpus: { type: 'l40s', count: 4 } }
    t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/node-groups', payload: group })).statusCode, 201)
    const partition = { name: 'cv-l40s', department: 'cv', nodeGroups: ['l40s'], maxTime: '12:00:00' }
    t.equal((await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/partitions', payload: partition })).statusCode, 201)
    t.same(json(await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/partitions/cv-l40s' })), partition)
    t.equal((await s.as('admin', { method: 'DELETE', url: '/v1/clusters/campus/node-groups/l40s' })).statusCode, 422, 'a node group in use cannot go')
    t.equal((await s.as('admin', { method: 'DELETE', url: '/v1/clusters/campus/partitions/cv-l40s' })).statusCode, 200)
    t.equal((await s.as('admin', { method: 'DELETE', url: '/v1/clusters/campus/node-groups/l40s' })).statusCode, 200)
  })

  t.test('a body with an unknown field is refused with 400 naming the field', async (t) => {
    const res = await s.as('admin', { method: 'POST', url: '/v1/clusters/campus/qos', payload: { name: 'x', maxwall: '1' } })
    t.equal(res.statusCode, 400)
    t.same(json<{ details: Array<{ path: string }> }>(res).details.map((d) => d.path), ['body/maxwall'])
  })

  t.test('the nlp department admin finds nothing of cv, and is refused cluster settings and QoS definitions', async (t) => {
    // What the token may not see is answered as missing (404); what it may see but not change is 403.
    const hidden: Array<[string, string, unknown?]> = [
      ['GET', '/v1/clusters/campus/departments/cv'],
      ['PUT', '/v1/clusters/campus/departments/cv', campusSpec().departments[1]],
      ['DELETE', '/v1/clusters/campus/departments/cv'],
      ['GET', '/v1/clusters/campus/departments/cv/supervisors'],
      ['POST', '/v1/clusters/campus/departments/cv/supervisors', { name: 'x', users: [] }],
      ['GET', '/v1/clusters/campus/departments/cv/supervisors/chen'],
      ['GET', '/v1/clusters/campus/users/dave'],
      ['PUT', '/v1/clusters/campus/users/dave', { name: 'dave', uid: 200004 }],
      ['DELETE', '/v1/clusters/campus/users/dave'],
      ['GET', '/v1/clusters/campus/partitions/cv'],
    ]
    for (const [method, url, payload] of hidden) {
      const res = await s.as('nlp', { method: method as 'GET', url, ...(payload !== undefined ? { payload: payload as object } : {}) })
      t.equal(res.statusCode, 404, `${method} ${url}`)
    }
    const forbidden: Array<[string, string, unknown?]> = [
      ['GET', '/v1/clusters/campus/spec'],
      ['PUT', '/v1/clusters/campus/spec', campusSpec()],
      ['GET', '/v1/clusters/campus/qos'],
      ['POST', '/v1/clusters/campus/qos', { name: 'mine' }],
      ['PUT', '/v1/clusters/campus/qos/standard', { name: 'standard' }],
      ['GET', '/v1/clusters/campus/node-groups'],
      ['POST', '/v1/clusters/campus/partitions', { name: 'p2', department: 'nlp', nodeGroups: ['h100'] }],
      ['GET', '/v1/clusters/campus/revisions'],
      ['GET', '/v1/clusters/campus/render'],
      ['POST', '/v1/clusters', { name: 'other' }],
      ['POST', '/v1/clusters/campus/departments', { name: 'physics', qos: ['standard'] }],
      ['GET', '/v1/audit'],
      ['GET', '/v1/tokens'],
      ['POST', '/v1/tokens', { role: 'admin' }],
    ]
    for (const [method, url, payload] of forbidden) {
      const res = await s.as('nlp', { method: method as 'GET', url, ...(payload !== undefined ? { payload: payload as object } : {}) })
      t.equal(res.statusCode, 403, `${method} ${url}`)
    }
  })

  t.test('a hidden item answers exactly as a missing one, on every kind of route', async (t) => {
    // [who, method, url of a hidden item, url of a missing one, body]
    const pairs: Array<[keyof Seeded['tokens'], string, string, string, ((name: string) => object)?]> = [
      ['alice', 'DELETE', '/v1/clusters/campus/users/frank', '/v1/clusters/campus/users/nosuch'],
      ['alice', 'GET', '/v1/clusters/campus/users/frank', '/v1/clusters/campus/users/nosuch'],
      ['alice', 'PUT', '/v1/clusters/campus/users/frank', '/v1/clusters/campus/users/nosuch', (name) => ({ name, uid: 200006 })],
      ['nlp', 'DELETE', '/v1/clusters/campus/users/dave', '/v1/clusters/campus/users/nosuch'],
      ['nlp', 'PUT', '/v1/clusters/campus/departments/cv', '/v1/clusters/campus/departments/nosuch', (name) => ({ name, qos: ['standard'] })],
      ['nlp', 'DELETE', '/v1/clusters/campus/departments/cv', '/v1/clusters/campus/departments/nosuch'],
      ['nlp', 'GET', '/v1/clusters/campus/departments/cv/supervisors', '/v1/clusters/campus/departments/nosuch/supervisors'],
      ['nlp', 'POST', '/v1/clusters/campus/departments/cv/supervisors', '/v1/clusters/campus/departments/nosuch/supervisors', () => ({ name: 'x', users: [] })],
      ['nlp', 'DELETE', '/v1/clusters/campus/departments/cv/supervisors/chen', '/v1/clusters/campus/departments/nosuch/supervisors/chen'],
      ['nlp', 'GET', '/v1/clusters/campus/partitions/cv', '/v1/clusters/campus/partitions/nosuch'],
      ['nlp', 'GET', '/v1/clusters/lab', '/v1/clusters/nosuch'],
      ['nlp', 'GET', '/v1/clusters/lab/departments/nlp', '/v1/clusters/nosuch/departments/nlp'],
      ['labNlp', 'PUT', '/v1/clusters/campus/departments/nlp', '/v1/clusters/nosuch/departments/nlp', () => campusSpec().departments[0] as object],
    ]
    const last = (url: string) => url.split('/').at(url.endsWith('supervisors') ? -2 : -1) as string
    for (const [who, method, hiddenUrl, missingUrl, body] of pairs) {
      const send = (url: string) => s.as(who, { method: method as 'GET', url, ...(body ? { payload: body(last(url)) } : {}) })
      const [hidden, missing] = [await send(hiddenUrl), await send(missingUrl)]
      t.equal(hidden.statusCode, 404, `${who}: ${method} ${hiddenUrl}`)
      // The bodies differ only by the names in the two paths.
      const [a, b] = [hiddenUrl.split('/'), missingUrl.split('/')]
      const names = a.flatMap((segment, i) => (segment === b[i] ? [] : [[segment, b[i] as string]]))
      const words = (res: { body: string }, which: 0 | 1) => names.reduce((text, pair) => text.replace(new RegExp(`\\b${pair[which]}\\b`, 'g'), 'X'), res.body)
      t.equal(words(hidden, 0), words(missing, 1), `${who}: ${method} ${hiddenUrl} reads as ${missingUrl}`)
    }
    t.equal((await s.as('alice', { method: 'DELETE', url: '/v1/clusters/campus/users/alice' })).statusCode, 403, 'what the token sees but may not change is 403')
  })

  t.test('the nlp department admin manages their own supervisors, users and description', async (t) => {
    const nlp = json<Record<string, unknown>>(await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/departments/nlp' }))
    t.equal(nlp.name, 'nlp')
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...nlp, description: 'NLP lab' } })).statusCode, 200)
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...nlp, fairshare: 99 } })).statusCode, 403)
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...nlp, qos: ['standard'] } })).statusCode, 403, 'no QoS choice without allowedQos')
    const created = await s.as('nlp', { method: 'POST', url: '/v1/clusters/campus/users', payload: { name: 'zoe', email: 'zoe@example.edu' } })
    t.equal(created.statusCode, 201, created.body)
    const zoe = json<{ uid: number }>(await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/users/zoe' }))
    t.ok(zoe.uid >= 100_000, 'a uid was allocated')
    const sup = await s.as('nlp', { method: 'POST', url: '/v1/clusters/campus/departments/nlp/supervisors', payload: { name: 'ito', users: ['zoe', 'alice'] } })
    t.equal(sup.statusCode, 201, sup.body)
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/users/bob', payload: { name: 'bob', uid: 200002, email: 'bob@nlp.example.edu', defaultAccount: 'nlp-garcia' } })).statusCode, 200)
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/users/bob', payload: { name: 'bob', uid: 200002, qos: ['long'] } })).statusCode, 403, 'no extra QoS from a department admin')
    t.equal((await s.as('nlp', { method: 'DELETE', url: '/v1/clusters/campus/departments/nlp/supervisors/ito' })).statusCode, 200)
  })

  t.test('a department admin cannot pull another department\'s user or account in, whichever route carries the supervisor', async (t) => {
    const nlp = () => campusSpec().departments[0] as { supervisors: Array<{ name: string; account?: string; users: string[] }> }
    const head = async () => json<{ latestRevision: number }>(await s.as('admin', { method: 'GET', url: '/v1/clusters/campus' })).latestRevision
    const before = await head()
    const unknownUser = (res: { json(): unknown }) => json<{ details: Array<{ path: string; message: string }> }>(res).details
    // Foreign users: through the department, and through the supervisors.
    const withUsers = nlp()
    withUsers.supervisors[0]?.users.push('dave')
    const viaDepartment = await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: withUsers })
    t.equal(viaDepartment.statusCode, 422, viaDepartment.body)
    t.match(unknownUser(viaDepartment), [{ path: '/departments/0/supervisors/0/users/2', message: /unknown user "dave"/ }])
    const viaSupervisor = await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp/supervisors/smith', payload: withUsers.supervisors[0] as object })
    t.equal(viaSupervisor.statusCode, 422)
    t.same(unknownUser(viaSupervisor), unknownUser(viaDepartment), 'the same check, the same answer')
    const created = await s.as('nlp', { method: 'POST', url: '/v1/clusters/campus/departments/nlp/supervisors', payload: { name: 'spy', users: ['dave'] } })
    t.equal(created.statusCode, 422)
    const missing = await s.as('nlp', { method: 'POST', url: '/v1/clusters/campus/departments/nlp/supervisors', payload: { name: 'spy', users: ['nosuch'] } })
    t.same(unknownUser(missing), unknownUser(created).map((d) => ({ ...d, message: d.message.replace('dave', 'nosuch') })), 'a hidden user reads as a missing one')
    // Foreign accounts: another department's supervisor account, one the spec does not manage, Slurm's root.
    for (const account of ['cv-chen', 'legacy', 'root']) {
      const department = nlp()
      ;(department.supervisors[0] as { account?: string }).account = account
      const whole = await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: department })
      t.equal(whole.statusCode, 403, `department PUT with account ${account}`)
      t.match(json<{ details: Array<{ path: string }> }>(whole).details, [{ path: '/departments/0/supervisors/0/account' }])
      const one = await s.as('nlp', { method: 'POST', url: '/v1/clusters/campus/departments/nlp/supervisors', payload: { name: 'x', account, users: [] } })
      t.equal(one.statusCode, 403, `supervisor POST with account ${account}`)
    }
    t.equal(await head(), before, 'nothing was stored')
    const spec = json<{ departments: Array<{ name: string; supervisors: Array<{ users: string[] }> }> }>(await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/spec' }))
    t.notOk(JSON.stringify(spec.departments.find((d) => d.name === 'nlp')).includes('dave'), 'dave is not under nlp')
    t.equal((await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/users/dave' })).statusCode, 404, 'dave stays invisible')
    t.equal((await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: withUsers })).statusCode, 200, 'a cluster admin may')
    t.equal((await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: nlp() })).statusCode, 200)
  })

  t.test('a department admin gives new users the home and gid the cluster sets, nothing else, and a refused request allocates no uid', async (t) => {
    const spec = campusSpec() as ReturnType<typeof campusSpec> & { cluster: Record<string, unknown> }
    spec.cluster.homeRoot = '/fsx'
    Object.assign(spec.departments[0] as object, { gid: 5001 })
    Object.assign(spec.departments[1] as object, { gid: 5002 })
    Object.assign(spec.departments[2] as object, { gid: 5003 })
    const original = json(await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/spec' }))
    t.equal((await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: spec })).statusCode, 200)
    const uids = async () => (await s.store.listUidAllocations({ limit: 500 })).items.map((a) => a.user)
    const allocated = await uids()
    const refused: Array<[object, number, string]> = [
      [{ home: '/etc/sudoers.d/x' }, 403, '/home'],
      [{ home: '/home/yan' }, 403, '/home'],
      [{ gid: 5002 }, 403, '/gid'],
      [{ gid: 1000 }, 403, '/gid'],
      [{ uid: 300000 }, 403, '/uid'],
      [{ defaultAccount: 'cv-chen' }, 422, '/defaultAccount'],
    ]
    for (const [fields, status, field] of refused) {
      const res = await s.as('nlp', { method: 'POST', url: '/v1/clusters/campus/users', payload: { name: 'yan', ...fields } })
      t.equal(res.statusCode, status, JSON.stringify(fields))
      const errors = json<{ details: Array<{ path: string; severity?: string }> }>(res).details.filter((d) => d.severity !== 'warning')
      t.match(errors.map((d) => d.path), [new RegExp(`^/users/\\d+${field}$`)], `names ${field}`)
    }
    t.same(await uids(), allocated, 'no refused request bound a name to a uid')
    t.equal((await s.as('nlp', { method: 'POST', url: '/v1/clusters/campus/users', payload: { name: 'yan', home: '/fsx/yan' } })).statusCode, 201)
    const yan = json<{ uid: number; gid: number; home?: string }>(await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/users/yan' }))
    t.equal(yan.gid, 5001, 'the gid of the department')
    t.ok(yan.uid >= 100_000, 'an allocated uid')
    t.same((await uids()).filter((u) => !allocated.includes(u)), ['yan'], 'one allocation more: yan\'s')
    t.equal((await s.as('cvdl', { method: 'POST', url: '/v1/clusters/campus/users', payload: { name: 'yun' } })).statusCode, 201, 'two departments with gids: no gid is guessed')
    t.equal(json<{ gid?: number }>(await s.as('cvdl', { method: 'GET', url: '/v1/clusters/campus/users/yun' })).gid, undefined)
    t.equal((await s.as('cvdl', { method: 'PUT', url: '/v1/clusters/campus/users/yun', payload: { name: 'yun', gid: 5002 } })).statusCode, 200, 'a gid of one of the token\'s departments')
    const nlp = json<Record<string, unknown>>(await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/departments/nlp' }))
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...nlp, gid: 5009 } })).statusCode, 403, 'the department gid is the admin\'s')
    for (const name of ['yan', 'yun']) t.equal((await s.as('admin', { method: 'DELETE', url: `/v1/clusters/campus/users/${name}` })).statusCode, 200)
    t.equal((await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: original })).statusCode, 200)
  })

  t.test('a cluster stores only its own spec', async (t) => {
    const res = await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: specFor('lab') })
    t.equal(res.statusCode, 422)
    t.same(json<{ details: Array<{ path: string }> }>(res).details.map((d) => d.path), ['/cluster/name'])
  })

  t.test('a token works only on the cluster it is bound to; lists show only what it may see', async (t) => {
    const names = async (who: keyof Seeded['tokens']) => json<{ items: Array<{ name: string }> }>(await s.as(who, { method: 'GET', url: '/v1/clusters' })).items.map((c) => c.name)
    t.same(await names('admin'), ['campus', 'lab'])
    t.same(await names('nlp'), ['campus'])
    t.same(await names('alice'), ['campus'])
    t.same(await names('labNlp'), ['lab'])
    t.equal((await s.as('labNlp', { method: 'GET', url: '/v1/clusters/lab/departments/nlp' })).statusCode, 200)
    for (const [method, url] of [['GET', '/v1/clusters/campus'], ['GET', '/v1/clusters/campus/departments/nlp'], ['GET', '/v1/clusters/campus/users'], ['DELETE', '/v1/clusters/campus/departments/nlp/supervisors/smith'], ['GET', '/v1/clusters/campus/qos']]) {
      t.equal((await s.as('labNlp', { method: method as 'GET', url })).statusCode, 404, `lab's nlp admin: ${method} ${url}`)
    }
    t.equal((await s.as('alice', { method: 'GET', url: '/v1/clusters/lab/users/alice' })).statusCode, 404, 'a researcher of campus on lab')
  })

  t.test('a department admin chooses QoS only among those the cluster admin allowed', async (t) => {
    const nlp = json<Record<string, unknown>>(await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/departments/nlp' }))
    t.equal((await s.as('admin', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...nlp, allowedQos: ['standard', 'long', 'interactive', 'scavenger'] } })).statusCode, 200)
    const next = json<Record<string, unknown>>(await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/departments/nlp' }))
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...next, qos: ['standard', 'scavenger'] } })).statusCode, 200)
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...next, qos: ['standard', 'platinum'] } })).statusCode, 403)
    t.equal((await s.as('nlp', { method: 'PUT', url: '/v1/clusters/campus/departments/nlp', payload: { ...next, allowedQos: ['standard'] } })).statusCode, 403)
  })

  t.test('no response to the nlp department admin carries another tenant\'s data', async (t) => {
    const urls = [
      '/v1/clusters', '/v1/clusters/campus', '/v1/clusters/campus/departments', '/v1/clusters/campus/departments/nlp',
      '/v1/clusters/campus/departments/nlp/supervisors', '/v1/clusters/campus/users', '/v1/clusters/campus/users/alice',
      '/v1/clusters/campus/users/bob', '/v1/clusters/campus/partitions',
    ]
    for (const url of urls) {
      const res = await s.as('nlp', { method: 'GET', url })
      t.equal(res.statusCode, 200, url)
      t.notMatch(res.body, /cv-chen|dl-okafor|dave|erin|frank|Computer Vision/, `${url} shows nothing of cv or dl`)
    }
    const users = json<{ items: Array<{ name: string }> }>(await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/users' }))
    // zoe, created by the nlp admin above, is under no supervisor: no tenant's data.
    t.same(users.items.map((u) => u.name).sort(), ['alice', 'bob', 'carol', 'zoe'])
    const partitions = json<{ items: Array<{ name: string }> }>(await s.as('nlp', { method: 'GET', url: '/v1/clusters/campus/partitions' }))
    t.same(partitions.items.map((p) => p.name), ['nlp', 'scavenger'])
  })

  t.test('a token for two departments sees both and nothing else', async (t) => {
    const res = json<{ items: Array<{ name: string }> }>(await s.as('cvdl', { method: 'GET', url: '/v1/clusters/campus/departments' }))
    t.same(res.items.map((d) => d.name), ['cv', 'dl'])
    t.equal((await s.as('cvdl', { method: 'GET', url: '/v1/clusters/campus/departments/nlp' })).statusCode, 404)
  })

  t.test('a researcher reads only their own user, associations and limits', async (t) => {
    const me = await s.as('alice', { method: 'GET', url: '/v1/clusters/campus/users/alice' })
    t.equal(me.statusCode, 200)
    const body = json<{ associations: Array<{ account: string }>; limits: Array<{ name: string }>; defaultAccount: string }>(me)
    t.same(body.associations.map((a) => a.account), ['nlp-smith'])
    t.equal(body.defaultAccount, 'nlp-smith')
    t.ok(body.limits.some((q) => q.name === 'standard'))
    t.equal((await s.as('alice', { method: 'GET', url: '/v1/clusters/campus/users/bob' })).statusCode, 404)
    const list = json<{ items: Array<{ name: string }> }>(await s.as('alice', { method: 'GET', url: '/v1/clusters/campus/users' }))
    t.same(list.items.map((u) => u.name), ['alice'])
    for (const url of ['/v1/clusters/campus/departments', '/v1/clusters/campus/partitions', '/v1/clusters/campus/qos', '/v1/clusters/campus/spec']) {
      t.equal((await s.as('alice', { method: 'GET', url })).statusCode, 403, url)
    }
    t.equal((await s.as('alice', { method: 'PUT', url: '/v1/clusters/campus/users/alice', payload: { name: 'alice', uid: 200001 } })).statusCode, 403)
  })

  t.test('every mutation is in the audit log with who and what, filterable', async (t) => {
    const res = await s.as('admin', { method: 'GET', url: '/v1/audit?action=supervisor.create' })
    t.equal(res.statusCode, 200)
    const rows = json<{ items: Array<{ actor: string; resource: string; change: { revision: number; item: { after: { name: string } } } }> }>(res).items
    t.equal(rows.length, 1)
    t.match(rows[0]?.actor, /:department-admin$/)
    t.equal(rows[0]?.resource, 'clusters/campus/departments/nlp/supervisors/ito')
    t.equal(rows[0]?.change.item.after.name, 'ito')
    const byCluster = json<{ items: unknown[] }>(await s.as('admin', { method: 'GET', url: '/v1/audit?cluster=campus&limit=500' }))
    t.ok(byCluster.items.length >= 10)
  })

  t.test('an admin creates and revokes tokens; a revoked token is 401', async (t) => {
    const bad = await s.as('admin', { method: 'POST', url: '/v1/tokens', payload: { role: 'department-admin' } })
    t.equal(bad.statusCode, 400)
    for (const payload of [{ role: 'department-admin', departments: ['cv'] }, { role: 'admin', cluster: 'campus' }, { role: 'researcher', user: 'dave', cluster: 'nowhere' }]) {
      const refused = await s.as('admin', { method: 'POST', url: '/v1/tokens', payload })
      t.equal(refused.statusCode, 400, JSON.stringify(payload))
      t.match(json<{ message: string }>(refused).message, /cluster/)
    }
    const res = await s.as('admin', { method: 'POST', url: '/v1/tokens', payload: { role: 'department-admin', departments: ['cv'], cluster: 'campus', description: 'cv admin' } })
    t.equal(res.statusCode, 201)
    const { id, secret, cluster } = json<{ id: string; secret: string; cluster: string }>(res)
    t.equal(cluster, 'campus')
    const auth = { authorization: `Bearer ${secret}` }
    t.equal((await s.app.inject({ method: 'GET', url: '/v1/clusters/campus/departments/cv', headers: auth })).statusCode, 200)
    t.equal((await s.app.inject({ method: 'GET', url: '/v1/clusters/lab/departments/cv', headers: auth })).statusCode, 404, 'not on another cluster')
    const listed = await s.as('admin', { method: 'GET', url: '/v1/tokens?limit=500' })
    t.notMatch(listed.body, secret, 'secrets are never listed')
    t.equal((await s.as('admin', { method: 'DELETE', url: `/v1/tokens/${id}` })).statusCode, 204)
    t.equal((await s.app.inject({ method: 'GET', url: '/v1/clusters/campus/departments/cv', headers: auth })).statusCode, 401)
  })

  t.test('repeated authentication failures from one address are slowed down with 429', async (t) => {
    let last = 0
    for (let i = 0; i < 25; i++) {
      last = (await s.app.inject({ method: 'GET', url: '/v1/clusters', remoteAddress: '10.9.9.9', headers: { authorization: 'Bearer stw_guessguessguess' } })).statusCode
    }
    t.equal(last, 429)
    const other = await s.app.inject({ method: 'GET', url: '/v1/clusters', remoteAddress: '10.9.9.8', headers: { authorization: `Bearer ${s.tokens.admin}` } })
    t.equal(other.statusCode, 200, 'other addresses are unaffected')
  })

  t.test('an unknown cluster is 404', async (t) => {
    t.equal((await s.as('admin', { method: 'GET', url: '/v1/clusters/nowhere/spec' })).statusCode, 404)
    t.equal((await s.as('admin', { method: 'GET', url: '/v1/clusters/nowhere' })).statusCode, 404)
  })
}

tap.test('on SQLite', async (t) => {
  suite(t, () => createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-api-')) }))
})

tap.test('on PostgreSQL', async (t) => {
  const db = await freshPostgresDatabase()
  t.teardown(() => db.dispose())
  suite(t, () => createStore({ dataDir: '', databaseUrl: db.url }))
})

tap.test('an audit filter with a malformed time is a 400, not a store error', async (t) => {
  const s = await seeded(await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-api-')) }))
  t.teardown(async () => { await s.app.close(); await s.store.close() })
  t.equal((await s.as('admin', { method: 'GET', url: '/v1/audit?since=2026-13-45T00:00:00Z' })).statusCode, 400)
  t.equal((await s.as('admin', { method: 'GET', url: '/v1/audit?since=yesterday' })).statusCode, 400)
  t.equal((await s.as('admin', { method: 'GET', url: '/v1/audit?since=2026-01-01T00:00:00Z' })).statusCode, 200)
  t.equal((await s.as('admin', { method: 'GET', url: '/v1/clusters?cursor=garbage' })).statusCode, 400)
})

import t from 'tap'
import { validateSpec } from '../../src/spec/validate.js'
import { campus, errorsOf } from '../support/campus-spec.js'

t.test('the campus example is valid and has no warnings', async (t) => {
  const result = validateSpec(campus())
  t.equal(result.ok, true)
  t.same(result.errors, [])
})

t.test('an injected partition name is one error at its path, never accepted', async (t) => {
  const spec = campus()
  spec.departments[0]!.partitions![0]!.name = 'nlp\nNodeName=evil'
  const errors = errorsOf(spec)
  t.equal(errors.length, 1)
  t.equal(errors[0]?.path, '/departments/0/partitions/0/name')
  t.match(errors[0]?.message, /not allowed/)
})

t.test('every forbidden character in a name is rejected', async (t) => {
  for (const bad of ['a b', 'a#b', 'a=b', 'a"b', 'a\\b', 'a,b', 'caf\u00e9', 'Upper', '1abc', '']) {
    const spec = campus()
    spec.qos[0]!.name = bad
    const errors = errorsOf(spec)
    t.ok(errors.some((e) => e.path === '/qos/0/name'), `"${bad}" is rejected`)
  }
})

t.test('a description with # or a quote is rejected', async (t) => {
  const spec = campus()
  spec.departments[0]!.description = 'NLP # lab'
  spec.qos[0]!.description = 'say "hi"'
  const paths = errorsOf(spec).map((e) => e.path)
  t.same(paths.sort(), ['/departments/0/description', '/qos/0/description'])
})

t.test('a bad reference, a duplicate name and an injected name are each reported once', async (t) => {
  const spec = campus()
  spec.departments[1]!.partitions![0]!.nodeGroups = ['a10g', 'tpu']
  spec.qos.push({ name: 'standard' })
  spec.departments[2]!.description = 'Deep # Learning'
  const errors = errorsOf(spec)
  t.same(errors.map((e) => e.path).sort(), ['/departments/1/partitions/0/nodeGroups/1', '/departments/2/description', '/qos/4/name'])
  t.ok(errors.every((e) => e.message.length > 20), 'each message says how to fix it')
})

t.test('references resolve: QoS, defaultQos, users, departments, default account', async (t) => {
  const spec = campus()
  spec.departments[0]!.qos = ['standard', 'gold']
  spec.departments[1]!.defaultQos = 'long'
  spec.departments[2]!.supervisors![0]!.users = ['frank', 'zoe']
  spec.sharedPartitions![0]!.departments = ['nlp', 'physics']
  spec.users[0]!.defaultAccount = 'cv-chen'
  spec.users[4]!.qos = ['platinum']
  const paths = errorsOf(spec).map((e) => e.path).sort()
  t.same(paths, [
    '/departments/0/qos/1',
    '/departments/1/defaultQos',
    '/departments/2/supervisors/0/users/1',
    '/sharedPartitions/0/departments/1',
    '/users/0/defaultAccount',
    '/users/4/qos/0',
  ])
})

t.test('node names must be unique across groups and hostlists must parse', async (t) => {
  const spec = campus()
  spec.nodeGroups[2]!.nodes = 'gpu-a10g-[08-09]'
  spec.nodeGroups[1]!.gpus!.devices = '/dev/nvidia[0-5]'
  const errors = errorsOf(spec)
  t.same(errors.map((e) => e.path).sort(), ['/nodeGroups/1/gpus/devices', '/nodeGroups/2/nodes'])
  t.match(errors.find((e) => e.path === '/nodeGroups/2/nodes')?.message, /gpu-a10g-08/)
})

t.test('uids and gids are unique and outside reserved ranges', async (t) => {
  const spec = campus()
  spec.users[1]!.uid = 200001
  spec.users[2]!.uid = 65534
  spec.users[3]!.uid = 62000
  spec.users[4]!.gid = 200006
  const errors = errorsOf(spec)
  t.same(errors.map((e) => e.path).sort(), ['/users/1/uid', '/users/2/uid', '/users/3/uid', '/users/4/gid'])
})

t.test('only one partition may be the default', async (t) => {
  const spec = campus()
  spec.departments[1]!.partitions![0]!.default = true
  t.same(errorsOf(spec).map((e) => e.path), ['/departments/1/partitions/0/default'])
})

t.test('a defaultTime longer than maxTime is an error', async (t) => {
  const spec = campus()
  spec.departments[0]!.partitions![0]!.defaultTime = '3-00:00:00'
  t.same(errorsOf(spec).map((e) => e.path), ['/departments/0/partitions/0/defaultTime'])
})

t.test('an unknown field is an error naming the field', async (t) => {
  const spec = campus() as unknown as { cluster: Record<string, unknown> }
  spec.cluster.nmae = 'x'
  const errors = errorsOf(spec)
  t.equal(errors.length, 1)
  t.equal(errors[0]?.path, '/cluster/nmae')
  t.match(errors[0]?.message, /unknown field "nmae"/)
})

t.test('an unquoted version number gets a hint to quote it', async (t) => {
  const spec = campus() as unknown as { cluster: Record<string, unknown> }
  spec.cluster.slurmVersion = 22.05
  t.match(errorsOf(spec)[0]?.message, /quote it/)
})

t.test('warnings do not fail validation', async (t) => {
  const spec = campus()
  spec.users.push({ name: 'grace', uid: 200010 })
  spec.qos[1]!.maxTresPerUser = { gpu: 1000 }
  const result = validateSpec(spec)
  t.equal(result.ok, true)
  t.same(result.errors.map((e) => `${e.severity} ${e.path}`).sort(), ['warning /qos/1/maxTresPerUser/gpu', 'warning /users/6'])
})

t.test('a supervisor account name over 40 characters asks for an explicit account', async (t) => {
  const spec = campus()
  spec.departments[0]!.supervisors![0]!.name = 'a-very-long-supervisor-name-that-overflows'
  t.ok(errorsOf(spec).some((e) => e.path === '/departments/0/supervisors/0/name' && /explicit account/.test(e.message)))
})

t.test('a value that is not a spec at all is reported without throwing', async (t) => {
  for (const value of [[], 'text', { apiVersion: 'steward/v1', departments: 'x' }]) {
    const result = validateSpec(value)
    t.equal(result.ok, false)
  }
})

t.test('a hostlist with text after its last range is refused, as Slurm refuses it', async (t) => {
  const spec = campus()
  spec.nodeGroups[2]!.nodes = 'cpu-[001-032]-ib'
  const errors = errorsOf(spec)
  t.same(errors.map((e) => e.path), ['/nodeGroups/2/nodes'])
  t.match(errors[0]?.message, /put the range last/)
})

t.test('a short spec naming millions of nodes is refused quickly, without expanding them', async (t) => {
  const spec = campus()
  spec.nodeGroups = Array.from({ length: 80 }, (_, i) => ({ name: `g${i}`, nodes: `n${i}x[0-65535]`, cpus: 1, realMemoryMiB: 1 }))
  const started = Date.now()
  const errors = errorsOf(spec)
  t.ok(Date.now() - started < 2000, 'fast')
  t.ok(errors.some((e) => e.path === '/nodeGroups' && /5242880 nodes/.test(e.message)))
})

t.test('system users, Slurm\'s root account and dot segments in homes are refused', async (t) => {
  const spec = campus()
  spec.users.push({ name: 'slurm', uid: 200100 })
  spec.users[0]!.home = '/home/../etc'
  spec.departments[0]!.supervisors![0]!.account = 'root'
  t.same(errorsOf(spec).map((e) => e.path).sort(), ['/departments/0/supervisors/0/account', '/users/0/home', '/users/6/name'])
})

t.test('a department gid is checked like any gid, and is neither a user\'s private group nor another department\'s', async (t) => {
  const spec = campus()
  spec.departments[0]!.gid = 5001
  spec.departments[1]!.gid = 5001
  spec.departments[2]!.gid = 200_001
  t.same(errorsOf(spec).map((e) => e.path), ['/departments/1/gid', '/departments/2/gid'])
  for (const gid of [65_534, 62_000, 999]) {
    const bad = campus()
    bad.departments[0]!.gid = gid
    t.same(errorsOf(bad).map((e) => e.path), ['/departments/0/gid'], `gid ${gid}`)
  }
  const good = campus()
  good.departments[0]!.gid = 5001
  good.users[0]!.gid = 5001
  t.same(errorsOf(good), [], 'a user may have the department\'s gid')
})

t.test('the home root is a plain absolute directory', async (t) => {
  for (const [root, ok] of [['/fsx', true], ['/shared/home', true], ['/', false], ['fsx', false], ['/fsx/', false], ['/fsx/../etc', false], ['/a b', false]] as const) {
    const spec = campus()
    spec.cluster.homeRoot = root
    t.equal(errorsOf(spec).some((e) => e.path === '/cluster/homeRoot'), !ok, `${root}: ${ok ? 'valid' : 'refused'}`)
  }
})

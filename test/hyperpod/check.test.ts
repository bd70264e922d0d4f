/**
 * `steward hyperpod check` and HyperPod's rendered files. The consistent set is the
 * golden render of test/slurm/render/hyperpod-2411 (its spec and provisioning_parameters.json)
 * with fixtures/cluster-config.json; the broken fixtures carry one fault each, and every
 * fault must give exactly one error at its path.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { checkHyperPod, HyperPodInputError, S3_URI } from '../../src/hyperpod/check.js'
import { provisioningParameters, sharedUsers } from '../../src/hyperpod/files.js'
import type { ClusterSpec, HyperPod } from '../../src/spec/schema.js'
import { validateSpec } from '../../src/spec/validate.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const specFile = join(root, 'test', 'slurm', 'render', 'hyperpod-2411', 'spec.yaml')
const provisioningFile = join(root, 'test', 'slurm', 'render', 'hyperpod-2411', 'expected', 'provisioning_parameters.json')
const spec = parse(readFileSync(specFile, 'utf8')) as ClusterSpec & { hyperpod: HyperPod }
const json = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'))

function steward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'steward.js'), ...args], { cwd: root }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

t.before(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first')
})

t.test('the rendered files of a spec with a hyperpod section are complete', async (t) => {
  t.equal(validateSpec(spec).ok, true)
  t.same(provisioningParameters(spec), {
    version: '1.0.0',
    workload_manager: 'slurm',
    controller_group: 'controller-machine',
    login_group: 'login-group',
    worker_groups: [
      { instance_group_name: 'worker-group-1', partition_name: 'nlp' },
      { instance_group_name: 'worker-group-2', partition_name: 'cv' },
      { instance_group_name: 'worker-group-3', partition_name: 'dl' },
    ],
    fsx_dns_name: 'fs-0123456789abcdef0.fsx.us-west-2.amazonaws.com',
    fsx_mountname: 'abcdefgh',
  })
  const users = sharedUsers(spec).split('\n').filter((l) => l !== '')
  t.equal(users.length, spec.users.length, 'one line per user')
  t.equal(users[0], 'alice,200001,/fsx/alice', 'username,uid,home with the home on FSx')
  const withHome = { ...spec, users: [{ name: 'zoe', uid: 200100, home: '/home/zoe' }] }
  t.equal(sharedUsers(withHome), 'zoe,200100,/home/zoe\n', 'a spec home is kept')
  const synced = { ...spec, users: [{ name: 'mei_chen', uid: 300_000, source: 'identity-center' as const, externalId: 'u1' }, { name: 'gone', uid: 300_001, source: 'identity-center' as const, externalId: 'u2', disabled: true }] }
  t.equal(sharedUsers(synced), 'mei_chen,300000,/fsx/mei_chen\n', 'synced users are listed; disabled ones are not')
  const noFsx = { ...spec, hyperpod: { clusterName: 'campus', controllerGroup: 'controller-machine', instanceGroups: spec.hyperpod.instanceGroups } }
  t.same(Object.keys(provisioningParameters(noFsx)).sort(), ['controller_group', 'version', 'worker_groups', 'workload_manager'], 'no login group or FSx keys when the spec has none')
  t.equal(sharedUsers(noFsx).split('\n')[0], 'alice,200001,/home/alice')
})

t.test('the spec\'s hyperpod section is checked: names, references, counts', async (t) => {
  const bad = structuredClone(spec) as unknown as { hyperpod: Record<string, unknown>; nodeGroups: Array<Record<string, unknown>> }
  bad.hyperpod.loginGroup = 'login-nodes'
  bad.hyperpod.fsx = { dnsName: 'fsx.example.com', mountName: 'abcdefgh' }
  ;(bad.hyperpod.instanceGroups as Array<Record<string, unknown>>)[3] = { name: 'worker-group-2', instanceType: 'p5.48xlarge', count: 4 }
  ;(bad.nodeGroups[2] as Record<string, unknown>).instanceGroup = 'worker-group-9'
  const errors = validateSpec(bad).errors.filter((p) => p.severity === 'error').map((p) => p.path).sort()
  t.same(errors, [
    '/hyperpod/fsx/dnsName',
    '/hyperpod/instanceGroups/3/count',
    '/hyperpod/instanceGroups/3/instanceType',
    '/hyperpod/loginGroup',
    '/nodeGroups/2/instanceGroup',
  ])
})

t.test('consistent files: no problem, and exit 0', async (t) => {
  t.same(checkHyperPod(json(fixture('cluster-config.json')), json(provisioningFile), spec), [])
  t.same(checkHyperPod(json(fixture('cluster-config.json')), json(provisioningFile)), [], 'also without the spec')
  const res = await steward('hyperpod', 'check', fixture('cluster-config.json'), provisioningFile, '--spec', specFile)
  t.equal(res.code, 0, res.stderr)
  t.match(res.stderr, /consistent/)
})

t.test('a missing login group, a foreign partition and too few instances: exit 1, one error each with its path', async (t) => {
  const res = await steward('hyperpod', 'check', fixture('cluster-config.broken.json'), fixture('provisioning_parameters.broken.json'), '--spec', specFile, '--json')
  t.equal(res.code, 1, res.stderr)
  const { ok, problems } = JSON.parse(res.stdout) as { ok: boolean; problems: Array<{ path: string; message: string; severity: string }> }
  t.equal(ok, false)
  t.same(problems.filter((p) => p.severity === 'error').map((p) => p.path), [
    'provisioning_parameters.broken.json#/worker_groups/0/partition_name',
    'cluster-config.broken.json#/InstanceGroups',
    'cluster-config.broken.json#/InstanceGroups/2/InstanceCount',
  ])
  t.match(problems[0]?.message, /partition "nlp-old" is not in the spec/)
  t.match(problems[1]?.message, /no instance group "login-group": the spec's login nodes need it/)
  t.match(problems[2]?.message, /5 instance\(s\), but the spec's node group\(s\) a10g have 8 node\(s\)/)
  const text = await steward('hyperpod', 'check', fixture('cluster-config.broken.json'), fixture('provisioning_parameters.broken.json'), '--spec', specFile)
  t.equal(text.code, 1)
  t.equal(text.stderr.split('\n').filter((l) => l.startsWith('error: ')).length, 3, 'three error lines')
})

t.test('without the spec, a login group the cluster lacks is still found', async (t) => {
  const problems = checkHyperPod(json(fixture('cluster-config.broken.json')), json(provisioningFile))
  t.same(problems.map((p) => p.path), ['provisioning_parameters.json#/login_group'])
})

t.test('a worker group whose instance group is missing is one error, not one per rule', async (t) => {
  const config = json(fixture('cluster-config.json')) as { InstanceGroups: Array<{ InstanceGroupName: string }> }
  config.InstanceGroups = config.InstanceGroups.filter((g) => g.InstanceGroupName !== 'worker-group-3')
  const problems = checkHyperPod(config, json(provisioningFile), spec).filter((p) => p.severity === 'error')
  t.same(problems.map((p) => p.path), ['provisioning_parameters.json#/worker_groups/2/instance_group_name'])
})

t.test('lifecycle-script S3 URIs must be well formed', async (t) => {
  const problems = checkHyperPod(json(fixture('cluster-config.bad-s3.json')), json(provisioningFile), spec)
  t.same(problems.map((p) => p.path), [
    'cluster-config.json#/InstanceGroups/0/LifeCycleConfig/SourceS3Uri',
    'cluster-config.json#/InstanceGroups/3/LifeCycleConfig/SourceS3Uri',
  ])
  for (const good of ['s3://campus-lifecycle/scripts/', 's3://my.bucket-1', 's3://abc/a/b=c/d.sh']) t.match(good, S3_URI, good)
  for (const bad of ['s3://', 's3://ab', 's3://Upper/x', 's3://192.168.1.1/x', 's3://bucket/has space', 'https://bucket/x', 's3://-bucket/x']) t.notMatch(bad, S3_URI, bad)
})

t.test('unusable input exits 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-hyperpod-'))
  const notJson = join(dir, 'cluster-config.json')
  writeFileSync(notJson, '{ "ClusterName": ')
  const wrongKind = join(dir, 'wrong.json')
  writeFileSync(wrongKind, '["not", "a", "cluster config"]')
  for (const args of [
    [notJson, provisioningFile],
    [wrongKind, provisioningFile],
    [join(dir, 'missing.json'), provisioningFile],
    [fixture('cluster-config.json'), provisioningFile, '--spec', join(dir, 'missing.yaml')],
    [fixture('cluster-config.json')],
  ]) {
    const res = await steward('hyperpod', 'check', ...args)
    t.equal(res.code, 2, `${args.join(' ')}: ${res.stderr.split('\n')[0]}`)
  }
  t.throws(() => checkHyperPod({ InstanceGroups: {} }, {}), HyperPodInputError)
})

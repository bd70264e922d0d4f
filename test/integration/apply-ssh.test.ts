/**
 * End to end: the REST API stores a spec, plans it and applies it over real SSH (a
 * private sshd on loopback with a generated key, ops/ssh/start.sh) to the sandbox's real
 * Slurm controller; then a department change applies again; a broken controller step
 * rolls back to the previous revision with Slurm healthy; a new node group restarts the
 * 22.05 slurmctld cleanly; two applies at once never interleave; and an apply cut off
 * mid-install is recovered at the next start.
 */
import t from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/api/app.js'
import { createStore } from '../../src/store/index.js'
import type { ApplyRecord, Store } from '../../src/store/types.js'
import { hashTokenSecret, newTokenSecret } from '../../src/auth/tokens.js'
import { createApplyEngine, controllerFiles, type ApplyEngine } from '../../src/apply/engine.js'
import { profileFromConfig, type ControllersConfig } from '../../src/apply/controllers.js'
import type { ControllerProfile } from '../../src/apply/profile.js'
import { installFiles } from '../../src/apply/install.js'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { parseScontrolRecords } from '../../src/slurm/conf-parse.js'
import { sandboxEnv, sandboxUp } from '../../src/sandbox/index.js'
import { testSshd } from '../support/ssh.js'
import { countSshChannels } from '../../bench/ssh-channels.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const local = createLocalExecutor(sandboxEnv())
const quiet = { info: () => undefined, error: () => undefined }

let store: Store
let app: FastifyInstance
let engine: ApplyEngine
let secret: string
let controllers: ControllersConfig
const profiles: ControllerProfile[] = []

async function partition(name: string): Promise<Map<string, string>> {
  const res = await local.run(['scontrol', 'show', 'partition', name, '-o'])
  const record = parseScontrolRecords(res.stdout, 'PartitionName').get(name)
  if (!record) throw new Error(`partition ${name} is not live: ${res.stderr}`)
  return record
}

const api = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${secret}` }, ...(payload ? { payload } : {}) })

async function applyAndWait(): Promise<ApplyRecord> {
  const res = await api('POST', '/v1/clusters/campus/applies')
  if (res.statusCode !== 202) throw new Error(`apply refused: ${res.statusCode} ${res.body}`)
  return engine.wait((res.json() as { id: string }).id)
}

t.before(async () => {
  const sshd = await testSshd()
  controllers = { campus: { url: sshd.url, identity: sshd.identity, hostKey: sshd.hostKey, sandbox: true } }
  await sandboxUp({ spec: campus })
  store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-e2e-')) })
  engine = createApplyEngine({
    store, log: quiet,
    profileFor: async (cluster) => {
      const p = profileFromConfig(controllers, cluster)
      profiles.push(p)
      return p
    },
  })
  app = await buildApp({ store, engine })
  secret = newTokenSecret()
  await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'e2e', createdBy: 'test' })
})

t.teardown(async () => {
  await app?.close()
  for (const p of profiles) await p.close?.()
  await store?.close()
})

t.test('a spec PUT through the API is planned and applied over SSH, and Slurm runs it', async (t) => {
  t.equal((await api('POST', '/v1/clusters', { name: 'campus' })).statusCode, 201)
  t.equal((await api('PUT', '/v1/clusters/campus/spec', campus)).statusCode, 200)
  const plan = await api('POST', '/v1/clusters/campus/plan')
  t.equal(plan.statusCode, 200, plan.body)
  const body = plan.json() as { files: Array<{ name: string }>; accounting: { operations: unknown[] } }
  t.same(body.files.map((f) => f.name), ['slurm.conf', 'gres.conf', 'cgroup.conf'])
  const apply = await applyAndWait()
  t.equal(apply.status, 'succeeded', JSON.stringify(apply.steps.filter((s) => s.status === 'failed')))
  const install = apply.steps.find((s) => s.name === 'install files')
  if (/^skipped: the files on the controller equal the render/.test(install?.output ?? '')) {
    // The sandbox was booted from this very spec: its files differ only in the header's stamp.
    t.notOk(apply.steps.some((s) => s.name === 'reconfigure' || s.name === 'restart slurmctld'), 'equal files: no reload')
  } else {
    t.match(apply.steps.map((s) => s.name).join('\n'), /install files[\s\S]*verify[\s\S]*commit/)
  }
  const nlp = await partition('nlp')
  t.equal(nlp.get('AllowAccounts'), 'nlp,nlp-smith,nlp-garcia')
  const assoc = await local.run(['sacctmgr', '-n', '-P', 'show', 'assoc', 'where', 'user=bob', 'format=account'])
  t.same(assoc.stdout.trim().split('\n').sort(), ['nlp-garcia', 'nlp-smith'])
  t.equal((await store.getCluster('campus')).appliedRevision, 1)
  const drift = await api('GET', '/v1/clusters/campus/drift')
  t.equal((drift.json() as { drifted: boolean }).drifted, false, drift.body)
})

t.test('an apply with nothing to do opens a handful of SSH channels, installs nothing and does not reconfigure', async (t) => {
  const counter = countSshChannels()
  let count: ReturnType<typeof counter.stop>
  let apply: ApplyRecord
  try {
    apply = await applyAndWait()
  } finally {
    count = counter.stop()
  }
  t.equal(apply.status, 'succeeded', apply.error ?? '')
  // The live-state reads in one batch session, the files and journal over one SFTP session.
  t.ok(count.channels <= 3, `at most 3 channels, opened ${JSON.stringify(count)}`)
  t.equal(count.connections, 1, 'one connection')
  t.match(apply.steps.find((s) => s.name === 'install files')?.output, /skipped/)
  t.notOk(apply.steps.some((s) => s.name === 'reconfigure' || s.name === 'restart slurmctld'), 'no reload')
})

t.test('a department changed through the API applies again', async (t) => {
  const cv = (await api('GET', '/v1/clusters/campus/departments/cv')).json() as { partitions: Array<Record<string, unknown>> }
  cv.partitions[0] = { ...cv.partitions[0], maxTime: '12:00:00' }
  t.equal((await api('PUT', '/v1/clusters/campus/departments/cv', cv)).statusCode, 200)
  const apply = await applyAndWait()
  t.equal(apply.status, 'succeeded', apply.error ?? '')
  t.equal((await partition('cv')).get('MaxTime'), '12:00:00')
})

t.test('a failing controller step rolls back to the previous revision and Slurm stays healthy', async (t) => {
  const good = (await store.getCluster('campus')).appliedRevision
  const previous = (await partition('dl')).get('MaxTime')
  controllers.campus = { ...(controllers.campus as object), healthCheck: ['false'] } as ControllersConfig[string]
  const dl = (await api('GET', '/v1/clusters/campus/departments/dl')).json() as { partitions: Array<Record<string, unknown>> }
  dl.partitions[0] = { ...dl.partitions[0], maxTime: '06:00:00' }
  t.equal((await api('PUT', '/v1/clusters/campus/departments/dl', dl)).statusCode, 200)
  const apply = await applyAndWait()
  controllers.campus = { ...(controllers.campus as object), healthCheck: undefined } as ControllersConfig[string]
  t.equal(apply.status, 'rolled-back')
  t.match(apply.error, /health check/)
  t.equal((await partition('dl')).get('MaxTime'), previous, 'Slurm runs the previous files')
  t.match((await local.run(['scontrol', 'ping'])).stdout, /is UP/)
  t.equal((await store.getCluster('campus')).appliedRevision, good)
  const drift = (await api('GET', '/v1/clusters/campus/drift')).json() as { drifted: boolean }
  t.equal(drift.drifted, false, 'the controller is back on the last applied revision')
})

t.test('adding a node group restarts the 22.05 slurmctld cleanly and its nodes come up', async (t) => {
  const group = { name: 'l40s', nodes: 'gpu-l40s-[01-04]', cpus: 32, realMemoryMiB: 256000, gpus: { type: 'l40s', count: 2 } }
  t.equal((await api('POST', '/v1/clusters/campus/node-groups', group)).statusCode, 201)
  t.equal((await api('POST', '/v1/clusters/campus/partitions', { name: 'cv-l40s', department: 'cv', nodeGroups: ['l40s'], maxTime: '12:00:00' })).statusCode, 201)
  const apply = await applyAndWait()
  t.equal(apply.status, 'succeeded', apply.error ?? '')
  t.ok(apply.steps.some((s) => s.name === 'restart slurmctld' && /node set changed/.test(s.output)), 'restarted, not reconfigured')
  const nodes = await local.run(['scontrol', 'show', 'node', 'gpu-l40s-01', '-o'])
  t.match(nodes.stdout, /Gres=gpu:l40s:2/)
  t.match((await local.run(['scontrol', 'ping'])).stdout, /is UP/)
})

t.test('two applies started at once: one runs, the other is refused with 409', async (t) => {
  const [a, b] = await Promise.all([api('POST', '/v1/clusters/campus/applies'), api('POST', '/v1/clusters/campus/applies')])
  const codes = [a.statusCode, b.statusCode].sort()
  t.same(codes, [202, 409])
  const accepted = [a, b].find((r) => r.statusCode === 202)
  const done = await engine.wait((accepted?.json() as { id: string }).id)
  t.equal(done.status, 'succeeded', done.error ?? '')
  const refused = [a, b].find((r) => r.statusCode === 409)
  t.match(refused?.body, /already running/)
})

t.test('an apply cut off mid-install is found and recovered at the next start', async (t) => {
  const profile = profileFromConfig(controllers, 'campus')
  profiles.push(profile)
  const cluster = await store.getCluster('campus')
  const old = await profile.executor.readFile(join(profile.configDir, 'slurm.conf'))
  const spec = (await store.getRevision('campus', cluster.latestRevision)).spec
  const changed = { ...spec, departments: spec.departments.map((d) => (d.name === 'nlp' ? { ...d, partitions: (d.partitions ?? []).map((p) => ({ ...p, maxTime: '1-00:00:00' })) } : d)) }
  const apply = await store.createApply({ cluster: 'campus', revision: cluster.latestRevision, startedBy: 'test' })
  await store.updateApply(apply.id, { status: 'running' })
  // The service "crashes" right after the new files were renamed into place.
  await installFiles(profile.executor, profile.configDir, controllerFiles(profile, changed, 99), apply.id)
  t.not(await profile.executor.readFile(join(profile.configDir, 'slurm.conf')), old)
  const recovered = await engine.recover()
  t.same(recovered.map((r) => [r.id, r.status]), [[apply.id, 'interrupted']])
  t.match(recovered[0]?.error, /previous files were restored/)
  t.equal(await profile.executor.readFile(join(profile.configDir, 'slurm.conf')), old, 'the old set, not a mix')
  t.match((await local.run(['scontrol', 'ping'])).stdout, /is UP/)
})

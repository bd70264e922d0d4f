/**
 * End to end, identity: users synced from the (emulated) Identity Store become a revision
 * through the API; an apply over SSH to the sandbox's real Slurm controller creates them
 * with the same uid on the controller and on two other nodes (real sshd processes with
 * POSIX databases of their own, test/support/posix-nodes.ts); a synced user's job runs
 * under their uid; a user removed from every group is disabled: locked on every node, uid
 * kept, unable to submit. A node that is down is reported and caught up on the next apply.
 * Needs root; boots the sandbox (run under flock /tmp/steward-sandbox.lock).
 */
import t from 'tap'
import { chmodSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { IdentitystoreClient } from '@aws-sdk/client-identitystore'
import { buildApp } from '../../src/api/app.js'
import { createStore } from '../../src/store/index.js'
import type { ApplyRecord } from '../../src/store/types.js'
import { hashTokenSecret, newTokenSecret } from '../../src/auth/tokens.js'
import { createApplyEngine } from '../../src/apply/engine.js'
import { profileFromConfig, type ControllersConfig } from '../../src/apply/controllers.js'
import type { ControllerProfile } from '../../src/apply/profile.js'
import { createLocalExecutor, type Executor } from '../../src/adapters/executor.js'
import { sandboxEnv, sandboxUp } from '../../src/sandbox/index.js'
import { createIdentityStoreSource } from '../../src/adapters/aws/identity-store.js'
import { nodeUsersHook } from '../../src/identity/apply-hook.js'
import { uidOn } from '../../src/identity/node-users.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import { testSshd } from '../support/ssh.js'
import { startAwsEmulator } from '../support/aws/emulator.js'
import { createPosixNode } from '../support/posix-nodes.js'

const STORE_ID = 'd-0a1b2c3d4e'
const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const spec: ClusterSpec = {
  ...campus,
  identity: {
    source: 'identity-center',
    identityCenter: { identityStoreId: STORE_ID, region: 'eu-west-1' },
    uidRange: { from: 310_000, to: 310_999 },
    groups: [{ group: 'NLP Smith Lab', department: 'nlp', supervisor: 'smith' }],
  },
}
const local = createLocalExecutor(sandboxEnv())
const quiet = { info: () => undefined, error: () => undefined }

const aws = await startAwsEmulator()
const is = aws.identityStore
const group = is.addGroup(STORE_ID, 'NLP Smith Lab')
const alpha = is.addUser(STORE_ID, { UserName: 'Idy.Alpha@uni.edu' })
const beta = is.addUser(STORE_ID, { UserName: 'Idy.Beta@uni.edu' })
is.addMember(STORE_ID, group, alpha)
is.addMember(STORE_ID, group, beta)

const sshd = await testSshd()
const controllers: ControllersConfig = { campus: { url: sshd.url, identity: sshd.identity, hostKey: sshd.hostKey, sandbox: true } }
await sandboxUp({ spec: campus })
const nodeA = await createPosixNode('a')
const nodeB = await createPosixNode('b')
const store = await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-identity-e2e-')) })
const profiles: ControllerProfile[] = []
const profileFor = async (cluster: string): Promise<ControllerProfile> => {
  const p = profileFromConfig(controllers, cluster)
  profiles.push(p)
  return p
}
const engine = createApplyEngine({
  store, log: quiet, profileFor,
  hooks: [nodeUsersHook({
    nodes: async () => {
      const a = nodeA.executor()
      const b = nodeB.executor()
      return {
        nodes: [{ node: 'controller', executor: (await profileFor('campus')).executor }, { node: 'node-a', executor: a }, { node: 'node-b', executor: b }],
        close: async () => { await a.close(); await b.close() },
      }
    },
  })],
})
const client = new IdentitystoreClient({ ...aws.clientConfig, maxAttempts: 1 })
const app = await buildApp({ store, engine, identitySources: () => createIdentityStoreSource({ identityStoreId: STORE_ID, client }) })
const secret = newTokenSecret()
await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'e2e', createdBy: 'test' })
const api = (method: 'POST' | 'PUT', url: string, payload?: object) => app.inject({ method, url, headers: { authorization: `Bearer ${secret}` }, ...(payload ? { payload } : {}) })

t.teardown(async () => {
  await app.close()
  for (const p of profiles) await p.close?.()
  await store.close()
  await nodeA.remove()
  await nodeB.remove()
  await aws.close()
})

async function applyAndWait(): Promise<ApplyRecord> {
  const res = await api('POST', '/v1/clusters/campus/applies')
  if (res.statusCode !== 202) throw new Error(`apply refused: ${res.statusCode} ${res.body}`)
  return engine.wait((res.json() as { id: string }).id)
}
const commitOutput = (a: ApplyRecord): string => a.steps.find((s) => s.name === 'commit')?.output ?? ''
const shadowOn = async (ex: Executor, name: string): Promise<string[]> => (await ex.run(['getent', 'shadow', name])).stdout.trim().split(':')
const jobsDir = mkdtempSync(join(tmpdir(), 'steward-identity-jobs-'))
chmodSync(jobsDir, 0o1777)

t.test('synced users get the same uid on the controller and two nodes, and run jobs as themselves', async (t) => {
  t.equal((await api('POST', '/v1/clusters', { name: 'campus', description: 'identity e2e' })).statusCode, 201)
  t.equal((await api('PUT', '/v1/clusters/campus/spec', spec)).statusCode, 200)
  const sync = await api('POST', '/v1/clusters/campus/identity/sync')
  t.match(sync.json(), { revision: 2, summary: { added: ['idy_alpha', 'idy_beta'] } })
  const apply = await applyAndWait()
  t.equal(apply.status, 'succeeded', apply.error ?? '')
  // One line per node (what each needed depends on what an earlier run left on this host).
  t.match(commitOutput(apply), /node users: controller: [^;]+; node-a: [^;]+; node-b: [^;]+$/)
  const uid = (await store.getRevision('campus', 2)).spec.users.find((u) => u.name === 'idy_alpha')!.uid
  for (const [name, ex] of [['controller', local], ['node-a', nodeA.executor()], ['node-b', nodeB.executor()]] as const) {
    t.equal(await uidOn(ex, 'idy_alpha'), uid, `idy_alpha has uid ${uid} on ${name}`)
    t.notOk((await shadowOn(ex, 'idy_beta'))[7] === '1', `idy_beta is not locked on ${name}`)
  }
  const job = await local.run(['runuser', '-u', 'idy_alpha', '--', 'sbatch', '--wait', '--parsable', '-A', 'nlp-smith', '-o', `${jobsDir}/%j.out`, '--wrap', 'id -u'], { timeoutMs: 120_000 })
  t.equal(job.code, 0, job.stderr)
  const id = job.stdout.trim().split(';')[0]
  t.equal(readFileSync(`${jobsDir}/${id}.out`, 'utf8').trim(), String(uid), 'the job ran under the synced uid')
})

t.test('a user who left every group is locked everywhere, keeps the uid and cannot submit; a down node catches up', async (t) => {
  const uid = await uidOn(local, 'idy_beta')
  is.removeMember(STORE_ID, group, beta)
  const sync = await api('POST', '/v1/clusters/campus/identity/sync')
  t.match(sync.json(), { revision: 3, summary: { disabled: ['idy_beta'] } })
  await nodeB.stop()
  const apply = await applyAndWait()
  t.equal(apply.status, 'succeeded', apply.error ?? '')
  t.match(commitOutput(apply), /node-a: 1 locked/)
  t.match(commitOutput(apply), /node-b: unreachable: caught up on the next apply/)
  for (const [name, ex] of [['controller', local], ['node-a', nodeA.executor()]] as const) {
    const shadow = await shadowOn(ex, 'idy_beta')
    t.ok(shadow[1]?.startsWith('!') && shadow[7] === '1', `idy_beta is locked and expired on ${name}`)
    t.equal(await uidOn(ex, 'idy_beta'), uid, `uid kept on ${name}`)
  }
  const refused = await local.run(['runuser', '-u', 'idy_beta', '--', 'sbatch', '--parsable', '-A', 'nlp-smith', '--wrap', 'true'])
  t.not(refused.code, 0, `a disabled user cannot submit: ${refused.stderr.trim()}`)

  await nodeB.start()
  const again = await applyAndWait()
  t.equal(again.status, 'succeeded')
  t.match(commitOutput(again), /node-a: up to date.*node-b: 1 locked/)
  const shadow = await shadowOn(nodeB.executor(), 'idy_beta')
  t.ok(shadow[1]?.startsWith('!') && shadow[7] === '1', 'node-b caught up')
})

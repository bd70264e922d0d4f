/**
 * Applies, as an admin sees them (issue 13), on the sandbox's real Slurm:
 * 1. a one-user change through the API, applied locally: wall from the spec PUT to the
 *    apply's end, over the time of its own commands run by hand (`groupadd` + `useradd` +
 *    `sacctmgr add user`, for another user, in the same run);
 * 2. the same over SSH (the test sshd, ops/ssh/start.sh): wall and the SSH channels
 *    opened (exec and SFTP sessions, counted on the ssh2 client);
 * 3. an apply with nothing to do over SSH: wall and channels;
 * 4. `steward plan FILE --sandbox` with nothing to do, over one `sacctmgr show assoc`.
 * Every remote command pays the remote shell's start-up: root's ~/.bashrc of the machine
 * as it is (the report prints what one `true` costs over SSH). Needs the sandbox: run it
 * under `flock /tmp/steward-sandbox.lock`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parse, stringify } from 'yaml'
import { buildApp } from '../src/api/app.js'
import { createStore } from '../src/store/index.js'
import { hashTokenSecret, newTokenSecret } from '../src/auth/tokens.js'
import { createApplyEngine } from '../src/apply/engine.js'
import { profileFromConfig, type ControllersConfig } from '../src/apply/controllers.js'
import type { ControllerProfile } from '../src/apply/profile.js'
import { createSshExecutor, parseSshUrl } from '../src/adapters/ssh-executor.js'
import { sandboxEnv, sandboxStatus, sandboxUp } from '../src/sandbox/index.js'
import { projectRoot } from '../src/project-root.js'
import type { ClusterSpec } from '../src/spec/schema.js'
import { benchSshd } from './sshd.js'
import { countSshChannels } from './ssh-channels.js'
import { median, medianWallMs, stewardBin } from './process.js'
import type { Report } from './timing.js'

const RUNS = Number(process.env.STEWARD_BENCH_APPLY_RUNS ?? 3)
const quiet = { info: () => undefined, error: () => undefined }
/** Bench users: names and ids no example uses; removed at the end. */
const UID_BASE = 391_000

function withUser(spec: ClusterSpec, name: string, uid: number): ClusterSpec {
  const next = structuredClone(spec)
  next.users.push({ name, uid })
  const supervisor = next.departments.find((d) => d.name === 'nlp')?.supervisors?.[0]
  if (!supervisor) throw new Error('examples/campus.yaml has no nlp supervisor')
  supervisor.users.push(name)
  return next
}

export async function benchApplies(report: Report): Promise<void> {
  const root = projectRoot()
  const campus = parse(readFileSync(join(root, 'examples', 'campus.yaml'), 'utf8')) as ClusterSpec
  const status = await sandboxStatus().catch(() => undefined)
  if (!status?.running || status.clusterName !== 'campus') await sandboxUp({ spec: campus })
  const env = sandboxEnv()
  const sshd = await benchSshd()
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-applies-'))
  const store = await createStore({ dataDir: dir })
  const controllers: ControllersConfig = { campus: 'sandbox' }
  const profiles: ControllerProfile[] = []
  const engine = createApplyEngine({
    store, log: quiet,
    profileFor: async (cluster) => {
      const p = profileFromConfig(controllers, cluster)
      profiles.push(p)
      return p
    },
  })
  const app = await buildApp({ store, engine }, { logger: false })
  const secret = newTokenSecret()
  await store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'bench', createdBy: 'bench' })
  const api = (method: 'POST' | 'PUT', url: string, payload?: object) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${secret}` }, ...(payload ? { payload } : {}) })
  const local = profileFromConfig({ campus: 'sandbox' }, 'campus').executor
  const made: Array<{ name: string }> = []
  let spec = campus
  let next = 0

  async function putAndApply(body: ClusterSpec): Promise<{ ms: number; steps: string[] }> {
    const start = performance.now()
    const put = await api('PUT', '/v1/clusters/campus/spec', body)
    if (put.statusCode !== 200) throw new Error(`spec PUT refused: ${put.statusCode} ${put.body}`)
    const res = await api('POST', '/v1/clusters/campus/applies')
    if (res.statusCode !== 202) throw new Error(`apply refused: ${res.statusCode} ${res.body}`)
    const done = await engine.wait((res.json() as { id: string }).id)
    const ms = performance.now() - start
    if (done.status !== 'succeeded') throw new Error(`bench apply ${done.status}: ${done.error ?? ''}`)
    return { ms, steps: done.steps.map((s) => `${s.name} (${s.finishedAt && s.startedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : '?'} ms)`) }
  }

  /** One new user through the API and an apply; returns its wall ms. */
  async function oneUser(): Promise<{ ms: number; steps: string[] }> {
    const name = `benchu${String(next).padStart(3, '0')}`
    const uid = UID_BASE + next++
    made.push({ name })
    spec = withUser(spec, name, uid)
    return putAndApply(spec)
  }

  /** The same three commands an admin types for one more user, timed. */
  async function byHand(): Promise<number> {
    const name = `benchh${String(next).padStart(3, '0')}`
    const uid = UID_BASE + next++
    made.push({ name })
    const start = performance.now()
    for (const argv of [
      ['groupadd', '--gid', String(uid), name],
      ['useradd', '--uid', String(uid), '--gid', String(uid), '--home-dir', `/home/${name}`, '--create-home', '--shell', '/bin/bash', name],
      ['sacctmgr', '-i', 'add', 'user', name, 'account=nlp-garcia', 'cluster=campus'],
    ]) {
      const r = await local.run(argv)
      if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stdout}${r.stderr}`)
    }
    return performance.now() - start
  }

  async function cleanUp(): Promise<void> {
    const names = made.map((m) => m.name)
    if (names.length > 0) await local.run(['sacctmgr', '-i', 'delete', 'user', 'where', `name=${names.join(',')}`])
    for (const name of names) {
      await local.run(['userdel', '--remove', name])
      await local.run(['groupdel', name])
    }
  }

  try {
    const created = await api('POST', '/v1/clusters', { name: 'campus' })
    if (created.statusCode !== 201) throw new Error(`cluster create refused: ${created.statusCode} ${created.body}`)
    await putAndApply(campus)

    // 1. Local.
    const hand: number[] = []
    const localWall: number[] = []
    let localSteps: string[] = []
    for (let i = 0; i < RUNS; i++) {
      hand.push(await byHand())
      const r = await oneUser()
      localWall.push(r.ms)
      localSteps = r.steps
    }
    report(`one-user change through the API, applied locally (median of ${RUNS})`, {
      'by hand ms (groupadd+useradd+sacctmgr)': median(hand).toFixed(0),
      'API to live ms': median(localWall).toFixed(0),
      'ratio API to live / by hand': (median(localWall) / median(hand)).toFixed(2),
      'steps of the last run': localSteps.join(', '),
    })

    // 2, 3. Over SSH.
    controllers.campus = { url: sshd.url, identity: sshd.identity, hostKey: sshd.hostKey, sandbox: true }
    const { username, host, port } = parseSshUrl(sshd.url)
    const probe = createSshExecutor({ host, port, username, privateKeyPath: sshd.identity, hostKey: sshd.hostKey })
    await probe.run(['true'])
    const trueTimes: number[] = []
    for (let i = 0; i < 5; i++) {
      const begin = performance.now()
      await probe.run(['true'])
      trueTimes.push(performance.now() - begin)
    }
    const trueMs = median(trueTimes)
    await probe.close()
    const sshWall: number[] = []
    const sshChannels: number[] = []
    let sshSteps: string[] = []
    for (let i = 0; i < RUNS; i++) {
      const counter = countSshChannels()
      try {
        const r = await oneUser()
        sshWall.push(r.ms)
        sshSteps = r.steps
      } finally {
        sshChannels.push(counter.stop().channels)
      }
    }
    report(`one-user change through the API, applied over SSH (median of ${RUNS})`, {
      'one `true` over SSH ms (shell start-up)': trueMs.toFixed(0),
      'API to live s': (median(sshWall) / 1000).toFixed(2),
      'SSH channels (exec + SFTP)': median(sshChannels),
      'steps of the last run': sshSteps.join(', '),
    })
    const noopWall: number[] = []
    const noopChannels: number[] = []
    let noopSteps: string[] = []
    for (let i = 0; i < RUNS; i++) {
      const counter = countSshChannels()
      try {
        const start = performance.now()
        const res = await api('POST', '/v1/clusters/campus/applies')
        if (res.statusCode !== 202) throw new Error(`apply refused: ${res.statusCode} ${res.body}`)
        const done = await engine.wait((res.json() as { id: string }).id)
        noopWall.push(performance.now() - start)
        if (done.status !== 'succeeded') throw new Error(`no-op apply ${done.status}: ${done.error ?? ''}`)
        noopSteps = done.steps.map((s) => `${s.name} (${Date.parse(s.finishedAt ?? s.startedAt) - Date.parse(s.startedAt)} ms)`)
      } finally {
        noopChannels.push(counter.stop().channels)
      }
    }
    report(`apply with nothing to do, over SSH (median of ${RUNS})`, {
      'wall s': (median(noopWall) / 1000).toFixed(2),
      'SSH channels (exec + SFTP)': median(noopChannels),
      'steps of the last run': noopSteps.join(', '),
    })

    // 4. The CLI, against what is live now.
    const specFile = join(dir, 'live.yaml')
    writeFileSync(specFile, stringify(spec))
    process.env.SLURM_CONF = env.SLURM_CONF
    const ms = medianWallMs({
      assoc: ['sacctmgr', '-n', '-P', 'show', 'assoc'],
      plan: [process.execPath, stewardBin(root), 'plan', specFile, '--sandbox', '--detailed-exitcode'],
    }, 7, root)
    report('`steward plan FILE --sandbox` with nothing to do (median of 7, whole process)', {
      'sacctmgr show assoc ms': ms.assoc.toFixed(0),
      'steward plan ms': ms.plan.toFixed(0),
      'ratio plan / sacctmgr show assoc': (ms.plan / ms.assoc).toFixed(2),
    })
  } finally {
    await app.close()
    for (const p of profiles) await p.close?.()
    await cleanUp().catch((err: unknown) => console.error('bench clean-up failed:', err))
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

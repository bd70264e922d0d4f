/**
 * The apply engine: makes a cluster's controller run a stored revision, one apply at a
 * time per cluster. Order (DESIGN.md): POSIX users, QoS and accounts, then files; then a
 * reconfigure or a controlled restart; then verification. A failure after the files were
 * installed restores the previous files and brings Slurm back on them. Every step is
 * logged in the store as it happens, so a crash leaves a readable record.
 */
import { randomBytes } from 'node:crypto'
import type { ClusterSpec } from '../spec/schema.js'
import { renderCluster, type RenderedFile } from '../slurm/render.js'
import { reloadAction } from '../slurm/reload.js'
import { planOnCluster } from '../accounting/cluster.js'
import { applyPlan } from '../accounting/apply.js'
import { shortArgv } from '../accounting/format.js'
import type { Plan } from '../accounting/operations.js'
import type { ApplyRecord, ApplyStepRecord, Store } from '../store/types.js'
import { StoreConflictError } from '../store/types.js'
import { CONTROLLER_FILES, type ControllerProfile } from './profile.js'
import { commitInstall, installFiles, readCurrent, readJournal, restoreFromJournal } from './install.js'
import { verifyController, waitForController } from './verify.js'

export interface EngineLogger {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/**
 * A capability's step in every apply (login nodes, the policy parameter): it runs after
 * Slurm is verified and before the apply commits; when it throws, the apply rolls back.
 * Returns the step's output line.
 */
export interface ApplyHook {
  name: string
  detail: string
  run(context: { cluster: string; revision: number; applyId: string; spec: ClusterSpec }): Promise<string>
}

export interface ApplyEngineDeps {
  store: Store
  /** The controller of a cluster. */
  profileFor(cluster: string): Promise<ControllerProfile>
  log: EngineLogger
  /** Steps of other capabilities, in order. */
  hooks?: ApplyHook[]
}

/** The files of a spec that go onto the controller, rendered for that site. */
export function controllerFiles(profile: ControllerProfile, spec: ClusterSpec, revision: number): RenderedFile[] {
  return renderCluster(spec, { ...profile.renderOptions(spec), revision })
    .filter((f) => (CONTROLLER_FILES as readonly string[]).includes(f.name))
}

/** A line diff good enough for a reviewer: removed and added lines with their numbers. */
export function fileDiff(before: string | undefined, after: string): { changed: boolean; removed: string[]; added: string[] } {
  const old = (before ?? '').split('\n')
  const next = after.split('\n')
  const oldSet = new Set(old)
  const nextSet = new Set(next)
  const removed = old.filter((l) => !nextSet.has(l))
  const added = next.filter((l) => !oldSet.has(l))
  return { changed: before !== after, removed, added }
}

export interface ApplyEngine {
  /** Starts applying `revision` (default: newest); refuses with StoreConflictError when an apply runs. */
  start(cluster: string, revision: number | undefined, startedBy: string): Promise<ApplyRecord>
  /** Resolves when the apply ends (for tests and the CLI). */
  wait(id: string): Promise<ApplyRecord>
  /** What an apply of `revision` would change: files and the accounting/POSIX plan. */
  plan(cluster: string, revision?: number): Promise<{ revision: number; files: Array<{ name: string } & ReturnType<typeof fileDiff>>; accounting: Plan }>
  /** Whether the controller still runs the last applied revision. */
  drift(cluster: string): Promise<{ appliedRevision: number | null; drifted: boolean; files: Array<{ name: string } & ReturnType<typeof fileDiff>>; accounting: Plan | null }>
  /** At start-up: marks applies a crash interrupted and puts their clusters back on the old files. */
  recover(): Promise<ApplyRecord[]>
  /** Resolves when no apply of this process runs (for a graceful shutdown). */
  idle(): Promise<void>
}

const now = () => new Date().toISOString()

export function createApplyEngine(deps: ApplyEngineDeps): ApplyEngine {
  const { store, log } = deps
  const running = new Map<string, Promise<ApplyRecord>>()

  /** The controller's files and accounting against a revision: what plan and drift show. */
  async function compare(cluster: string, spec: ClusterSpec, revision: number) {
    const profile = await deps.profileFor(cluster)
    const files = controllerFiles(profile, spec, revision)
    const current = await readCurrent(profile.executor, profile.configDir, files.map((f) => f.name))
    const accounting = await planOnCluster(profile.executor, spec, { protectedAccounts: profile.protectedAccounts, protectedUsers: profile.protectedUsers })
    return { files: files.map((f) => ({ name: f.name, ...fileDiff(current.get(f.name), f.content) })), accounting }
  }

  async function revisionOf(cluster: string, revision?: number) {
    const record = await store.getCluster(cluster)
    return store.getRevision(cluster, revision ?? record.latestRevision)
  }

  async function run(apply: ApplyRecord, spec: ClusterSpec, profile: ControllerProfile, release: () => Promise<void>): Promise<ApplyRecord> {
    let seq = 0
    const step = async <T>(name: string, detail: string, fn: () => Promise<{ result: T; output: string }>): Promise<T> => {
      const record: ApplyStepRecord = { seq: ++seq, name, status: 'running', detail, output: '', startedAt: now(), finishedAt: null }
      await store.putApplyStep(apply.id, record)
      try {
        const { result, output } = await fn()
        await store.putApplyStep(apply.id, { ...record, status: 'ok', output, finishedAt: now() })
        return result
      } catch (err) {
        await store.putApplyStep(apply.id, { ...record, status: 'failed', output: (err as Error).message, finishedAt: now() })
        throw err
      }
    }
    const ex = profile.executor
    const dir = profile.configDir
    let installed = false
    try {
      await store.updateApply(apply.id, { status: 'running' })
      const plan = await step('plan accounting', 'read slurmdbd and POSIX users; plan', async () => {
        const p = await planOnCluster(ex, spec, { protectedAccounts: profile.protectedAccounts, protectedUsers: profile.protectedUsers })
        return { result: p, output: `${p.operations.length} operation(s)` }
      })
      for (const op of plan.operations) {
        await step(`${op.phase}: ${op.summary}`, shortArgv(op.argv), async () => {
          const res = await applyPlan(ex, { ...plan, operations: [op] })
          const out = res.failed?.result ? `${res.failed.result.stdout}${res.failed.result.stderr}`.trim() : ''
          if (!res.ok) throw new Error(`failed: ${out || res.failed?.error?.message || 'unknown error'}`)
          return { result: undefined, output: '' }
        })
      }
      const files = controllerFiles(profile, spec, apply.revision)
      const current = await readCurrent(ex, dir, files.map((f) => f.name))
      // In include mode the daemon-level keys live in steward.conf; the site owns the nodes.
      const conf = files.find((f) => f.name === 'slurm.conf') ?? files.find((f) => f.name === 'steward.conf')
      const decision = conf ? reloadAction(current.get(conf.name), conf.content, spec.cluster.slurmVersion) : { action: 'restart' as const, reasons: ['no slurm.conf rendered'] }
      await step('install files', `${files.map((f) => f.name).join(', ')} into ${dir}`, async () => {
        // A journal left by an apply whose rollback failed holds the last good set: put it back first.
        const leftover = await readJournal(ex, dir)
        if (leftover) await restoreFromJournal(ex, dir)
        installed = true
        await installFiles(ex, dir, files, apply.id)
        const note = leftover ? `restored the files kept aside by apply ${leftover.applyId} first; ` : ''
        return { result: undefined, output: `${note}uploaded, previous files kept aside, renamed into place` }
      })
      await reload(profile, decision.action, decision.reasons, step)
      await step('verify', 'scontrol ping; partitions, nodes and files as rendered', async () => {
        await waitForController(ex)
        const notes = await verifyController(ex, dir, files)
        if (profile.healthCheck) {
          const res = await ex.run(profile.healthCheck)
          if (res.code !== 0) throw new Error(`health check ${shortArgv([...profile.healthCheck])} failed: ${(res.stdout + res.stderr).trim()}`)
          notes.push('site health check passed')
        }
        return { result: undefined, output: notes.join('; ') }
      })
      for (const hook of deps.hooks ?? []) {
        await step(hook.name, hook.detail, async () => ({
          result: undefined, output: await hook.run({ cluster: apply.cluster, revision: apply.revision, applyId: apply.id, spec }),
        }))
      }
      await step('commit', 'remove the previous files kept aside', async () => {
        await commitInstall(ex, dir)
        return { result: undefined, output: '' }
      })
      await store.setAppliedRevision(apply.cluster, apply.revision)
      await store.updateApply(apply.id, { status: 'succeeded', finishedAt: now() })
      log.info({ cluster: apply.cluster, revision: apply.revision, applyId: apply.id }, 'apply succeeded')
    } catch (err) {
      log.error({ err, cluster: apply.cluster, applyId: apply.id }, 'apply failed')
      let status: ApplyRecord['status'] = 'failed'
      if (installed) {
        try {
          await step('roll back', 'restore the previous files and reload Slurm', async () => {
            await restoreFromJournal(ex, dir)
            const res = await ex.run([...profile.restart], { timeoutMs: 180_000 })
            if (res.code !== 0) throw new Error(`restart exited ${res.code}: ${(res.stdout + res.stderr).trim()}`)
            await waitForController(ex)
            return { result: undefined, output: 'previous files restored; slurmctld restarted on them and answers' }
          })
          status = 'rolled-back'
        } catch (rollbackErr) {
          log.error({ err: rollbackErr, cluster: apply.cluster, applyId: apply.id }, 'rollback failed')
        }
      }
      await store.updateApply(apply.id, { status, error: (err as Error).message, finishedAt: now() })
    } finally {
      await release()
    }
    return store.getApply(apply.id)
  }

  async function reload(profile: ControllerProfile, action: 'reconfigure' | 'restart', reasons: string[], step: <T>(n: string, d: string, f: () => Promise<{ result: T; output: string }>) => Promise<T>): Promise<void> {
    const argv = action === 'restart' ? profile.restart : profile.reconfigure
    await step(action === 'restart' ? 'restart slurmctld' : 'reconfigure', shortArgv([...argv]), async () => {
      const res = await profile.executor.run(argv, { timeoutMs: 180_000 })
      if (res.code !== 0) throw new Error(`${shortArgv([...argv])} exited ${res.code}: ${(res.stdout + res.stderr).trim()}`)
      return { result: undefined, output: reasons.length > 0 ? `because ${reasons.join('; ')}` : 'only reconfigurable settings changed' }
    })
  }

  return {
    async start(cluster, revision, startedBy) {
      const rev = await revisionOf(cluster, revision)
      const holder = `apply_${randomBytes(6).toString('hex')}`
      const lock = await store.tryApplyLock(cluster, holder)
      if (!lock) throw new StoreConflictError(`an apply of cluster "${cluster}" is already running; wait for it to end`)
      let apply: ApplyRecord
      let profile: ControllerProfile
      try {
        apply = await store.createApply({ cluster, revision: rev.number, startedBy })
        profile = await deps.profileFor(cluster)
      } catch (err) {
        await lock.release()
        throw err
      }
      const done = run(apply, rev.spec, profile, async () => {
        await lock.release()
        running.delete(apply.id)
      })
      // Nobody may be awaiting it: a failure of the bookkeeping itself is logged, never unhandled.
      const guarded = done.catch(async (err: unknown) => {
        log.error({ err, cluster, applyId: apply.id }, 'apply bookkeeping failed')
        return apply
      })
      running.set(apply.id, guarded)
      return apply
    },
    async wait(id) {
      return (await running.get(id)) ?? store.getApply(id)
    },
    async plan(cluster, revision) {
      const rev = await revisionOf(cluster, revision)
      return { revision: rev.number, ...(await compare(cluster, rev.spec, rev.number)) }
    },
    async drift(cluster) {
      const record = await store.getCluster(cluster)
      if (record.appliedRevision === null) return { appliedRevision: null, drifted: false, files: [], accounting: null }
      const { files, accounting } = await compare(cluster, (await store.getRevision(cluster, record.appliedRevision)).spec, record.appliedRevision)
      return { appliedRevision: record.appliedRevision, drifted: files.some((d) => d.changed) || accounting.operations.length > 0, files, accounting }
    },
    async recover() {
      const recovered: ApplyRecord[] = []
      for (const apply of await store.listUnfinishedApplies()) {
        if (running.has(apply.id)) continue
        // Another replica may be running it: only the holder of the lock may recover.
        const lock = await store.tryApplyLock(apply.cluster, `recover_${apply.id}`)
        if (!lock) continue
        try {
          recovered.push(await recoverOne(apply))
        } finally {
          await lock.release()
        }
      }
      return recovered
    },
    async idle() {
      await Promise.all(running.values())
    },
  }

  async function recoverOne(apply: ApplyRecord): Promise<ApplyRecord> {
    let note = 'interrupted by a restart of the service; no files had been swapped'
    try {
      const profile = await deps.profileFor(apply.cluster)
      if (await restoreFromJournal(profile.executor, profile.configDir)) {
        await profile.executor.run([...profile.restart], { timeoutMs: 180_000 })
        await waitForController(profile.executor)
        note = 'interrupted by a restart of the service; the previous files were restored and Slurm restarted on them'
      }
    } catch (err) {
      note = `interrupted; recovery failed: ${(err as Error).message}`
    }
    await store.putApplyStep(apply.id, { seq: apply.steps.length + 1, name: 'recover', status: 'ok', detail: 'at service start-up', output: note, startedAt: now(), finishedAt: now() })
    await store.updateApply(apply.id, { status: 'interrupted', error: note, finishedAt: now() })
    log.info({ cluster: apply.cluster, applyId: apply.id }, note)
    return store.getApply(apply.id)
  }
}

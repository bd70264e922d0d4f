/**
 * The apply engine: makes a cluster's controller run a stored revision, one apply at a
 * time per cluster. Order (DESIGN.md): POSIX users, QoS and accounts, then files; then a
 * reconfigure or a controlled restart; then verification. A failure after the files were
 * installed restores the previous files and brings Slurm back on them; once the install
 * is committed on the controller it is final and is never rolled back: if recording it
 * in the store fails, the engine retries, and recovery completes it from the journal.
 * Before each step that changes the controller the engine checks that it still holds the
 * cluster's apply lock (its fencing token) and stops if not. Every step is logged in the
 * store as it happens, so a crash leaves a readable record. Recovery runs whenever the
 * lock is taken: at start-up and before each apply.
 */
import { randomBytes } from 'node:crypto'
import type { ClusterSpec } from '../spec/schema.js'
import { renderCluster, type RenderedFile } from '../slurm/render.js'
import { reloadAction } from '../slurm/reload.js'
import { planOnCluster } from '../accounting/cluster.js'
import { applyPlan } from '../accounting/apply.js'
import { shortArgv } from '../accounting/format.js'
import type { Plan } from '../accounting/operations.js'
import type { BudgetActions } from '../accounting/desired.js'
import type { ApplyLock, ApplyRecord, ApplyStepRecord, Store } from '../store/types.js'
import { ApplyLockLostError, StoreConflictError } from '../store/types.js'
import { CONTROLLER_FILES, type ControllerProfile } from './profile.js'
import { commitInstall, forgetJournal, InstallError, installFiles, readCurrent, readJournal, restoreFromJournal } from './install.js'
import { sameManagedFile, withoutStamp } from './stamp.js'
import { verifyController, waitForController } from './verify.js'

export interface EngineLogger {
  info(obj: object, msg: string): void
  error(obj: object, msg: string): void
}

/** What an apply tells a capability's step. */
export interface ApplyHookContext {
  cluster: string
  revision: number
  applyId: string
  spec: ClusterSpec
  /** Throws `ApplyLockLostError` when this apply no longer holds the cluster's lock: call before each change. */
  checkLock(): Promise<void>
}

/**
 * A capability's part of every apply (login nodes, the policy parameter), in two phases
 * like the controller's files: `run` stages its change after Slurm is verified (nothing
 * final yet; when it throws, the apply rolls back); `commit` makes it final once the
 * controller's files are committed (a failure then is reported, never rolled back: the
 * next apply finishes it); `rollback` undoes what `run` staged when the apply fails
 * before its commit, also after a `run` that failed half-way. Each returns its step's
 * output line. `release` lets go of what `run` holds (connections, staged state in
 * memory) without undoing or finishing anything; the engine calls it when the apply ends
 * whatever happened, so an apply that lost its lock (neither committed nor rolled back:
 * the node is left for the lock's new holder) leaks nothing. It must be a no-op after a
 * `commit` or `rollback`.
 */
export interface ApplyHook {
  name: string
  detail: string
  run(context: ApplyHookContext): Promise<string>
  commit?(context: ApplyHookContext): Promise<string>
  rollback?(context: ApplyHookContext): Promise<string>
  release?(context: ApplyHookContext): Promise<void>
}

export interface ApplyEngineDeps {
  store: Store
  /** The controller of a cluster. */
  profileFor(cluster: string): Promise<ControllerProfile>
  log: EngineLogger
  /**
   * How the engine retries recording an apply whose files are committed (the store may
   * refuse for a while, e.g. SQLITE_BUSY while the CLI holds the write lock): delays in
   * ms between attempts. Default: about two minutes in all.
   */
  bookkeepingRetryMs?: readonly number[]
  /** Steps of other capabilities, in order. */
  hooks?: ApplyHook[]
  /** Budget actions in force on a cluster's departments (src/budgets/): planned with the spec's accounting. */
  budgetActions?(cluster: string): Promise<BudgetActions>
}

const BOOKKEEPING_RETRY_MS = [250, 500, 1000, 2000, 4000, 8000, 15_000, 30_000, 30_000, 30_000]

/** The files of a spec that go onto the controller, rendered for that site. */
export function controllerFiles(profile: ControllerProfile, spec: ClusterSpec, revision: number): RenderedFile[] {
  return renderCluster(spec, { ...profile.renderOptions(spec), revision })
    .filter((f) => (CONTROLLER_FILES as readonly string[]).includes(f.name))
}

/**
 * A line diff good enough for a reviewer: removed and added lines. The header's stamp
 * (spec hash and revision) is left out: a file that differs only there is unchanged.
 */
export function fileDiff(before: string | undefined, after: string): { changed: boolean; removed: string[]; added: string[] } {
  const old = before === undefined ? [''] : withoutStamp(before).split('\n')
  const next = withoutStamp(after).split('\n')
  const oldSet = new Set(old)
  const nextSet = new Set(next)
  const removed = old.filter((l) => !nextSet.has(l))
  const added = next.filter((l) => !oldSet.has(l))
  return { changed: !sameManagedFile(before, after), removed, added }
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
  /**
   * Finishes applies a crash left unfinished (also run whenever the apply lock is taken):
   * an apply committed on the controller is recorded as succeeded; one cut off before its
   * commit is marked interrupted and its cluster put back on the old files.
   */
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
    const accounting = await planOnCluster(profile.executor, spec, { protectedAccounts: profile.protectedAccounts, protectedUsers: profile.protectedUsers, budgetActions: await deps.budgetActions?.(cluster) })
    return { files: files.map((f) => ({ name: f.name, ...fileDiff(current.get(f.name), f.content) })), accounting }
  }

  async function revisionOf(cluster: string, revision?: number) {
    const record = await store.getCluster(cluster)
    return store.getRevision(cluster, revision ?? record.latestRevision)
  }

  type Step = <T>(name: string, detail: string, fn: () => Promise<{ result: T; output: string }>) => Promise<T>

  /** Runs `fn` until it resolves, waiting `delays` between attempts; throws the last error. */
  async function retried(what: string, applyId: string, fn: () => Promise<void>): Promise<void> {
    const delays = deps.bookkeepingRetryMs ?? BOOKKEEPING_RETRY_MS
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn()
      } catch (err) {
        const delay = delays[attempt]
        if (delay === undefined) throw err
        log.error({ err, applyId, attempt: attempt + 1 }, `${what} failed; retrying in ${delay} ms`)
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /**
   * Records an apply whose files are committed as succeeded, retrying while the store
   * refuses, then drops its journal. If the store never answers, the committed journal
   * stays on the controller and recovery completes the record later.
   */
  async function complete(apply: ApplyRecord, profile: ControllerProfile, lock: ApplyLock, note?: string): Promise<void> {
    await retried('recording a committed apply', apply.id, async () => {
      await store.setAppliedRevision(apply.cluster, apply.revision)
      if (note) await store.putApplyStep(apply.id, { seq: (await store.getApply(apply.id)).steps.length + 1, name: 'recover', status: 'ok', detail: 'when the apply lock was taken', output: note, startedAt: now(), finishedAt: now() })
      await store.updateApply(apply.id, { status: 'succeeded', error: null, finishedAt: now() })
    })
    try {
      await lock.check()
      await forgetJournal(profile.executor, profile.configDir, apply.id)
    } catch (err) {
      // Harmless: a committed journal of a recorded apply is dropped by the next install.
      log.error({ err, cluster: apply.cluster, applyId: apply.id }, 'could not remove the journal of a committed apply')
    }
    log.info({ cluster: apply.cluster, revision: apply.revision, applyId: apply.id }, 'apply succeeded')
  }

  async function run(apply: ApplyRecord, spec: ClusterSpec, profile: ControllerProfile, lock: ApplyLock): Promise<ApplyRecord> {
    let seq = 0
    const step: Step = async (name, detail, fn) => {
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
    // before: the controller's files are untouched; installed: the journal can restore the
    // old set; committed: the new set is final, whatever fails afterwards.
    const at: { phase: 'before' | 'installed' | 'committed' } = { phase: 'before' }
    // Capability steps that ran (or began to), and what they are told.
    const staged: ApplyHook[] = []
    const hookContext: ApplyHookContext = { cluster: apply.cluster, revision: apply.revision, applyId: apply.id, spec, checkLock: () => lock.check() }
    /** Installs changed files with their journal, reloads Slurm and verifies it. */
    const installAndReload = async (files: RenderedFile[], current: Map<string, string | undefined>): Promise<void> => {
      // In include mode the daemon-level keys live in steward.conf; the site owns the nodes.
      const conf = files.find((f) => f.name === 'slurm.conf') ?? files.find((f) => f.name === 'steward.conf')
      const decision = conf ? reloadAction(current.get(conf.name), conf.content, spec.cluster.slurmVersion) : { action: 'restart' as const, reasons: ['no slurm.conf rendered'] }
      await step('install files', `${files.map((f) => f.name).join(', ')} into ${dir}`, async () => {
        await lock.check()
        // A journal left by an apply whose rollback failed holds the last good set: put it
        // back first; a committed one (its apply recorded since) is only forgotten.
        const leftover = await restoreFromJournal(ex, dir)
        if (leftover.kind === 'committed') await forgetJournal(ex, dir, leftover.applyId)
        at.phase = 'installed'
        await installFiles(ex, dir, files, apply.id)
        const note = leftover.kind === 'restored' ? `restored the files kept aside by apply ${leftover.applyId} first; ` : ''
        return { result: undefined, output: `${note}uploaded, previous files kept aside, renamed into place` }
      })
      await reload(profile, decision.action, decision.reasons, step, lock)
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
    }
    try {
      try {
        await store.updateApply(apply.id, { status: 'running' })
        const files = controllerFiles(profile, spec, apply.revision)
        // The controller's files and journal are read alongside the plan's reads (over SSH:
        // the SFTP session next to the batch); the plan's operations never touch them.
        const onController = Promise.all([readCurrent(ex, dir, files.map((f) => f.name)), readJournal(ex, dir)])
        onController.catch(() => undefined)
        const plan = await step('plan accounting', 'read slurmdbd and POSIX users; plan', async () => {
          const p = await planOnCluster(ex, spec, { protectedAccounts: profile.protectedAccounts, protectedUsers: profile.protectedUsers, budgetActions: await deps.budgetActions?.(apply.cluster) })
          return { result: p, output: `${p.operations.length} operation(s)` }
        })
        for (const op of plan.operations) {
          await step(`${op.phase}: ${op.summary}`, shortArgv(op.argv), async () => {
            await lock.check()
            const res = await applyPlan(ex, { ...plan, operations: [op] })
            const out = res.failed?.result ? `${res.failed.result.stdout}${res.failed.result.stderr}`.trim() : ''
            if (!res.ok) throw new Error(`failed: ${out || res.failed?.error?.message || 'unknown error'}`)
            return { result: undefined, output: '' }
          })
        }
        const [current, journal] = await onController
        if (!journal && files.every((f) => sameManagedFile(current.get(f.name), f.content))) {
          // Nothing for Slurm: no upload, no reconfigure, nothing new to verify.
          await step('install files', `${files.map((f) => f.name).join(', ')} in ${dir}`, async () => ({
            result: undefined,
            output: `skipped: the files on the controller equal the render (the header's revision stamp aside); no reconfigure`,
          }))
        } else {
          await installAndReload(files, current)
        }
        for (const hook of deps.hooks ?? []) {
          await step(hook.name, hook.detail, async () => {
            await lock.check()
            staged.push(hook)
            return { result: undefined, output: await hook.run(hookContext) }
          })
        }
        await step('commit', 'mark the journal committed; remove the previous files kept aside; commit the other steps', async () => {
          await lock.check()
          const installed = at.phase === 'installed'
          if (installed) await commitInstall(ex, dir, apply.id)
          at.phase = 'committed'
          return { result: undefined, output: [installed ? 'the new files are final' : 'no files were installed', ...await commitHooks(staged, hookContext)].join('; ') }
        })
      } catch (err) {
        if (at.phase !== 'committed' && !(await fail(apply, profile, lock, step, at.phase, err, { staged, context: hookContext }))) return await store.getApply(apply.id)
        // Committed: what failed was bookkeeping (or the commit's own record); the files stay.
        log.error({ err, cluster: apply.cluster, applyId: apply.id }, 'apply committed; recording it failed, retrying')
      }
      await complete(apply, profile, lock)
    } catch (err) {
      log.error({ err, cluster: apply.cluster, applyId: apply.id }, at.phase === 'committed'
        ? 'apply committed on the controller but not recorded in the store; recovery will complete it'
        : 'apply bookkeeping failed')
    } finally {
      for (const hook of staged) {
        await hook.release?.(hookContext).catch((err: unknown) => log.error({ err, cluster: apply.cluster, applyId: apply.id }, `releasing ${hook.name} failed`))
      }
      await lock.release().catch((err: unknown) => log.error({ err, cluster: apply.cluster }, 'releasing the apply lock failed'))
      running.delete(apply.id)
    }
    return store.getApply(apply.id)
  }

  /**
   * After a failure before the commit: rolls the controller back when files were
   * installed, never without a journal and never once the lock is lost. Returns true when
   * the journal showed the install committed after all (the commit's answer was lost):
   * then the apply completes instead.
   */
  async function fail(apply: ApplyRecord, profile: ControllerProfile, lock: ApplyLock, step: Step, phase: 'before' | 'installed', err: unknown, hooks: { staged: readonly ApplyHook[]; context: ApplyHookContext }): Promise<boolean> {
    log.error({ err, cluster: apply.cluster, applyId: apply.id }, 'apply failed')
    let status: ApplyRecord['status'] = 'failed'
    let error = (err as Error).message
    if (err instanceof ApplyLockLostError) {
      error = `${error}; stopped before the next change, the controller was left for the new holder of the lock`
    } else if (phase === 'before' && hooks.staged.length > 0) {
      // Slurm's files were equal and left alone: only the capability steps are undone.
      try {
        await lock.check()
        await rollbackHooks(hooks.staged, hooks.context, step)
        status = 'rolled-back'
      } catch (rollbackErr) {
        log.error({ err: rollbackErr, cluster: apply.cluster, applyId: apply.id }, 'rollback failed')
        error = `${error}; rollback failed: ${(rollbackErr as Error).message}`
      }
    } else if (phase === 'installed') {
      try {
        await lock.check()
        await rollbackHooks(hooks.staged, hooks.context, step)
        const outcome = await step('roll back', 'restore the previous files and reload Slurm', async () => {
          const restored = await restoreFromJournal(profile.executor, profile.configDir)
          if (restored.kind === 'committed') return { result: restored.kind, output: 'the journal says the new files were committed: they are final, nothing is rolled back' }
          if (restored.kind === 'none') throw new InstallError(`no install journal in ${profile.configDir}: nothing to restore, slurmctld left alone`)
          const res = await profile.executor.run([...profile.restart], { timeoutMs: 180_000 })
          if (res.code !== 0) throw new Error(`restart exited ${res.code}: ${(res.stdout + res.stderr).trim()}`)
          await waitForController(profile.executor)
          return { result: restored.kind, output: 'previous files restored; slurmctld restarted on them and answers' }
        })
        if (outcome === 'committed') return true
        status = 'rolled-back'
      } catch (rollbackErr) {
        log.error({ err: rollbackErr, cluster: apply.cluster, applyId: apply.id }, 'rollback failed')
        error = `${error}; rollback failed: ${(rollbackErr as Error).message}`
      }
    }
    await store.updateApply(apply.id, { status, error, finishedAt: now() })
    return false
  }

  /** Makes each staged capability step final; a failure is told in the output, never thrown (the files are committed). */
  async function commitHooks(hooks: readonly ApplyHook[], context: ApplyHookContext): Promise<string[]> {
    const notes: string[] = []
    for (const hook of hooks) {
      if (!hook.commit) continue
      try {
        notes.push(`${hook.name}: ${await hook.commit(context)}`)
      } catch (err) {
        log.error({ err, cluster: context.cluster, applyId: context.applyId }, `committing ${hook.name} failed`)
        notes.push(`${hook.name}: committing failed (${(err as Error).message}); the next apply finishes it`)
      }
    }
    return notes
  }

  /** Undoes the staged capability steps, newest first, each as a step of its own. */
  async function rollbackHooks(hooks: readonly ApplyHook[], context: ApplyHookContext, step: Step): Promise<void> {
    for (const hook of [...hooks].reverse()) {
      const undo = hook.rollback
      if (!undo) continue
      await step(`roll back ${hook.name}`, `undo what ${hook.name} staged`, async () => ({ result: undefined, output: await undo(context) })).catch((err: unknown) => {
        log.error({ err, cluster: context.cluster, applyId: context.applyId }, `rolling back ${hook.name} failed`)
      })
    }
  }

  async function reload(profile: ControllerProfile, action: 'reconfigure' | 'restart', reasons: string[], step: Step, lock: ApplyLock): Promise<void> {
    const argv = action === 'restart' ? profile.restart : profile.reconfigure
    await step(action === 'restart' ? 'restart slurmctld' : 'reconfigure', shortArgv([...argv]), async () => {
      await lock.check()
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
        // An apply left unfinished under a lock whose holder died is finished first.
        await recoverCluster(cluster, lock)
        apply = await store.createApply({ cluster, revision: rev.number, startedBy })
        profile = await deps.profileFor(cluster)
      } catch (err) {
        await lock.release()
        throw err
      }
      // run() releases the lock and always resolves; the catch is a last guard.
      const guarded = run(apply, rev.spec, profile, lock).catch(async (err: unknown) => {
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
      const clusters = new Set((await store.listUnfinishedApplies()).filter((a) => !running.has(a.id)).map((a) => a.cluster))
      for (const cluster of clusters) {
        // Another replica may be running it: only the holder of the lock may recover.
        const lock = await store.tryApplyLock(cluster, `recover_${randomBytes(6).toString('hex')}`)
        if (!lock) continue
        try {
          recovered.push(...(await recoverCluster(cluster, lock)))
        } catch (err) {
          log.error({ err, cluster }, 'recovery failed; it is tried again when the apply lock is next taken')
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

  /** Recovers the unfinished applies of `cluster` that no apply of this process runs; `lock` is held. */
  async function recoverCluster(cluster: string, lock: ApplyLock): Promise<ApplyRecord[]> {
    const unfinished = (await store.listUnfinishedApplies(cluster)).filter((a) => !running.has(a.id))
    if (unfinished.length === 0) return []
    const profile = await deps.profileFor(cluster)
    const out: ApplyRecord[] = []
    for (const apply of unfinished) out.push(await recoverOne(apply, profile, lock))
    return out
  }

  async function recoverOne(apply: ApplyRecord, profile: ControllerProfile, lock: ApplyLock): Promise<ApplyRecord> {
    const ex = profile.executor
    const dir = profile.configDir
    let journal: Awaited<ReturnType<typeof readJournal>>
    let note = 'interrupted (the service stopped or lost its lock); no files had been swapped'
    try {
      journal = await readJournal(ex, dir)
    } catch (err) {
      journal = undefined
      note = `interrupted; recovery could not read the controller: ${(err as Error).message}`
    }
    if (journal?.applyId === apply.id && journal.phase === 'committed') {
      // Final on the controller: the record follows the files (a store failure here propagates; the next lock retries).
      await complete(apply, profile, lock, 'the files had been committed on the controller before the interruption: recorded as succeeded')
      return store.getApply(apply.id)
    }
    if (journal) {
      try {
        await lock.check()
        const restored = await restoreFromJournal(ex, dir)
        if (restored.kind === 'restored') {
          const res = await ex.run([...profile.restart], { timeoutMs: 180_000 })
          if (res.code !== 0) throw new Error(`restart exited ${res.code}: ${(res.stdout + res.stderr).trim()}`)
          await waitForController(ex)
          note = 'interrupted; the previous files were restored and Slurm restarted on them'
        }
      } catch (err) {
        note = `interrupted; recovery failed: ${(err as Error).message}`
      }
    }
    await store.putApplyStep(apply.id, { seq: apply.steps.length + 1, name: 'recover', status: 'ok', detail: 'when the apply lock was taken', output: note, startedAt: now(), finishedAt: now() })
    await store.updateApply(apply.id, { status: 'interrupted', error: note, finishedAt: now() })
    log.info({ cluster: apply.cluster, applyId: apply.id }, note)
    return store.getApply(apply.id)
  }
}

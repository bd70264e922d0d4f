/**
 * The apply engine against a controller whose files are a real directory and whose
 * commands are answered by a small stand-in (sacctmgr, getent, scontrol ping/show answer
 * from the installed slurm.conf; restarts are recorded), on a real SQLite store: what
 * happens when bookkeeping fails after the commit, when the lock of a crashed life of
 * this process is found, and when the lock is lost mid-apply.
 */
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { parse } from 'yaml'
import { createLocalExecutor, type ExecResult, type Executor } from '../../src/adapters/executor.js'
import { createApplyEngine, type ApplyHook } from '../../src/apply/engine.js'
import { JOURNAL, installFiles, readJournal } from '../../src/apply/install.js'
import { systemdProfile, type ControllerProfile } from '../../src/apply/profile.js'
import { controllerFiles } from '../../src/apply/engine.js'
import { parseSlurmConf } from '../../src/slurm/conf-parse.js'
import pg from 'pg'
import { createPostgresStore, createSqliteStore, type Store } from '../../src/store/index.js'
import { freshPostgresDatabase } from '../support/postgres.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec
const quiet = { info: () => undefined, error: () => undefined }
const local = createLocalExecutor()
const ok = (argv: readonly string[], stdout = ''): ExecResult => ({ argv, code: 0, stdout, stderr: '' })

/** A controller in a temp directory; `calls` has every argv run on it. */
function fakeController(dir: string, onRun?: (argv: readonly string[]) => void | Promise<void>): { profile: ControllerProfile; calls: string[][] } {
  const calls: string[][] = []
  const executor: Executor = {
    target: 'fake',
    async run(argv, options) {
      calls.push([...argv])
      await onRun?.(argv)
      const [cmd, sub, what] = argv
      if (cmd === 'mv' || cmd === 'rm') return local.run(argv, options)
      if (cmd === 'getent') return { argv, code: 2, stdout: '', stderr: '' }
      if (cmd === 'scontrol' && sub === 'ping') return ok(argv, 'Slurmctld(primary) at fake is UP\n')
      if (cmd === 'scontrol' && sub === 'show') {
        const conf = parseSlurmConf(readFileSync(join(dir, 'slurm.conf'), 'utf8'))
        if (what === 'partition') return ok(argv, [...conf.partitions].map(([name, kv]) => [`PartitionName=${name}`, ...[...kv].filter(([k]) => k !== 'PartitionName').map(([k, v]) => `${k}=${v}`)].join(' ')).join('\n'))
        return ok(argv, [...conf.nodes].map((n) => `NodeName=${n} State=IDLE`).join('\n'))
      }
      // sacctmgr reads (empty database), sacctmgr/useradd writes, restart and reconfigure.
      return ok(argv)
    },
    readFile: (path) => local.readFile(path),
    writeFileAtomic: (path, content, mode) => local.writeFileAtomic(path, content, mode),
  }
  const profile = { ...systemdProfile('campus', executor, dir), restart: ['fake-restart'], reconfigure: ['fake-reconfigure'] }
  return { profile, calls }
}

async function fixture(t: Test, options: { busyTimeoutMs?: number } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'steward-engine-'))
  const dir = join(root, 'etc')
  await local.run(['mkdir', dir])
  writeFileSync(join(dir, 'slurm.conf'), 'ClusterName=campus\n# the old file\n')
  const path = join(root, 'steward.db')
  const store = createSqliteStore(path, { busyTimeoutMs: options.busyTimeoutMs ?? 5000 })
  await store.migrate()
  await store.createCluster('campus', '')
  await store.appendRevision('campus', { spec: campus, author: 't', message: 'm' })
  t.teardown(async () => {
    await store.close()
    rmSync(root, { recursive: true, force: true })
  })
  return { root, dir, path, store }
}

const restarts = (calls: string[][]) => calls.filter((c) => c[0] === 'fake-restart').length

t.test('bookkeeping that fails after the commit (SQLITE_BUSY) is retried: no rollback, no restart, the record matches the files', async (t) => {
  const { dir, path, store } = await fixture(t, { busyTimeoutMs: 20 })
  let cli: Database.Database | undefined
  let committedAt = 0
  const { profile, calls } = fakeController(dir, (argv) => {
    // The commit drops the previous files: from here the CLI holds the write lock for a while.
    if (argv[0] === 'rm' && argv.some((a) => a.endsWith('.steward-prev')) && !cli) {
      committedAt = calls.length
      cli = new Database(path)
      cli.exec('BEGIN IMMEDIATE')
      setTimeout(() => cli?.exec('COMMIT'), 400)
    }
  })
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile, bookkeepingRetryMs: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100] })
  const apply = await engine.start('campus', undefined, 'test')
  const done = await engine.wait(apply.id)
  cli?.close()
  t.ok(cli, 'the write lock was held during the commit')
  t.equal(done.status, 'succeeded', done.error ?? '')
  t.equal((await store.getCluster('campus')).appliedRevision, 1, 'appliedRevision is set')
  t.match(readFileSync(join(dir, 'slurm.conf'), 'utf8'), /PartitionName=nlp/, 'the new files stay')
  t.equal(restarts(calls.slice(committedAt)), 0, 'slurmctld was not restarted on a "rollback"')
  t.notOk(done.steps.some((s) => s.name === 'roll back'))
  t.notOk(existsSync(join(dir, JOURNAL)), 'the journal is gone once recorded')
})

t.test('an apply committed but never recorded (store down longer than the retries) is completed by recovery', async (t) => {
  const { dir, path, store } = await fixture(t, { busyTimeoutMs: 20 })
  let cli: Database.Database | undefined
  let committedAt = 0
  const { profile, calls } = fakeController(dir, (argv) => {
    if (argv[0] === 'rm' && argv.some((a) => a.endsWith('.steward-prev')) && !cli) {
      committedAt = calls.length
      cli = new Database(path)
      cli.exec('BEGIN IMMEDIATE')
    }
  })
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile, bookkeepingRetryMs: [50, 50] })
  const apply = await engine.start('campus', undefined, 'test')
  const stuck = await engine.wait(apply.id).catch(() => undefined)
  t.not(stuck?.status, 'rolled-back')
  t.equal((await readJournal(profile.executor, dir))?.phase, 'committed', 'the controller keeps the committed journal')
  cli?.exec('COMMIT')
  cli?.close()
  t.equal((await store.getApply(apply.id)).status, 'running', 'the store could not record it')
  t.equal((await store.getCluster('campus')).appliedRevision, null)
  const recovered = await engine.recover()
  t.same(recovered.map((r) => [r.id, r.status]), [[apply.id, 'succeeded']])
  t.match(recovered[0]?.steps.at(-1)?.output, /committed on the controller/)
  t.equal((await store.getCluster('campus')).appliedRevision, 1)
  t.equal(restarts(calls.slice(committedAt)), 0, 'no restart after the commit')
  t.match(readFileSync(join(dir, 'slurm.conf'), 'utf8'), /PartitionName=nlp/)
  t.notOk(existsSync(join(dir, JOURNAL)))
})

t.test('the lock of a crashed life of this process (same host and pid) does not block: the next apply recovers its run', async (t) => {
  const { dir, store } = await fixture(t)
  const { profile, calls } = fakeController(dir)
  const old = await store.createApply({ cluster: 'campus', revision: 1, startedBy: 'crashed' })
  await store.updateApply(old.id, { status: 'running' })
  // The crashed life had swapped the files in, not committed them.
  await installFiles(profile.executor, dir, controllerFiles(profile, campus, 1), old.id)
  const db = new Database(join(dir, '..', 'steward.db'))
  const soon = new Date(Date.now() + 3_600_000).toISOString()
  db.prepare('INSERT INTO apply_locks (cluster, holder, token, pid, hostname, boot_id, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .run('campus', 'apply_old', 'tok', process.pid, hostname(), 'a-previous-life', new Date().toISOString(), soon)
  db.close()
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile })
  const apply = await engine.start('campus', undefined, 'test')
  const recovered = await store.getApply(old.id)
  t.equal(recovered.status, 'interrupted')
  t.match(recovered.error, /previous files were restored/)
  t.equal(restarts(calls), 1, 'Slurm restarted on the restored files')
  t.equal((await engine.wait(apply.id)).status, 'succeeded')
})

/** A second replica on the apply's database, and a way to make the first holder's lease run out. */
interface Rival {
  thief: Store
  /** What happens to a hung holder: its lease ends (and, on PostgreSQL, its sessions are cut). */
  expire(): Promise<void>
}

async function loseLockMidApply(t: Test, dir: string, store: Store, rival: Rival): Promise<void> {
  let stolen = false
  let afterTheft = 0
  const { profile, calls } = fakeController(dir, async (argv) => {
    const change = argv[0] === 'sacctmgr' && argv[1] === '-i'
    if (stolen && change) afterTheft++
    if (!stolen && change) {
      stolen = true
      await rival.expire()
      if (!(await rival.thief.tryApplyLock('campus', 'thief'))) throw new Error('the expired lock was not taken over')
    }
  })
  const before = readFileSync(join(dir, 'slurm.conf'), 'utf8')
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile })
  const done = await engine.wait((await engine.start('campus', undefined, 'test')).id)
  t.ok(stolen, 'the lock was taken over during the accounting changes')
  t.equal(done.status, 'failed')
  t.match(done.error, /no longer held[\s\S]*stopped before the next change/)
  t.equal(afterTheft, 0, 'no sacctmgr change ran after the lock was lost')
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), before, 'no file was installed')
  t.notOk(existsSync(join(dir, JOURNAL)))
  t.equal(restarts(calls) + calls.filter((c) => c[0] === 'fake-reconfigure').length, 0, 'Slurm was not touched')
  t.equal(await rival.thief.tryApplyLock('campus', 'other'), null, 'the new holder keeps its lock')
}

t.test('an apply that loses its lock mid-apply stops before its next controller-changing step (SQLite)', async (t) => {
  const { dir, path, store } = await fixture(t)
  const thief = createSqliteStore(path)
  t.teardown(() => thief.close())
  await loseLockMidApply(t, dir, store, {
    thief,
    async expire() {
      const db = new Database(path)
      db.exec("UPDATE apply_locks SET expires_at = '2000-01-01T00:00:00.000Z'")
      db.close()
    },
  })
})

t.test('an apply that loses its lock mid-apply stops before its next controller-changing step (PostgreSQL)', async (t) => {
  const { dir } = await fixture(t)
  const database = await freshPostgresDatabase()
  const store = createPostgresStore(database.url)
  const thief = createPostgresStore(database.url)
  t.teardown(async () => {
    await Promise.all([store.close(), thief.close()])
    await database.dispose()
  })
  await store.migrate()
  await store.createCluster('campus', '')
  await store.appendRevision('campus', { spec: campus, author: 't', message: 'm' })
  await loseLockMidApply(t, dir, store, {
    thief,
    async expire() {
      const client = new pg.Client({ connectionString: database.url })
      await client.connect()
      try {
        // Cut every other session (an idle timeout, a failover), then let the lease end.
        await client.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = current_user AND backend_type = 'client backend'")
        await client.query("UPDATE apply_locks SET expires_at = now() - interval '1 second'")
      } finally {
        await client.end()
      }
    },
  })
})

/** A capability step that records what the engine asks of it. */
function recordingHook(name: string, events: string[], fail?: 'run' | 'commit'): ApplyHook {
  return {
    name,
    detail: name,
    async run(ctx) {
      await ctx.checkLock()
      events.push(`${name}.run`)
      if (fail === 'run') throw new Error(`${name} failed`)
      return 'staged'
    },
    async commit() {
      events.push(`${name}.commit`)
      if (fail === 'commit') throw new Error(`${name} could not commit`)
      return 'final'
    },
    async rollback() {
      events.push(`${name}.rollback`)
      return 'put back'
    },
  }
}

t.test('capability steps are committed with the controller\'s files, and rolled back with them when a later step fails', async (t) => {
  const { dir, store } = await fixture(t)
  const events: string[] = []
  const { profile } = fakeController(dir)
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile, hooks: [recordingHook('login', events), recordingHook('policy', events, 'run')] })
  const failed = await engine.wait((await engine.start('campus', undefined, 'test')).id)
  t.equal(failed.status, 'rolled-back', failed.error ?? '')
  t.same(events, ['login.run', 'policy.run', 'policy.rollback', 'login.rollback'], 'both staged steps are undone, newest first; nothing committed')
  t.match(readFileSync(join(dir, 'slurm.conf'), 'utf8'), /# the old file/)

  events.length = 0
  const engine2 = createApplyEngine({ store, log: quiet, profileFor: async () => profile, hooks: [recordingHook('login', events), recordingHook('policy', events, 'commit')] })
  const done = await engine2.wait((await engine2.start('campus', undefined, 'test')).id)
  t.equal(done.status, 'succeeded', 'a step that cannot commit after the controller committed does not undo the apply')
  t.same(events, ['login.run', 'policy.run', 'login.commit', 'policy.commit'])
  t.match(done.steps.find((s) => s.name === 'commit')?.output ?? '', /login: final; policy: committing failed \(policy could not commit\); the next apply finishes it/)
})

/** campus.yaml with one more user (a uid the example does not use) in its first supervisor account. */
function withOneUser(spec: ClusterSpec, name: string, uid: number): ClusterSpec {
  const next = structuredClone(spec)
  next.users.push({ name, uid })
  next.departments[0]?.supervisors?.[0]?.users.push(name)
  return next
}

t.test('a revision whose Slurm files differ only in the header stamp skips install, reconfigure and verify, and says so', async (t) => {
  const { dir, store } = await fixture(t)
  const { profile, calls } = fakeController(dir)
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile })
  t.equal((await engine.wait((await engine.start('campus', undefined, 'test')).id)).status, 'succeeded')
  const installed = readFileSync(join(dir, 'slurm.conf'), 'utf8')
  t.match(installed, /revision 1\./)
  await store.appendRevision('campus', { spec: withOneUser(campus, 'zoe', 200099), author: 't', message: 'one user' })
  calls.length = 0
  const done = await engine.wait((await engine.start('campus', undefined, 'test')).id)
  t.equal(done.status, 'succeeded', done.error ?? '')
  t.equal((await store.getCluster('campus')).appliedRevision, 2)
  t.ok(calls.some((c) => c[0] === 'useradd' && c.at(-1) === 'zoe'), 'the user is created')
  t.same(calls.filter((c) => c[0] === 'fake-reconfigure' || c[0] === 'fake-restart' || c[0] === 'mv' || (c[0] === 'scontrol' && c[1] !== 'ping')), [], 'no reconfigure, no install, no verify reads')
  t.match(done.steps.find((s) => s.name === 'install files')?.output, /skipped: the files on the controller equal the render/)
  t.notOk(done.steps.some((s) => s.name === 'verify' || s.name === 'reconfigure'), 'no reconfigure or verify step')
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), installed, 'the file keeps its stamp of revision 1')
  t.notOk(existsSync(join(dir, JOURNAL)), 'no journal left')
  const drift = await engine.drift('campus')
  t.same(drift.files.filter((f) => f.changed), [], 'no drift: the stamp alone is no change')

  // A real change of slurm.conf still installs and reconfigures.
  const changed = structuredClone(campus)
  const partition = changed.departments[0]?.partitions?.[0]
  if (partition) partition.maxTime = '03:00:00'
  await store.appendRevision('campus', { spec: withOneUser(changed, 'zoe', 200099), author: 't', message: 'max time' })
  calls.length = 0
  const next = await engine.wait((await engine.start('campus', undefined, 'test')).id)
  t.equal(next.status, 'succeeded', next.error ?? '')
  t.ok(calls.some((c) => c[0] === 'fake-reconfigure'), 'reconfigured')
  t.match(readFileSync(join(dir, 'slurm.conf'), 'utf8'), /revision 3\./)
})

t.test('with equal files, a capability step that fails is rolled back and Slurm is left alone', async (t) => {
  const { dir, store } = await fixture(t)
  const { profile, calls } = fakeController(dir)
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile })
  t.equal((await engine.wait((await engine.start('campus', undefined, 'test')).id)).status, 'succeeded')
  await store.appendRevision('campus', { spec: withOneUser(campus, 'zoe', 200099), author: 't', message: 'one user' })
  const events: string[] = []
  const engine2 = createApplyEngine({ store, log: quiet, profileFor: async () => profile, hooks: [recordingHook('login', events), recordingHook('policy', events, 'run')] })
  calls.length = 0
  const failed = await engine2.wait((await engine2.start('campus', undefined, 'test')).id)
  t.equal(failed.status, 'rolled-back', failed.error ?? '')
  t.same(events, ['login.run', 'policy.run', 'policy.rollback', 'login.rollback'])
  t.same(calls.filter((c) => c[0] === 'fake-reconfigure' || c[0] === 'fake-restart'), [], 'Slurm untouched')
  t.equal((await store.getCluster('campus')).appliedRevision, 1)
})

t.test('an apply that loses its lock after a capability step staged lets go of what it holds, and neither commits nor rolls back', async (t) => {
  const { dir, path, store } = await fixture(t)
  const thief = createSqliteStore(path)
  t.teardown(() => thief.close())
  const events: string[] = []
  const { profile } = fakeController(dir)
  const staging: ApplyHook = {
    ...recordingHook('login', events),
    async run() {
      events.push('login.run')
      // Another replica takes the cluster over while this step's connections are open.
      const db = new Database(path)
      db.exec("UPDATE apply_locks SET expires_at = '2000-01-01T00:00:00.000Z'")
      db.close()
      if (!(await thief.tryApplyLock('campus', 'thief'))) throw new Error('the expired lock was not taken over')
      return 'staged'
    },
    async release() {
      events.push('login.release')
    },
  }
  const engine = createApplyEngine({ store, log: quiet, profileFor: async () => profile, hooks: [staging, recordingHook('policy', events)] })
  const done = await engine.wait((await engine.start('campus', undefined, 'test')).id)
  t.equal(done.status, 'failed')
  t.match(done.error, /no longer held[\s\S]*left for the new holder/)
  t.same(events, ['login.run', 'login.release'], 'released, not committed, not rolled back; the next step never ran')
})

/**
 * Runs the shared store suite on SQLite (a file in a temp dir) and on PostgreSQL (a new
 * database per test on the server at TEST_DATABASE_URL, or on the one that
 * ops/postgres/start.sh starts), then the few tests that only make sense on one of them.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import pg from 'pg'
import { createPostgresStore, createSqliteStore, createStore, type Store } from '../../src/store/index.js'
import { setup, type FreshDatabase, type StoreHarness } from './harness.js'
import { storeSuite } from './store-suite.js'
import { dropDatabase } from '../support/postgres.js'
import { PostgresDb } from '../../src/store/postgres.js'

const startScript = new URL('../../ops/postgres/start.sh', import.meta.url).pathname

const sqlite: StoreHarness = {
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'steward-store-'))
    const path = join(dir, 'steward.db')
    return {
      async open() {
        const store = createSqliteStore(path)
        await store.migrate()
        return store
      },
      async exec(sql) {
        const db = new Database(path)
        try {
          db.exec(sql)
        } finally {
          db.close()
        }
      },
      async dispose() {
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
}

/** The server's URL: TEST_DATABASE_URL, or the one the start script prints. Fails (never skips) when there is none. */
async function postgresUrl(): Promise<string> {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL
  try {
    const { stdout } = await promisify(execFile)('bash', [startScript], { timeout: 10 * 60 * 1000 })
    const url = stdout.trim().split('\n').pop()
    if (!url?.startsWith('postgres://')) throw new Error(`it printed no URL: ${stdout}`)
    return url
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? ''
    throw new Error(`the store tests need PostgreSQL: ops/postgres/start.sh could not start it (run it as root once, or set TEST_DATABASE_URL).\n${stderr}`, { cause: err })
  }
}

/** A harness on a server; each fresh database is created under a random name and dropped after its test. */
function postgres(admin: () => pg.Pool, baseUrl: () => string): { fresh(): Promise<FreshDatabase & { url: string }> } {
  return {
    async fresh() {
      const name = `steward_t_${process.pid}_${randomBytes(4).toString('hex')}`
      await admin().query(`CREATE DATABASE ${name}`)
      const url = new URL(baseUrl())
      url.pathname = `/${name}`
      return {
        url: url.toString(),
        async open() {
          const store = createPostgresStore(url.toString())
          await store.migrate()
          return store
        },
        async exec(sql) {
          const client = new pg.Client({ connectionString: url.toString() })
          await client.connect()
          try {
            await client.query(sql)
          } finally {
            await client.end()
          }
        },
        async dispose() {
          await dropDatabase((sql) => admin().query(sql), name)
        },
      }
    },
  }
}

t.test('SQLite', async (t) => {
  storeSuite(t, sqlite)

  t.test('the database file is in WAL mode', async (t) => {
    const { exec } = await setup(t, sqlite)
    await t.resolves(exec('SELECT 1'))
    const dir = mkdtempSync(join(tmpdir(), 'steward-store-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const store = createSqliteStore(join(dir, 'steward.db'))
    await store.migrate()
    await store.close()
    const db = new Database(join(dir, 'steward.db'))
    t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    db.close()
  })

  t.test('an apply lock whose holder process is gone or whose lease ran out is taken over', async (t) => {
    const { store, exec } = await setup(t, sqlite)
    const soon = new Date(Date.now() + 60_000).toISOString()
    const past = new Date(Date.now() - 1000).toISOString()
    await exec(`INSERT INTO apply_locks (cluster, holder, token, pid, hostname, acquired_at, expires_at, boot_id) VALUES
      ('dead-pid', 'crashed', 'x', 999999999, '${hostname()}', '${past}', '${soon}', 'b1'),
      ('expired', 'elsewhere', 'y', 1, 'other-host', '${past}', '${past}', 'b2'),
      ('live', 'elsewhere', 'z', 1, 'other-host', '${past}', '${soon}', 'b3')`)
    t.ok(await store.tryApplyLock('dead-pid', 'me'), 'the holder process is gone')
    t.ok(await store.tryApplyLock('expired', 'me'), 'the lease ran out')
    t.equal(await store.tryApplyLock('live', 'me'), null, 'a live holder on another host keeps it')
  })

  t.test('a lock that was taken over is not freed by its first holder releasing late', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'steward-store-'))
    const hasty = createSqliteStore(join(dir, 'steward.db'), { lockLeaseMs: 1 })
    const patient = createSqliteStore(join(dir, 'steward.db'))
    t.teardown(async () => {
      await Promise.all([hasty.close(), patient.close()])
      rmSync(dir, { recursive: true, force: true })
    })
    await hasty.migrate()
    const first = await hasty.tryApplyLock('campus', 'first')
    await new Promise((resolve) => setTimeout(resolve, 10))
    const second = await patient.tryApplyLock('campus', 'second')
    t.match(second, { holder: 'second' }, 'the lease of the first ran out')
    await first?.release()
    t.equal(await patient.tryApplyLock('campus', 'third'), null, 'the second still holds it')
  })
})

t.test('PostgreSQL', async (t) => {
  let admin: pg.Pool | undefined
  let url = ''
  t.before(async () => {
    url = await postgresUrl()
    admin = new pg.Pool({ connectionString: url, max: 2 })
    try {
      await admin.query('SELECT 1')
    } catch (err) {
      throw new Error(`the store tests cannot reach PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}`, { cause: err })
    }
  })
  t.teardown(() => admin?.end())
  const harness = postgres(() => admin as pg.Pool, () => url)
  storeSuite(t, harness)

  t.test('an apply lock outlives the holder\'s database sessions: terminated backends neither free it nor fail its check', async (t) => {
    const { store, open, exec } = await setup(t, harness)
    const replica = await open()
    const lock = await store.tryApplyLock('campus', 'holder')
    if (!lock) throw new Error('no lock')
    t.equal(await replica.tryApplyLock('campus', 'waiting'), null)
    // What an idle timeout, a failover or a pooling proxy does to a held session.
    // Only our own client sessions: an autovacuum worker in the fresh database runs as the superuser.
    await exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND usename = current_user AND backend_type = 'client backend'")
    await new Promise((resolve) => setTimeout(resolve, 200))
    t.equal(await replica.tryApplyLock('campus', 'waiting'), null, 'the lock row still holds it')
    await t.resolves(lock.check(), 'the holder still holds it')
    await lock.release()
    t.ok(await replica.tryApplyLock('campus', 'waiting'), 'released, it can be taken')
  })

  t.test('a connection cut in the middle of a transaction fails that transaction, is reported and not reused; the process goes on', async (t) => {
    const fresh = await harness.fresh()
    t.teardown(() => fresh.dispose())
    const errors: Error[] = []
    const db = new PostgresDb(fresh.url, { onError: (err) => errors.push(err) })
    t.teardown(() => db.close())
    const cutter = new pg.Client({ connectionString: fresh.url })
    await cutter.connect()
    t.teardown(() => cutter.end())
    const cut = db.transaction(async (sql) => {
      const { rows } = await sql.query('SELECT pg_backend_pid() AS pid')
      await cutter.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid])
      // The cut arrives while no query of ours runs: the driver emits it as an event.
      await new Promise((resolve) => setTimeout(resolve, 300))
      await sql.query('SELECT 1')
    })
    await t.rejects(cut, { name: 'StoreError' }, 'the transaction fails')
    t.ok(errors.length > 0 && errors.every((e) => e.name === 'StoreError'), `told to onError (${errors.map((e) => e.message).join('; ')})`)
    t.same((await db.query('SELECT 1 AS one')).rows, [{ one: 1 }], 'the pool serves again')
    t.same((await db.transaction((sql) => sql.query('SELECT 2 AS two'))).rows, [{ two: 2 }], 'a new transaction gets a sound connection')
  })

  t.test('createStore uses PostgreSQL when a database URL is set', async (t) => {
    const db = await harness.fresh()
    t.teardown(() => db.dispose())
    const store = await createStore({ databaseUrl: db.url, dataDir: '/nonexistent' })
    t.equal(store.kind, 'postgres')
    t.equal((await store.createCluster('campus', '')).latestRevision, 0, 'the schema is migrated')
    await store.close()
  })
})

t.test('createStore opens a migrated SQLite file in the data directory without a database URL', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const local: Store = await createStore({ dataDir: join(dir, 'data') })
  t.teardown(() => local.close())
  t.equal(local.kind, 'sqlite')
  t.ok(existsSync(join(dir, 'data', 'steward.db')))
  t.equal((await local.createCluster('campus', '')).latestRevision, 0, 'the schema is migrated')
})

t.test('createStore fails with a StoreError when PostgreSQL cannot be reached', async (t) => {
  await t.rejects(createStore({ dataDir: '/nonexistent', databaseUrl: 'postgres://steward:steward@127.0.0.1:1/nothing' }), { name: 'StoreError' })
})

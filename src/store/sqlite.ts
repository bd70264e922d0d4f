/**
 * The SQLite store: one embedded file, WAL mode, for a single service replica (a CLI on
 * the same host may share the file). better-sqlite3 is synchronous; each call is wrapped
 * in a promise and all calls on one file in this process go through one queue, so an
 * async transaction never interleaves with another statement on the same connection,
 * and two connections to one file in one process never wait on each other's busy lock
 * (a busy wait here blocks the thread, so it would never end). Other processes are kept
 * apart by `BEGIN IMMEDIATE` and `busy_timeout`.
 */
import { realpathSync } from 'node:fs'
import Database from 'better-sqlite3'
import { StoreConflictError, StoreNotFoundError, type ApplyLock, type Store } from './types.js'
import { StoreError } from './errors.js'
import { MIGRATIONS, MIGRATIONS_TABLE, migrationSql } from './migrations.js'
import { now, type Db, type Param, type Row, type Sql } from './sql.js'
import { SqlStore } from './sql-store.js'
import { tryApplyLockRow, type LockOptions } from './apply-lock.js'

export interface SqliteOptions extends LockOptions {
  /** How long a statement waits for another process's write lock before failing; default 5 s. */
  busyTimeoutMs?: number
}

/** Runs tasks one after another, in the order they were queued. */
class Queue {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task)
    this.tail = result.catch(() => undefined)
    return result
  }
}

/** One queue per database file in this process, shared by every connection to it. */
const queues = new Map<string, Queue>()

function queueFor(path: string): Queue {
  if (path === ':memory:' || path === '') return new Queue()
  const key = realpathSync(path)
  const queue = queues.get(key) ?? new Queue()
  queues.set(key, queue)
  return queue
}

/** Turns a driver error into the store's errors: constraint violations into conflicts, the rest into `StoreError`. */
function storeError(err: unknown): Error {
  if (err instanceof StoreConflictError || err instanceof StoreNotFoundError || err instanceof StoreError) return err
  const code = (err as { code?: unknown }).code
  const message = err instanceof Error ? err.message : String(err)
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return new StoreConflictError(`already exists: ${message}`, { cause: err })
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return new StoreNotFoundError(`refers to a record that does not exist: ${message}`, { cause: err })
  return new StoreError(`SQLite failed: ${message}`, { cause: err })
}

class SqliteDb implements Db {
  readonly kind = 'sqlite'
  readonly forUpdate = ''
  readonly nowSql = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
  private readonly db: Database.Database
  private readonly queue: Queue
  private readonly statements = new Map<string, Database.Statement>()
  private readonly locks = new Set<ApplyLock>()

  constructor(path: string, private readonly options: SqliteOptions) {
    try {
      this.db = new Database(path)
      this.db.pragma('journal_mode = WAL')
      this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`)
      this.db.pragma('foreign_keys = ON')
      // NORMAL is durable across process crashes in WAL mode; only an OS crash may lose the last commits.
      this.db.pragma('synchronous = NORMAL')
      this.queue = queueFor(path)
    } catch (err) {
      throw new StoreError(`cannot open SQLite database ${path}`, { cause: err })
    }
  }

  /** Runs a statement now; only called from inside the queue. */
  private run(text: string, params: readonly Param[] = []): { rows: Row[]; changes: number } {
    try {
      let statement = this.statements.get(text)
      if (!statement) {
        statement = this.db.prepare(text)
        this.statements.set(text, statement)
      }
      if (statement.reader) {
        const rows = statement.all(...params) as Row[]
        return { rows, changes: rows.length }
      }
      return { rows: [], changes: statement.run(...params).changes }
    } catch (err) {
      throw storeError(err)
    }
  }

  private exec(text: string): void {
    try {
      this.db.exec(text)
    } catch (err) {
      throw storeError(err)
    }
  }

  query(text: string, params?: readonly Param[]): Promise<{ rows: Row[]; changes: number }> {
    return this.queue.run(() => this.run(text, params))
  }

  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      // IMMEDIATE takes the write lock up front: a reader that later writes could otherwise fail with BUSY.
      this.exec('BEGIN IMMEDIATE')
      try {
        const result = await fn({ query: async (text, params) => this.run(text, params) })
        this.exec('COMMIT')
        return result
      } catch (err) {
        try {
          if (this.db.inTransaction) this.db.exec('ROLLBACK')
        } catch {
          // A failed ROLLBACK must not hide the error that caused it; SQLite ends the transaction anyway.
        }
        throw storeError(err)
      }
    })
  }

  /** Nothing to do: `BEGIN IMMEDIATE` already makes write transactions one at a time. */
  async serialize(): Promise<void> {}

  decodeJson(value: unknown): unknown {
    return JSON.parse(String(value))
  }

  async migrate(): Promise<void> {
    await this.queue.run(() => {
      this.exec(migrationSql(MIGRATIONS_TABLE, 'sqlite'))
      for (const migration of MIGRATIONS) {
        // One transaction each, re-checked inside it, so two processes starting together apply it once.
        const apply = this.db.transaction(() => {
          if (this.run('SELECT id FROM schema_migrations WHERE id = ?', [migration.id]).rows.length > 0) return
          this.db.exec(migrationSql(migration.sql, 'sqlite'))
          this.run('INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)', [migration.id, migration.name, now()])
        })
        try {
          apply.immediate()
        } catch (err) {
          throw new StoreError(`migration ${migration.id} (${migration.name}) failed`, { cause: err })
        }
      }
    })
  }

  async tryApplyLock(cluster: string, holder: string): Promise<ApplyLock | null> {
    const lock = await tryApplyLockRow(this, cluster, holder, this.options)
    if (!lock) return null
    this.locks.add(lock)
    return { ...lock, check: () => lock.check(), release: async () => {
      this.locks.delete(lock)
      await lock.release()
    } }
  }

  async close(): Promise<void> {
    // A clean shutdown frees its locks at once instead of leaving them to the lease.
    await Promise.allSettled([...this.locks].map((lock) => lock.release()))
    this.locks.clear()
    await this.queue.run(() => {
      if (this.db.open) this.db.close()
    })
  }
}

/** A store on the SQLite file at `path` (created when missing); call `migrate()` before use. */
export function createSqliteStore(path: string, options: SqliteOptions = {}): Store {
  return new SqlStore(new SqliteDb(path, options))
}

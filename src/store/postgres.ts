/**
 * The PostgreSQL store, for several service replicas on one database. Serial points are
 * PostgreSQL locks, so they hold across replicas: row locks (`FOR UPDATE`) for revision
 * numbers and transaction advisory locks for uid allocation and migrations. The apply
 * lock is a lease row with a fencing token (apply-lock.ts), not a session advisory lock:
 * an idle timeout, a failover or a transaction-pooling proxy would free a session lock
 * silently, and a second replica could then undo the first one's file swap.
 *
 * Advisory locks use the two-key form with a namespace as first key, so the store's locks
 * never collide with each other or with other users of the database; the second key is
 * `hashtext(name)`, so two clusters whose names hash alike would share a lock (rare,
 * and only ever a refused apply, never two at once).
 */
import pg from 'pg'
import { StoreConflictError, StoreNotFoundError, type ApplyLock, type Store } from './types.js'
import { StoreError } from './errors.js'
import { MIGRATIONS, MIGRATIONS_TABLE, migrationSql } from './migrations.js'
import { now, type Db, type Param, type Row, type Sql } from './sql.js'
import { SqlStore } from './sql-store.js'
import { tryApplyLockRow, type LockOptions } from './apply-lock.js'

/** Advisory lock namespaces (the first key). */
const LOCK_MIGRATE = 1752_0001
const LOCK_SERIAL = 1752_0003

export interface PostgresOptions extends LockOptions {
  /** Pool size. Default 10. */
  poolSize?: number
  /** Told about errors of idle connections (the server restarted, a network cut) and failed lock renewals. */
  onError?: (err: Error) => void
}

/** Turns a driver error into the store's errors: unique violations into conflicts, the rest into `StoreError`. */
function storeError(err: unknown): Error {
  if (err instanceof StoreConflictError || err instanceof StoreNotFoundError || err instanceof StoreError) return err
  const code = (err as { code?: unknown }).code
  const message = err instanceof Error ? err.message : String(err)
  if (code === '23505') return new StoreConflictError(`already exists: ${message}`, { cause: err })
  if (code === '23503') return new StoreNotFoundError(`refers to a record that does not exist: ${message}`, { cause: err })
  return new StoreError(`PostgreSQL failed: ${message}`, { cause: err })
}

/** `?` placeholders to `$1, $2, ...` (the store's SQL has no `?` inside literals). */
const numbered = new Map<string, string>()
function toPg(text: string): string {
  let out = numbered.get(text)
  if (out === undefined) {
    let n = 0
    out = text.replace(/\?/g, () => `$${++n}`)
    numbered.set(text, out)
  }
  return out
}

async function run(client: pg.Pool | pg.PoolClient, text: string, params: readonly Param[] = []): Promise<{ rows: Row[]; changes: number }> {
  try {
    const result = await client.query(toPg(text), [...params])
    return { rows: result.rows as Row[], changes: result.rowCount ?? 0 }
  } catch (err) {
    throw storeError(err)
  }
}

/** The database under the PostgreSQL store (exported for the tests of its connection handling). */
export class PostgresDb implements Db {
  readonly kind = 'postgres'
  readonly forUpdate = ' FOR UPDATE'
  readonly nowSql = 'now()'
  private readonly pool: pg.Pool
  private readonly locks = new Set<ApplyLock>()
  private closed = false

  constructor(connectionString: string, private readonly options: PostgresOptions) {
    this.pool = new pg.Pool({ connectionString, max: options.poolSize ?? 10, application_name: 'hpc-steward' })
    // Without a listener, an idle connection's error would crash the process.
    this.pool.on('error', (err) => options.onError?.(storeError(err)))
  }

  /**
   * A connection of the pool for a transaction or the migration, and how to give it back.
   * The pool listens for errors of idle connections only: while checked out, a connection
   * cut between two queries (a terminated backend, a restart) would emit an error with no
   * listener and end the process. Here it is told to `onError`, the next query fails, and
   * the connection is destroyed when given back, not reused.
   */
  private async checkout(): Promise<{ client: pg.PoolClient; done(broken?: Error): void }> {
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (err) {
      throw storeError(err)
    }
    let lost: Error | undefined
    const onError = (err: Error) => {
      lost ??= err
      this.options.onError?.(storeError(err))
    }
    client.on('error', onError)
    return {
      client,
      done: (broken) => {
        client.off('error', onError)
        client.release(broken ?? lost)
      },
    }
  }

  query(text: string, params?: readonly Param[]): Promise<{ rows: Row[]; changes: number }> {
    return run(this.pool, text, params)
  }

  async transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    const { client, done } = await this.checkout()
    let broken: Error | undefined
    try {
      await run(client, 'BEGIN')
      const result = await fn({ query: (text, params) => run(client, text, params) })
      await run(client, 'COMMIT')
      return result
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr))
      })
      throw storeError(err)
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
      done(broken)
    }
  }

  async serialize(sql: Sql, key: string): Promise<void> {
    await sql.query(`SELECT pg_advisory_xact_lock(${LOCK_SERIAL}, hashtext(?))`, [key])
  }

  decodeJson(value: unknown): unknown {
    return value
  }

  async migrate(): Promise<void> {
    const { client, done } = await this.checkout()
    try {
      // Session lock: a second replica starting at the same time waits, then finds nothing to do.
      await run(client, `SELECT pg_advisory_lock(${LOCK_MIGRATE}, 0)`)
      try {
        await run(client, migrationSql(MIGRATIONS_TABLE, 'postgres'))
        const { rows } = await run(client, 'SELECT id FROM schema_migrations')
        const done = new Set(rows.map((row) => Number(row.id)))
        for (const migration of MIGRATIONS.filter((m) => !done.has(m.id))) {
          try {
            await run(client, 'BEGIN')
            await client.query(migrationSql(migration.sql, 'postgres'))
            await run(client, 'INSERT INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)', [migration.id, migration.name, now()])
            await run(client, 'COMMIT')
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined)
            throw new StoreError(`migration ${migration.id} (${migration.name}) failed`, { cause: err })
          }
        }
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${LOCK_MIGRATE}, 0)`).catch(() => undefined)
      }
    } finally {
      done()
    }
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
    if (this.closed) return
    this.closed = true
    await Promise.allSettled([...this.locks].map((lock) => lock.release()))
    await this.pool.end()
  }
}

/** A store on the PostgreSQL database at `connectionString`; call `migrate()` before use. */
export function createPostgresStore(connectionString: string, options: PostgresOptions = {}): Store {
  return new SqlStore(new PostgresDb(connectionString, options))
}

/**
 * The store the service uses: PostgreSQL when a database URL is configured (several
 * replicas share it), otherwise a SQLite file in the data directory (one replica, no
 * set-up). Either way the schema is migrated before the store is returned.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Store } from './types.js'
import { createPostgresStore } from './postgres.js'
import { createSqliteStore } from './sqlite.js'

export * from './types.js'
export { StoreCursorError, StoreError } from './errors.js'
export { createPostgresStore, type PostgresOptions } from './postgres.js'
export { createSqliteStore, type SqliteOptions } from './sqlite.js'
export { MAX_UID, RESERVED_UIDS } from './uids.js'

export interface StoreOptions {
  /** `postgres://...`; when set, PostgreSQL is used. */
  databaseUrl?: string | undefined
  /** Where the SQLite file `steward.db` lives (created when missing). */
  dataDir: string
  /** Told about background failures (lost connections, apply locks that could not be renewed). */
  onError?: (err: Error) => void
}

/** Opens the configured store and runs its pending migrations. */
export async function createStore(options: StoreOptions): Promise<Store> {
  let store: Store
  if (options.databaseUrl) {
    store = createPostgresStore(options.databaseUrl, { onError: options.onError })
  } else {
    await mkdir(options.dataDir, { recursive: true })
    store = createSqliteStore(join(options.dataDir, 'steward.db'), { onError: options.onError })
  }
  try {
    await store.migrate()
  } catch (err) {
    await store.close().catch(() => undefined)
    throw err
  }
  return store
}

/**
 * The apply lock on SQLite: a row per cluster in `apply_locks`, written in an immediate
 * transaction, with the holder's host and process id and a lease that the holder renews.
 * Another caller may take the lock over when the lease has run out (the holder hung or
 * died on another host) or, at once, when the holder's process on this host is gone
 * (the service crashed and restarted). A reused pid only delays the takeover until the
 * lease ends. Each lock has a random token, so a late release never frees a lock that
 * was taken over.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { ApplyLock } from './types.js'
import { StoreError } from './errors.js'
import type { Db, Row } from './sql.js'

export interface LockOptions {
  /** How long a lock holds without renewal; default 30 minutes. Renewed every third of it. */
  lockLeaseMs?: number
  /** Told about failures in the background (a renewal that failed or found the lock lost). */
  onError?: (err: Error) => void
}

const DEFAULT_LEASE_MS = 30 * 60 * 1000

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

function stale(row: Row, at: Date): boolean {
  if (String(row.expires_at) < at.toISOString()) return true
  return String(row.hostname) === hostname() && processGone(Number(row.pid))
}

/** Takes the cluster's lock row, or returns null when a live holder has it. */
export async function trySqliteApplyLock(db: Pick<Db, 'transaction' | 'query'>, cluster: string, holder: string, options: LockOptions): Promise<ApplyLock | null> {
  const leaseMs = options.lockLeaseMs ?? DEFAULT_LEASE_MS
  const token = randomBytes(8).toString('hex')
  const taken = await db.transaction(async (sql) => {
    const at = new Date()
    const { rows } = await sql.query('SELECT pid, hostname, expires_at FROM apply_locks WHERE cluster = ?', [cluster])
    if (rows[0] && !stale(rows[0], at)) return false
    await sql.query(
      `INSERT INTO apply_locks (cluster, holder, token, pid, hostname, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cluster) DO UPDATE SET holder = excluded.holder, token = excluded.token, pid = excluded.pid,
         hostname = excluded.hostname, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
      [cluster, holder, token, process.pid, hostname(), at.toISOString(), new Date(at.getTime() + leaseMs).toISOString()],
    )
    return true
  })
  if (!taken) return null

  const renew = async () => {
    const { changes } = await db.query('UPDATE apply_locks SET expires_at = ? WHERE cluster = ? AND token = ?', [
      new Date(Date.now() + leaseMs).toISOString(), cluster, token,
    ])
    if (changes === 0) throw new StoreError(`the apply lock of ${cluster} was taken over after its lease ran out`)
  }
  const timer = setInterval(() => {
    renew().catch((err: unknown) => options.onError?.(err instanceof Error ? err : new Error(String(err))))
  }, Math.max(1000, Math.floor(leaseMs / 3)))
  // A held lock must not keep the process alive on its own.
  timer.unref()

  let released = false
  return {
    cluster,
    holder,
    async release() {
      if (released) return
      released = true
      clearInterval(timer)
      await db.query('DELETE FROM apply_locks WHERE cluster = ? AND token = ?', [cluster, token])
    },
  }
}

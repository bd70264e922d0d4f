/**
 * The apply lock, one implementation for both databases: a row per cluster in
 * `apply_locks` with a lease that the holder renews and a fencing token that changes at
 * every acquisition. Before each step that changes a controller the engine calls
 * `check()`: the hold counts only while the row still carries its token and the lease
 * (measured by the database's clock) has not run out, so a holder that lost its lock
 * (a renewal failed, the lease ran out, another replica took it over) stops before it
 * touches the controller again. Nothing depends on a database session staying open, so
 * an idle timeout, a failover or a transaction-pooling proxy cannot free it silently.
 *
 * Another caller may take the lock over when the lease has run out (the holder hung or
 * died on another host) or at once when the holder is provably dead on this host: its
 * process is gone, or it had this very pid but another boot id (a random id drawn at
 * every process start), as when a container is restarted in place and the service gets
 * the same pid again; or it is this process and the hold was released (a release whose
 * DELETE failed leaves a row no one holds). A pid reused by an unrelated process only
 * delays the takeover until the lease ends.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { ApplyLockLostError, type ApplyLock } from './types.js'
import { timeOf, type Db, type Row } from './sql.js'

export interface LockOptions {
  /** How long a lock holds without renewal; default 2 minutes. Renewed every third of it. */
  lockLeaseMs?: number
  /** Told about failures in the background (a renewal that failed or found the lock lost). */
  onError?: (err: Error) => void
}

const DEFAULT_LEASE_MS = 2 * 60 * 1000

/** This process's boot id: random at every start, so a restarted process never passes for its previous life. */
export const BOOT_ID = randomBytes(8).toString('hex')

/** Tokens this process holds now: a row of this process with another token is one whose release failed. */
const heldHere = new Set<string>()

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return false
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

const ms = (value: unknown): number => Date.parse(timeOf(value))

/** Whether a lock row may be taken over at database time `at` (ms). */
function stale(row: Row, at: number): boolean {
  if (ms(row.expires_at) <= at) return true
  if (String(row.hostname) !== hostname()) return false
  const pid = Number(row.pid)
  if (pid === process.pid) return String(row.boot_id) !== BOOT_ID || !heldHere.has(String(row.token))
  return processGone(pid)
}

/** The database's current time in ms (one clock for every replica). */
async function dbNow(sql: Pick<Db, 'query'>, db: Pick<Db, 'nowSql'>): Promise<number> {
  const { rows } = await sql.query(`SELECT ${db.nowSql} AS at`)
  return ms(rows[0]?.at)
}

/** Takes the cluster's lock row, or returns null when a live holder has it. */
export async function tryApplyLockRow(db: Pick<Db, 'transaction' | 'query' | 'serialize' | 'nowSql'>, cluster: string, holder: string, options: LockOptions): Promise<ApplyLock | null> {
  const leaseMs = options.lockLeaseMs ?? DEFAULT_LEASE_MS
  const token = randomBytes(12).toString('hex')
  const taken = await db.transaction(async (sql) => {
    // Two replicas inserting the first row at once must not both win.
    await db.serialize(sql, `apply-lock:${cluster}`)
    const at = await dbNow(sql, db)
    const { rows } = await sql.query('SELECT token, pid, hostname, boot_id, expires_at FROM apply_locks WHERE cluster = ?', [cluster])
    if (rows[0] && !stale(rows[0], at)) return false
    await sql.query(
      `INSERT INTO apply_locks (cluster, holder, token, pid, hostname, boot_id, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (cluster) DO UPDATE SET holder = excluded.holder, token = excluded.token, pid = excluded.pid,
         hostname = excluded.hostname, boot_id = excluded.boot_id, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
      [cluster, holder, token, process.pid, hostname(), BOOT_ID, new Date(at).toISOString(), new Date(at + leaseMs).toISOString()],
    )
    return true
  })
  if (!taken) return null
  heldHere.add(token)

  let lost: ApplyLockLostError | undefined
  const lose = (why: string): ApplyLockLostError => {
    lost ??= new ApplyLockLostError(`the apply lock of ${cluster} is no longer held by ${holder}: ${why}`)
    return lost
  }
  const renew = async () => {
    if (lost) throw lost
    const changes = await db.transaction(async (sql) => {
      const at = await dbNow(sql, db)
      const res = await sql.query('UPDATE apply_locks SET expires_at = ? WHERE cluster = ? AND token = ? AND expires_at > ?', [
        new Date(at + leaseMs).toISOString(), cluster, token, new Date(at).toISOString(),
      ])
      return res.changes
    })
    if (changes === 0) throw lose('its lease ran out or it was taken over')
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
    token,
    async check() {
      if (released) throw lose('it was released')
      if (lost) throw lost
      const { rows } = await db.query(`SELECT token, expires_at, ${db.nowSql} AS at FROM apply_locks WHERE cluster = ?`, [cluster])
      const row = rows[0]
      if (!row || String(row.token) !== token) throw lose('another holder took it over')
      if (ms(row.expires_at) <= ms(row.at)) throw lose('its lease ran out')
    },
    async release() {
      if (released) return
      released = true
      clearInterval(timer)
      // Even if the DELETE below fails, this process no longer holds it: the row is stale now.
      heldHere.delete(token)
      await db.query('DELETE FROM apply_locks WHERE cluster = ? AND token = ?', [cluster, token])
    },
  }
}

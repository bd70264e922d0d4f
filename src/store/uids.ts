/**
 * POSIX uid allocations. A uid once recorded is never given to anyone else: rows are
 * never deleted (a trigger refuses it), so a departed user's files can never be read by
 * a newcomer who inherited the number.
 */
import { StoreConflictError, type Page, type PageRequest, type UidPlan } from './types.js'
import { decodeCursor, now, pageLimit, timeOf, toPage, type Db, type Row, type Sql } from './sql.js'

/**
 * Uids allocation skips: systemd's dynamic users (61184-65519), `nobody` (65534) and
 * 65535, which is -1 to 16-bit tools.
 */
export const RESERVED_UIDS: ReadonlyArray<readonly [first: number, last: number]> = [
  [61184, 65519],
  [65534, 65535],
]

/** The largest uid: 2^32 - 1 means "no uid" to the kernel. */
export const MAX_UID = 4294967294

/** Writers of allocations wait for each other, so two never pick the same smallest free uid. */
const SERIAL_KEY = 'uid_allocations'

function firstUnreserved(uid: number): number {
  let next = uid
  for (const [first, last] of RESERVED_UIDS) if (next >= first && next <= last) next = last + 1
  return next
}

function checkUid(uid: number, what: string): void {
  if (!Number.isInteger(uid) || uid < 0 || uid > MAX_UID) throw new RangeError(`${what} must be an integer from 0 to ${MAX_UID}, not ${uid}`)
}

async function uidOfUser(sql: Sql, user: string): Promise<number | undefined> {
  const { rows } = await sql.query('SELECT uid FROM uid_allocations WHERE user_name = ?', [user])
  return rows[0] ? Number(rows[0].uid) : undefined
}

/** The smallest uid at or above `start` that is neither taken nor reserved. */
async function smallestFree(sql: Sql, start: number): Promise<number> {
  let candidate = firstUnreserved(start)
  for (;;) {
    if (candidate > MAX_UID) throw new StoreConflictError(`no free uid at or above ${start}`)
    const { rows } = await sql.query('SELECT uid FROM uid_allocations WHERE uid = ?', [candidate])
    if (!rows[0]) return candidate
    // Jump past the run of taken uids that starts at the candidate, in one index scan.
    const { rows: gap } = await sql.query(
      `SELECT uid + 1 AS next FROM uid_allocations a WHERE uid >= ?
       AND NOT EXISTS (SELECT 1 FROM uid_allocations b WHERE b.uid = a.uid + 1) ORDER BY uid LIMIT 1`,
      [candidate],
    )
    candidate = firstUnreserved(Number(gap[0]?.next))
  }
}

/**
 * Allocates a uid for `user` (or returns the one it has). `hints` remembers, per `from`,
 * a uid below which everything is taken: true forever, since uids are never freed, so
 * bulk allocation does not rescan the taken range each time (even with other replicas).
 */
export async function allocateUid(db: Db, hints: Map<number, number>, user: string, from: number): Promise<number> {
  checkUid(from, 'from')
  const { uid, fresh } = await db.transaction(async (sql) => {
    await db.serialize(sql, SERIAL_KEY)
    const existing = await uidOfUser(sql, user)
    if (existing !== undefined) return { uid: existing, fresh: false }
    const free = await smallestFree(sql, Math.max(from, hints.get(from) ?? from))
    await sql.query('INSERT INTO uid_allocations (uid, user_name, allocated_at) VALUES (?, ?, ?)', [free, user, now()])
    return { uid: free, fresh: true }
  })
  // Only once committed: a rolled-back allocation leaves its uid free.
  if (fresh) hints.set(from, uid + 1)
  return uid
}

/** Records a uid chosen elsewhere; conflict when it is another user's or the user has another. */
export async function reserveUid(db: Db, user: string, uid: number): Promise<void> {
  checkUid(uid, 'uid')
  await db.transaction(async (sql) => {
    await db.serialize(sql, SERIAL_KEY)
    await reserveIn(sql, user, uid)
  })
}

async function reserveIn(sql: Sql, user: string, uid: number): Promise<void> {
  const { rows } = await sql.query('SELECT user_name FROM uid_allocations WHERE uid = ?', [uid])
  const owner = rows[0]?.user_name
  if (owner === user) return
  if (owner !== undefined) throw new StoreConflictError(`uid ${uid} belongs to ${String(owner)}`)
  const existing = await uidOfUser(sql, user)
  if (existing !== undefined) throw new StoreConflictError(`user ${user} already has uid ${existing}, not ${uid}`)
  await sql.query('INSERT INTO uid_allocations (uid, user_name, allocated_at) VALUES (?, ?, ?)', [uid, user, now()])
}

/**
 * Records a revision's uids inside the caller's transaction (the one that stores the
 * revision, so both or neither happen): reserves the uids the spec chose and allocates
 * one for each user of `plan.allocate` (their old one if they had one), avoiding
 * `plan.allocate.avoid`. Returns the allocated uids by user.
 */
export async function recordUids(db: Db, sql: Sql, plan: UidPlan): Promise<Map<string, number>> {
  const allocated = new Map<string, number>()
  if (plan.reserve.length === 0 && plan.allocate.users.length === 0) return allocated
  await db.serialize(sql, SERIAL_KEY)
  for (const { user, uid } of plan.reserve) {
    checkUid(uid, 'uid')
    await reserveIn(sql, user, uid)
  }
  const { from, avoid } = plan.allocate
  checkUid(from, 'from')
  for (const user of plan.allocate.users) {
    let uid = await uidOfUser(sql, user)
    if (uid === undefined) {
      uid = await smallestFree(sql, from)
      while (avoid.has(uid)) uid = await smallestFree(sql, uid + 1)
      await sql.query('INSERT INTO uid_allocations (uid, user_name, allocated_at) VALUES (?, ?, ?)', [uid, user, now()])
    }
    allocated.set(user, uid)
  }
  return allocated
}

function toAllocation(row: Row): { user: string; uid: number; allocatedAt: string } {
  return { user: String(row.user_name), uid: Number(row.uid), allocatedAt: timeOf(row.allocated_at) }
}

/** Allocations by uid. */
export async function listUidAllocations(db: Db, page: PageRequest): Promise<Page<{ user: string; uid: number; allocatedAt: string }>> {
  const limit = pageLimit(page.limit)
  const after = decodeCursor('uids', page.cursor, 'number')
  const { rows } = await db.query(
    `SELECT uid, user_name, allocated_at FROM uid_allocations ${after === undefined ? '' : 'WHERE uid > ? '}ORDER BY uid LIMIT ?`,
    after === undefined ? [limit + 1] : [after, limit + 1],
  )
  return toPage(rows, limit, toAllocation, 'uids', (a) => a.uid)
}

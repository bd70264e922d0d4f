/**
 * The small database interface both implementations share. The records, queries and
 * rules live once (clusters.ts, applies.ts, ...) over this interface; the SQLite and
 * PostgreSQL files only supply a connection, transactions, locks and migrations. So the
 * two behave the same by construction, and the shared test suite checks that they do.
 *
 * SQL is written with `?` placeholders and portable syntax (`ON CONFLICT`, `RETURNING`,
 * `LIMIT ?`); the PostgreSQL side numbers the placeholders.
 */
import { randomBytes } from 'node:crypto'
import type { ApplyLock, Page } from './types.js'
import { StoreCursorError } from './errors.js'

/** A value bound to a placeholder. */
export type Param = string | number | null

/** One result row, by column name. */
export type Row = Record<string, unknown>

/** Runs statements: on its own (autocommit) or inside a transaction. */
export interface Sql {
  /** Runs one statement; `rows` has what it returns (`RETURNING` included), `changes` the rows it wrote. */
  query(text: string, params?: readonly Param[]): Promise<{ rows: Row[]; changes: number }>
}

/** A connected database of one dialect. */
export interface Db extends Sql {
  readonly kind: 'sqlite' | 'postgres'
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>
  /** Appended to a SELECT to lock its rows until commit; empty where transactions are already serial. */
  readonly forUpdate: string
  /** Makes writers that pass the same key wait for each other until commit, across replicas. */
  serialize(sql: Sql, key: string): Promise<void>
  /** SQL for the database's current time (ISO text on SQLite, timestamptz on PostgreSQL): the one clock of leases. */
  readonly nowSql: string
  /** Turns a JSON column's value back into data (TEXT on SQLite, already parsed JSONB on PostgreSQL). */
  decodeJson(value: unknown): unknown
  migrate(): Promise<void>
  tryApplyLock(cluster: string, holder: string): Promise<ApplyLock | null>
  close(): Promise<void>
}

/** The current time as the store writes it: ISO-8601 in UTC with milliseconds. */
export function now(): string {
  return new Date().toISOString()
}

/**
 * A time given by a caller in the one format the store keeps, so that both dialects
 * compare and return the same text. Throws `RangeError` on text that is not a time.
 */
export function isoTime(value: string, what: string): string {
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) throw new RangeError(`${what} is not a time: ${value}`)
  return date.toISOString()
}

/** A time column's value as ISO text (PostgreSQL gives a `Date`, SQLite the stored text). */
export function timeOf(value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value)
}

/** Like `timeOf`, keeping NULL. */
export function timeOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : timeOf(value)
}

/** A random id such as `tok_3f9c0a12b7e4`: unguessable, so ids reveal nothing about counts. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`
}

/** Checks a page size; the caller caps it, the store only refuses nonsense. */
export function pageLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`page limit must be a positive integer, not ${limit}`)
  return limit
}

/** An opaque cursor: the list it belongs to and the sort key of the last item given. */
export function encodeCursor(list: string, key: string | number): string {
  return Buffer.from(JSON.stringify([list, key])).toString('base64url')
}

/** The sort key in a cursor of `list`, or undefined without a cursor; `StoreCursorError` when it is not one. */
export function decodeCursor<K extends 'string' | 'number'>(list: string, cursor: string | undefined, type: K): (K extends 'string' ? string : number) | undefined {
  if (cursor === undefined || cursor === '') return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch (err) {
    throw new StoreCursorError('the page cursor is not valid', { cause: err })
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[0] !== list || typeof parsed[1] !== type) {
    throw new StoreCursorError(`the page cursor is not one of the ${list} list`)
  }
  return parsed[1] as K extends 'string' ? string : number
}

/**
 * Builds a page from rows fetched with `LIMIT limit + 1`: the extra row only tells that
 * there is more, so `nextCursor` is null exactly at the end.
 */
export function toPage<T>(rows: Row[], limit: number, map: (row: Row) => T, list: string, key: (item: T) => string | number): Page<T> {
  const items = rows.slice(0, limit).map(map)
  const last = items[items.length - 1]
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(list, key(last)) : null }
}

/** Serialises data for a JSON column; `undefined` is kept as JSON null. */
export function jsonParam(value: unknown): string {
  return JSON.stringify(value ?? null)
}

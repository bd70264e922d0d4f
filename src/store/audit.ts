/**
 * The audit log: rows are appended and read, never changed. There is no update or
 * delete here, and a trigger in the database refuses them from anywhere else.
 */
import type { AuditFilter, AuditRecord, Page, PageRequest } from './types.js'
import { decodeCursor, isoTime, jsonParam, now, pageLimit, timeOf, toPage, type Db, type Param, type Row } from './sql.js'

const AUDIT = 'id, at, actor, action, resource, cluster, change, source'

function toAudit(db: Db, row: Row): AuditRecord {
  return {
    id: Number(row.id),
    at: timeOf(row.at),
    actor: String(row.actor),
    action: String(row.action),
    resource: String(row.resource),
    cluster: row.cluster === null ? null : String(row.cluster),
    change: db.decodeJson(row.change),
    source: String(row.source),
  }
}

/** Appends an audit row; `at` defaults to now. An undefined `change` is kept as null. */
export async function appendAudit(db: Db, input: Omit<AuditRecord, 'id' | 'at'> & { at?: string }): Promise<AuditRecord> {
  const at = input.at === undefined ? now() : isoTime(input.at, 'at')
  const { rows } = await db.query(
    `INSERT INTO audit_log (at, actor, action, resource, cluster, change, source) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING ${AUDIT}`,
    [at, input.actor, input.action, input.resource, input.cluster, jsonParam(input.change), input.source],
  )
  return toAudit(db, rows[0] ?? {})
}

/**
 * The WHERE clause of a filter. `resource` matches that resource and everything under
 * it (`.../departments/nlp` matches `.../departments/nlp/users/ana`, not `.../nlp-vision`);
 * `since` is inclusive and `until` exclusive, so consecutive windows never share a row.
 */
function whereOf(filter: AuditFilter, before: number | undefined): { where: string; params: Param[] } {
  const parts: string[] = []
  const params: Param[] = []
  const add = (sql: string, ...values: Param[]) => {
    parts.push(sql)
    params.push(...values)
  }
  if (filter.cluster !== undefined) add('cluster = ?', filter.cluster)
  if (filter.actor !== undefined) add('actor = ?', filter.actor)
  if (filter.action !== undefined) add('action = ?', filter.action)
  const prefix = trimTrailingSlashes(filter.resource)
  if (prefix) {
    // substr counts characters in both dialects; LIKE would need escaping and differs in case rules.
    const under = `${prefix}/`
    add('(resource = ? OR substr(resource, 1, ?) = ?)', prefix, [...under].length, under)
  }
  if (filter.since !== undefined) add('at >= ?', isoTime(filter.since, 'since'))
  if (filter.until !== undefined) add('at < ?', isoTime(filter.until, 'until'))
  if (before !== undefined) add('id < ?', before)
  return { where: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')} `, params }
}

/** Audit rows matching the filter, newest first. */
export async function listAudit(db: Db, filter: AuditFilter, page: PageRequest): Promise<Page<AuditRecord>> {
  const limit = pageLimit(page.limit)
  const { where, params } = whereOf(filter, decodeCursor('audit', page.cursor, 'number'))
  const { rows } = await db.query(`SELECT ${AUDIT} FROM audit_log ${where}ORDER BY id DESC LIMIT ?`, [...params, limit + 1])
  return toPage(rows, limit, (row) => toAudit(db, row), 'audit', (a) => a.id)
}

/** `text` without its trailing `/`s (a loop: `/\/+$/` rescans a run of slashes from each one). */
function trimTrailingSlashes(text: string | undefined): string | undefined {
  if (text === undefined) return undefined
  let end = text.length
  while (end > 0 && text[end - 1] === '/') end -= 1
  return text.slice(0, end)
}

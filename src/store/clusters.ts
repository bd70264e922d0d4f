/**
 * Clusters and their spec revisions. A revision's number is taken from the cluster row,
 * read with a row lock in the same transaction that writes the revision, so two writers
 * never take the same number; the (cluster, number) key is the backstop.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { specHash } from '../spec/load.js'
import { StoreConflictError, StoreNotFoundError, noSuchCluster, type ClusterRecord, type Page, type PageRequest, type RevisionInput, type RevisionRecord } from './types.js'
import { decodeCursor, jsonParam, now, pageLimit, timeOf, toPage, type Db, type Row, type Sql } from './sql.js'
import { recordUids } from './uids.js'

const CLUSTER = 'name, description, created_at, latest_revision, applied_revision'
const REVISION = 'cluster, number, spec_hash, author, message, created_at'

function toCluster(row: Row): ClusterRecord {
  return {
    name: String(row.name),
    description: String(row.description),
    createdAt: timeOf(row.created_at),
    latestRevision: Number(row.latest_revision),
    appliedRevision: row.applied_revision === null ? null : Number(row.applied_revision),
  }
}

function toRevisionSummary(row: Row): Omit<RevisionRecord, 'spec'> {
  return {
    cluster: String(row.cluster),
    number: Number(row.number),
    specHash: String(row.spec_hash),
    author: String(row.author),
    message: String(row.message),
    createdAt: timeOf(row.created_at),
  }
}

/** Creates a cluster; `StoreConflictError` when the name is taken. */
export async function createCluster(db: Db, name: string, description: string): Promise<ClusterRecord> {
  const { rows } = await db.query(
    `INSERT INTO clusters (name, description, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING ${CLUSTER}`,
    [name, description, now()],
  )
  const row = rows[0]
  if (!row) throw new StoreConflictError(`cluster ${name} already exists`)
  return toCluster(row)
}

/** Reads a cluster (locking its row when `lock` is given); `StoreNotFoundError` when absent. */
async function readCluster(sql: Sql, name: string, lock = ''): Promise<ClusterRecord> {
  const { rows } = await sql.query(`SELECT ${CLUSTER} FROM clusters WHERE name = ?${lock}`, [name])
  const row = rows[0]
  if (!row) throw new StoreNotFoundError(noSuchCluster(name))
  return toCluster(row)
}

export async function getCluster(db: Db, name: string): Promise<ClusterRecord> {
  return readCluster(db, name)
}

/** Clusters by name; with `only`, just those named there. */
export async function listClusters(db: Db, page: PageRequest, only?: readonly string[]): Promise<Page<ClusterRecord>> {
  const limit = pageLimit(page.limit)
  const after = decodeCursor('clusters', page.cursor, 'string')
  if (only?.length === 0) return { items: [], nextCursor: null }
  const where = [
    ...(after === undefined ? [] : ['name > ?']),
    ...(only === undefined ? [] : [`name IN (${only.map(() => '?').join(', ')})`]),
  ]
  const { rows } = await db.query(
    `SELECT ${CLUSTER} FROM clusters ${where.length ? `WHERE ${where.join(' AND ')} ` : ''}ORDER BY name LIMIT ?`,
    [...(after === undefined ? [] : [after]), ...(only ?? []), limit + 1],
  )
  return toPage(rows, limit, toCluster, 'clusters', (c) => c.name)
}

/**
 * Appends the next revision of a cluster, checking `expectedLatest` when given, and
 * records its uids (`input.uids`) in the same transaction: a refused revision reserves
 * and allocates nothing.
 */
export async function appendRevision(db: Db, cluster: string, input: RevisionInput): Promise<RevisionRecord> {
  return db.transaction(async (sql) => {
    const { latestRevision } = await readCluster(sql, cluster, db.forUpdate)
    if (input.expectedLatest !== undefined && input.expectedLatest !== latestRevision) {
      throw new StoreConflictError(`cluster ${cluster} is at revision ${latestRevision}, not ${input.expectedLatest}`)
    }
    const allocated = input.uids ? await recordUids(db, sql, input.uids) : new Map<string, number>()
    const spec: ClusterSpec = typeof input.spec === 'function' ? input.spec(allocated) : input.spec
    const record: RevisionRecord = {
      cluster,
      number: latestRevision + 1,
      spec,
      specHash: specHash(spec),
      author: input.author,
      message: input.message,
      createdAt: now(),
    }
    await sql.query(
      'INSERT INTO revisions (cluster, number, spec, spec_hash, author, message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [cluster, record.number, jsonParam(record.spec), record.specHash, record.author, record.message, record.createdAt],
    )
    await sql.query('UPDATE clusters SET latest_revision = ? WHERE name = ?', [record.number, cluster])
    return record
  })
}

export async function getRevision(db: Db, cluster: string, number: number): Promise<RevisionRecord> {
  const { rows } = await db.query(`SELECT ${REVISION}, spec FROM revisions WHERE cluster = ? AND number = ?`, [cluster, number])
  const row = rows[0]
  if (!row) {
    await readCluster(db, cluster)
    throw new StoreNotFoundError(`cluster ${cluster} has no revision ${number}`)
  }
  return { ...toRevisionSummary(row), spec: db.decodeJson(row.spec) as ClusterSpec }
}

/** A cluster's revisions, newest first, without their specs. */
export async function listRevisions(db: Db, cluster: string, page: PageRequest): Promise<Page<Omit<RevisionRecord, 'spec'>>> {
  const limit = pageLimit(page.limit)
  const before = decodeCursor('revisions', page.cursor, 'number')
  await readCluster(db, cluster)
  const { rows } = await db.query(
    `SELECT ${REVISION} FROM revisions WHERE cluster = ?${before === undefined ? '' : ' AND number < ?'} ORDER BY number DESC LIMIT ?`,
    before === undefined ? [cluster, limit + 1] : [cluster, before, limit + 1],
  )
  return toPage(rows, limit, toRevisionSummary, 'revisions', (r) => r.number)
}

/** Records the revision last applied successfully. */
export async function setAppliedRevision(db: Db, cluster: string, number: number): Promise<void> {
  await db.transaction(async (sql) => {
    await readCluster(sql, cluster, db.forUpdate)
    const { rows } = await sql.query('SELECT number FROM revisions WHERE cluster = ? AND number = ?', [cluster, number])
    if (!rows[0]) throw new StoreNotFoundError(`cluster ${cluster} has no revision ${number}`)
    await sql.query('UPDATE clusters SET applied_revision = ? WHERE name = ?', [number, cluster])
  })
}

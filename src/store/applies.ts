/**
 * Apply runs and their step logs. Runs are ordered by an internal sequence (`seq`), so
 * "newest first" is stable even when two runs start within the same millisecond.
 */
import { StoreNotFoundError, type ApplyRecord, type ApplyStatus, type ApplyStepRecord, type Page, type PageRequest } from './types.js'
import { decodeCursor, isoTime, newId, now, pageLimit, timeOf, timeOrNull, toPage, type Db, type Param, type Row, type Sql } from './sql.js'

type ApplySummary = Omit<ApplyRecord, 'steps'> & { seq: number }

const APPLY = 'seq, id, cluster, revision, status, started_by, created_at, finished_at, error'
const STEP = 'apply_id, seq, name, status, detail, output, started_at, finished_at'

function toApply(row: Row): ApplySummary {
  return {
    seq: Number(row.seq),
    id: String(row.id),
    cluster: String(row.cluster),
    revision: Number(row.revision),
    status: String(row.status) as ApplyStatus,
    startedBy: String(row.started_by),
    createdAt: timeOf(row.created_at),
    finishedAt: timeOrNull(row.finished_at),
    error: row.error === null ? null : String(row.error),
  }
}

function toStep(row: Row): ApplyStepRecord {
  return {
    seq: Number(row.seq),
    name: String(row.name),
    status: String(row.status) as ApplyStepRecord['status'],
    detail: String(row.detail),
    output: String(row.output),
    startedAt: timeOf(row.started_at),
    finishedAt: timeOrNull(row.finished_at),
  }
}

function withoutSeq({ seq: _seq, ...apply }: ApplySummary): Omit<ApplyRecord, 'steps'> {
  return apply
}

/** Runs with their steps, keeping the order of `runs`. */
async function withSteps(sql: Sql, runs: ApplySummary[], where: string, params: Param[]): Promise<ApplyRecord[]> {
  if (runs.length === 0) return []
  const { rows } = await sql.query(`SELECT ${STEP} FROM apply_steps WHERE apply_id IN (SELECT id FROM applies WHERE ${where}) ORDER BY apply_id, seq`, params)
  const steps = new Map<string, ApplyStepRecord[]>()
  for (const row of rows) {
    const id = String(row.apply_id)
    steps.set(id, [...(steps.get(id) ?? []), toStep(row)])
  }
  return runs.map((run) => ({ ...withoutSeq(run), steps: steps.get(run.id) ?? [] }))
}

/** Creates a `queued` run of a stored revision. */
export async function createApply(db: Db, input: { cluster: string; revision: number; startedBy: string }): Promise<ApplyRecord> {
  return db.transaction(async (sql) => {
    const { rows: clusters } = await sql.query('SELECT name FROM clusters WHERE name = ?', [input.cluster])
    if (!clusters[0]) throw new StoreNotFoundError(`cluster ${input.cluster} does not exist`)
    const { rows: revisions } = await sql.query('SELECT number FROM revisions WHERE cluster = ? AND number = ?', [input.cluster, input.revision])
    if (!revisions[0]) throw new StoreNotFoundError(`cluster ${input.cluster} has no revision ${input.revision}`)
    const { rows } = await sql.query(
      `INSERT INTO applies (id, cluster, revision, status, started_by, created_at) VALUES (?, ?, ?, 'queued', ?, ?) RETURNING ${APPLY}`,
      [newId('apl'), input.cluster, input.revision, input.startedBy, now()],
    )
    return { ...withoutSeq(toApply(rows[0] ?? {})), steps: [] }
  })
}

/** Changes a run's status, error or end time; fields left undefined keep their value. */
export async function updateApply(db: Db, id: string, patch: { status?: ApplyStatus; error?: string | null; finishedAt?: string | null }): Promise<void> {
  const fields: Array<[column: string, value: Param]> = []
  if (patch.status !== undefined) fields.push(['status', patch.status])
  if (patch.error !== undefined) fields.push(['error', patch.error])
  if (patch.finishedAt !== undefined) fields.push(['finished_at', patch.finishedAt === null ? null : isoTime(patch.finishedAt, 'finishedAt')])
  const { changes } = fields.length === 0
    ? { changes: (await db.query('SELECT id FROM applies WHERE id = ?', [id])).rows.length }
    : await db.query(`UPDATE applies SET ${fields.map(([column]) => `${column} = ?`).join(', ')} WHERE id = ?`, [...fields.map(([, value]) => value), id])
  if (changes === 0) throw new StoreNotFoundError(`apply ${id} does not exist`)
}

/** Adds a step, or replaces the step with the same `seq`. */
export async function putApplyStep(db: Db, id: string, step: ApplyStepRecord): Promise<void> {
  await db.transaction(async (sql) => {
    const { rows } = await sql.query('SELECT id FROM applies WHERE id = ?', [id])
    if (!rows[0]) throw new StoreNotFoundError(`apply ${id} does not exist`)
    await sql.query(
      `INSERT INTO apply_steps (${STEP}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (apply_id, seq) DO UPDATE SET name = excluded.name, status = excluded.status, detail = excluded.detail,
         output = excluded.output, started_at = excluded.started_at, finished_at = excluded.finished_at`,
      [id, step.seq, step.name, step.status, step.detail, step.output, isoTime(step.startedAt, 'startedAt'),
        step.finishedAt === null ? null : isoTime(step.finishedAt, 'finishedAt')],
    )
  })
}

export async function getApply(db: Db, id: string): Promise<ApplyRecord> {
  const { rows } = await db.query(`SELECT ${APPLY} FROM applies WHERE id = ?`, [id])
  const row = rows[0]
  if (!row) throw new StoreNotFoundError(`apply ${id} does not exist`)
  const [apply] = await withSteps(db, [toApply(row)], 'id = ?', [id])
  return apply ?? { ...withoutSeq(toApply(row)), steps: [] }
}

/** A cluster's runs, newest first, without their steps. */
export async function listApplies(db: Db, cluster: string, page: PageRequest): Promise<Page<Omit<ApplyRecord, 'steps'>>> {
  const limit = pageLimit(page.limit)
  const before = decodeCursor('applies', page.cursor, 'number')
  const { rows } = await db.query(
    `SELECT ${APPLY} FROM applies WHERE cluster = ?${before === undefined ? '' : ' AND seq < ?'} ORDER BY seq DESC LIMIT ?`,
    before === undefined ? [cluster, limit + 1] : [cluster, before, limit + 1],
  )
  const runs = toPage(rows, limit, toApply, 'applies', (a) => a.seq)
  return { items: runs.items.map(withoutSeq), nextCursor: runs.nextCursor }
}

/** Runs left `queued` or `running`, oldest first, with their steps; of one cluster when given. */
export async function listUnfinishedApplies(db: Db, cluster?: string): Promise<ApplyRecord[]> {
  const unfinished = `status IN ('queued', 'running')${cluster === undefined ? '' : ' AND cluster = ?'}`
  const params = cluster === undefined ? [] : [cluster]
  return db.transaction(async (sql) => {
    const { rows } = await sql.query(`SELECT ${APPLY} FROM applies WHERE ${unfinished} ORDER BY seq`, params)
    return withSteps(sql, rows.map(toApply), unfinished, params)
  })
}

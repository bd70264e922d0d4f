/**
 * API tokens, stored by the sha256 of their secret (the caller hashes; the secret never
 * reaches the store). A revoked token stays, with `revokedAt`, so the auth layer can tell
 * "revoked" from "unknown" and the audit log keeps pointing at something.
 */
import { StoreConflictError, StoreNotFoundError, type Page, type PageRequest, type Role, type TokenInput, type TokenRecord } from './types.js'
import { decodeCursor, jsonParam, newId, now, pageLimit, timeOf, timeOrNull, toPage, type Db, type Row } from './sql.js'

const TOKEN = 'seq, id, role, departments, user_name, cluster, description, created_at, created_by, revoked_at'

function toToken(db: Db, row: Row): TokenRecord & { seq: number } {
  return {
    seq: Number(row.seq),
    id: String(row.id),
    role: String(row.role) as Role,
    departments: db.decodeJson(row.departments) as string[],
    user: row.user_name === null ? null : String(row.user_name),
    cluster: row.cluster === null || row.cluster === undefined ? null : String(row.cluster),
    description: String(row.description),
    createdAt: timeOf(row.created_at),
    createdBy: String(row.created_by),
    revokedAt: timeOrNull(row.revoked_at),
  }
}

function withoutSeq({ seq: _seq, ...token }: TokenRecord & { seq: number }): TokenRecord {
  return token
}

/** Stores a new token under a random `tok_` id; `StoreConflictError` when the hash is already stored. */
export async function createToken(db: Db, input: TokenInput): Promise<TokenRecord> {
  const { rows } = await db.query(
    `INSERT INTO tokens (id, secret_hash, role, departments, user_name, cluster, description, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (secret_hash) DO NOTHING RETURNING ${TOKEN}`,
    [newId('tok'), input.secretHash, input.role, jsonParam(input.departments), input.user, input.cluster ?? null, input.description, now(), input.createdBy],
  )
  const row = rows[0]
  if (!row) throw new StoreConflictError('a token with this secret already exists')
  return withoutSeq(toToken(db, row))
}

/** The token with that secret hash, revoked or not, or null. */
export async function findTokenBySecretHash(db: Db, secretHash: string): Promise<TokenRecord | null> {
  const { rows } = await db.query(`SELECT ${TOKEN} FROM tokens WHERE secret_hash = ?`, [secretHash])
  const row = rows[0]
  return row ? withoutSeq(toToken(db, row)) : null
}

/** Tokens in the order they were created. */
export async function listTokens(db: Db, page: PageRequest): Promise<Page<TokenRecord>> {
  const limit = pageLimit(page.limit)
  const after = decodeCursor('tokens', page.cursor, 'number')
  const { rows } = await db.query(
    `SELECT ${TOKEN} FROM tokens ${after === undefined ? '' : 'WHERE seq > ? '}ORDER BY seq LIMIT ?`,
    after === undefined ? [limit + 1] : [after, limit + 1],
  )
  const tokens = toPage(rows, limit, (row) => toToken(db, row), 'tokens', (t) => t.seq)
  return { items: tokens.items.map(withoutSeq), nextCursor: tokens.nextCursor }
}

/** Revokes a token; revoking it again keeps the first revocation time. */
export async function revokeToken(db: Db, id: string): Promise<void> {
  const { changes } = await db.query('UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [now(), id])
  if (changes > 0) return
  const { rows } = await db.query('SELECT id FROM tokens WHERE id = ?', [id])
  if (!rows[0]) throw new StoreNotFoundError(`token ${id} does not exist`)
}

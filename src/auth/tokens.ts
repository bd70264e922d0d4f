/**
 * API tokens: a random secret shown once, stored only as its sha256. The secret carries a
 * recognisable prefix so a leaked token is easy to find in logs and repositories.
 */
import { createHash, randomBytes } from 'node:crypto'

export const TOKEN_PREFIX = 'stw_'

/** A new token secret: `stw_` and 32 random bytes, base64url. */
export function newTokenSecret(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
}

/** The stored form of a secret. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

/** The secret of an `Authorization: Bearer <secret>` header, or undefined. */
export function bearerSecret(header: string | undefined): string | undefined {
  const match = /^Bearer ([\w-]{10,200})$/.exec(header ?? '')
  return match?.[1]
}

/** Why a token's scope does not fit its role, or undefined when it does. */
export function tokenScopeProblem(role: string, departments: readonly string[], user: string | undefined): string | undefined {
  if (role === 'department-admin' && departments.length === 0) return 'a department-admin token needs at least one department'
  if (role !== 'department-admin' && departments.length > 0) return 'only department-admin tokens have departments'
  if (role === 'researcher' && !user) return 'a researcher token needs its user'
  if (role !== 'researcher' && user) return 'only researcher tokens have a user'
  return undefined
}

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

/**
 * Why a token's scope does not fit its role, or undefined when it does. Department-admin
 * and researcher tokens are bound to one cluster; admin tokens are global (the audit log
 * and the tokens API span every cluster, so a cluster-bound admin could not be contained).
 */
export function tokenScopeProblem(role: string, departments: readonly string[], user: string | undefined, cluster: string | undefined): string | undefined {
  if (role === 'admin' && cluster !== undefined) return 'admin tokens are global: leave out the cluster'
  if (role !== 'admin' && cluster === undefined) return `a ${role} token is bound to one cluster: give the cluster`
  if (role === 'department-admin' && departments.length === 0) return 'a department-admin token needs at least one department'
  if (role !== 'department-admin' && departments.length > 0) return 'only department-admin tokens have departments'
  if (role === 'researcher' && !user) return 'a researcher token needs its user'
  if (role !== 'researcher' && user) return 'only researcher tokens have a user'
  return undefined
}

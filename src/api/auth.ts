/**
 * Bearer-token authentication for the stateful API: a hook that resolves the token to a
 * principal (through a short-lived cache, src/auth/token-cache.ts), refuses a missing, unknown or revoked token with 401, and slows down
 * guessing with a per-address failure limit (429 with Retry-After), and hides the
 * clusters a token is not bound to (404). Behind a proxy or
 * load balancer, set Fastify's trustProxy so `request.ip` is the client's address.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { canSeeCluster, type Principal } from '../auth/policy.js'
import { bearerSecret, hashTokenSecret } from '../auth/tokens.js'
import { createFailureLimiter, type FailureLimiter } from '../auth/failure-limiter.js'
import { createTokenCache, type TokenCache } from '../auth/token-cache.js'
import { StoreNotFoundError, noSuchCluster, type Store } from '../store/types.js'
import { HttpError, UnauthorizedError } from './errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal
  }
}

export interface AuthOptions {
  store: Store
  limiter?: FailureLimiter
  /** Token lookups (default: cached for `TOKEN_CACHE_MS` in front of the store). */
  tokens?: TokenCache
}

/** Adds the authentication hook to every route of `scope`. */
export function installAuth(scope: FastifyInstance, options: AuthOptions): void {
  const limiter = options.limiter ?? createFailureLimiter({ maxFailures: 20, windowMs: 60_000 })
  const tokens = options.tokens ?? createTokenCache(options.store)
  scope.addHook('onRequest', async (request) => {
    // A valid token always passes; only failures count, and an address over the limit
    // gets 429 for every further failure (it learns nothing more by guessing).
    const key = request.ip
    const secret = bearerSecret(request.headers.authorization)
    const token = secret ? await tokens.lookup(hashTokenSecret(secret)) : null
    if (!token) {
      if (!limiter.allowed(key)) {
        throw new HttpError(429, 'TooManyRequests', 'too many failed authentications from this address; try again later', { 'retry-after': String(limiter.retryAfter(key)) })
      }
      limiter.fail(key)
      throw new UnauthorizedError(secret ? 'the token is unknown or revoked' : 'send Authorization: Bearer <token>')
    }
    request.principal = { tokenId: token.id, role: token.role, departments: token.departments, user: token.user, cluster: token.cluster }
  })
  // A cluster the token is not bound to does not exist for it: the same 404, word for
  // word, as a cluster that does not exist, before any other check can tell them apart.
  scope.addHook('preHandler', async (request) => {
    const cluster = (request.params as { cluster?: unknown } | undefined)?.cluster
    if (typeof cluster === 'string' && !canSeeCluster(principalOf(request), cluster)) throw new StoreNotFoundError(noSuchCluster(cluster))
  })
}

/** The principal of an authenticated request (the hook guarantees it). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthorizedError('not authenticated')
  return request.principal
}

/** The audit identity of a request: the token and role, and the client address. */
export function actorOf(request: FastifyRequest): { actor: string; source: string } {
  const p = principalOf(request)
  return { actor: `${p.tokenId}:${p.role}`, source: request.ip }
}

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
import { StoreNotFoundError, noSuchCluster, type Store, type TokenRecord } from '../store/types.js'
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
  // Callback hooks: a request whose token is cached is authenticated without a promise.
  scope.addHook('onRequest', (request, _reply, done) => {
    const secret = bearerSecret(request.headers.authorization)
    const secretHash = secret ? hashTokenSecret(secret) : undefined
    const cached = secretHash ? tokens.peek(secretHash) : undefined
    if (cached) {
      request.principal = principalFor(cached)
      done()
      return
    }
    const asked = secretHash ? tokens.lookup(secretHash) : Promise.resolve(null)
    asked.then((token) => {
      if (!token) {
        // A valid token always passes; only failures count, and an address over the limit
        // gets 429 for every further failure (it learns nothing more by guessing).
        const key = request.ip
        if (!limiter.allowed(key)) {
          throw new HttpError(429, 'TooManyRequests', 'too many failed authentications from this address; try again later', { 'retry-after': String(limiter.retryAfter(key)) })
        }
        limiter.fail(key)
        throw new UnauthorizedError(secret ? 'the token is unknown or revoked' : 'send Authorization: Bearer <token>')
      }
      request.principal = principalFor(token)
    }).then(() => done(), (err: unknown) => done(err as Error))
  })
  // A cluster the token is not bound to does not exist for it: the same 404, word for
  // word, as a cluster that does not exist, before any other check can tell them apart.
  scope.addHook('preHandler', (request, _reply, done) => {
    const cluster = (request.params as { cluster?: unknown } | undefined)?.cluster
    if (typeof cluster === 'string' && !canSeeCluster(principalOf(request), cluster)) done(new StoreNotFoundError(noSuchCluster(cluster)))
    else done()
  })
}

const principals = new WeakMap<TokenRecord, Principal>()

/** The principal of a token, made once per cached token record (frozen: shared by its requests). */
export function principalFor(token: TokenRecord): Principal {
  let p = principals.get(token)
  if (!p) {
    p = Object.freeze({ tokenId: token.id, role: token.role, departments: Object.freeze([...token.departments]) as string[], user: token.user, cluster: token.cluster })
    principals.set(token, p)
  }
  return p
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

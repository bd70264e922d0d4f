/**
 * Token lookups, cached for a short time: an authenticated request would otherwise pay a
 * store query for its token. Only valid tokens are cached (an unknown or revoked secret is
 * looked up every time, and failures are rate-limited by the caller), keyed by the
 * secret's hash, for at most `ttlMs`. Revocation is honoured: a token revoked through this
 * process is forgotten at once (`forget`); one revoked elsewhere (the CLI, another
 * replica) stops working within `ttlMs`.
 */
import type { Store, TokenRecord } from '../store/types.js'

/** How long a valid token is trusted without asking the store again: 5 s. */
export const TOKEN_CACHE_MS = 5_000

export interface TokenCacheOptions {
  /** Lifetime of an entry in ms (default `TOKEN_CACHE_MS`; 0 turns the cache off). */
  ttlMs?: number
  /** Most tokens kept (default 10,000); the oldest entry goes first. */
  maxEntries?: number
  /** The clock, in ms (tests give their own). */
  now?: () => number
}

export interface TokenCache {
  /** The valid token with this secret hash, or null (unknown or revoked). */
  lookup(secretHash: string): Promise<TokenRecord | null>
  /** The cached valid token with this secret hash, without asking the store (undefined: ask with `lookup`). */
  peek(secretHash: string): TokenRecord | undefined
  /** Drops a token (by id) from the cache: call when it is revoked. */
  forget(tokenId: string): void
}

/** A token cache in front of `store`. */
export function createTokenCache(store: Pick<Store, 'findTokenBySecretHash'>, options: TokenCacheOptions = {}): TokenCache {
  const ttlMs = options.ttlMs ?? TOKEN_CACHE_MS
  const maxEntries = options.maxEntries ?? 10_000
  const now = options.now ?? Date.now
  const entries = new Map<string, { token: TokenRecord; expiresAt: number }>()
  // Bumped by every `forget`: an answer asked for before a revocation is not cached.
  let generation = 0
  const peek = (secretHash: string): TokenRecord | undefined => {
    const hit = entries.get(secretHash)
    if (hit && hit.expiresAt > now()) return hit.token
    if (hit) entries.delete(secretHash)
    return undefined
  }
  return {
    peek,
    async lookup(secretHash) {
      const hit = peek(secretHash)
      if (hit) return hit
      const asked = now()
      const askedGeneration = generation
      const token = await store.findTokenBySecretHash(secretHash)
      if (!token || token.revokedAt) return null
      if (ttlMs > 0 && askedGeneration === generation) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string)
        // The lifetime counts from the question, not the answer: a slow store never stretches it.
        entries.set(secretHash, { token, expiresAt: asked + ttlMs })
      }
      return token
    },
    forget(tokenId) {
      generation++
      for (const [hash, entry] of entries) if (entry.token.id === tokenId) entries.delete(hash)
    },
  }
}

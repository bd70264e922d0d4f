/**
 * Dashboard sessions, server-side: the cookie holds only an opaque random id; the
 * session holds the sha256 of the API token it was opened with (never the token) and a
 * per-session CSRF token that every form carries. The token is looked up again on every
 * request, so a revoked token ends its sessions at once; a session also ends after
 * `idleMs` without use and `maxAgeMs` after sign-in.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'

export interface Session {
  id: string
  secretHash: string
  csrf: string
  createdAt: number
  lastSeen: number
}

export interface SessionStoreOptions {
  idleMs?: number
  maxAgeMs?: number
  /** Most sessions kept; the least recently used go first beyond it. */
  maxSessions?: number
  now?: () => number
}

export interface SessionStore {
  create(secretHash: string): Session
  /** The live session of `id` (touching it), or undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined
  delete(id: string): void
  readonly size: number
}

export const DEFAULT_IDLE_MS = 2 * 3_600_000
export const DEFAULT_MAX_AGE_MS = 12 * 3_600_000

/** A random id for cookies and CSRF tokens: 32 bytes, base64url. */
export function randomId(): string {
  return randomBytes(32).toString('base64url')
}

/** Compares two secrets in constant time (false when either is missing). */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Sessions in this process's memory (a restart signs everyone out). */
export function createSessionStore(options: SessionStoreOptions = {}): SessionStore {
  const idleMs = options.idleMs ?? DEFAULT_IDLE_MS
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  const maxSessions = options.maxSessions ?? 10_000
  const now = options.now ?? Date.now
  // A Map keeps insertion order: re-inserting on use makes the first entry the least recently used.
  const sessions = new Map<string, Session>()
  return {
    create(secretHash) {
      const t = now()
      const session = { id: randomId(), secretHash, csrf: randomId(), createdAt: t, lastSeen: t }
      sessions.set(session.id, session)
      while (sessions.size > maxSessions) {
        const oldest = sessions.keys().next().value
        if (oldest === undefined) break
        sessions.delete(oldest)
      }
      return session
    },
    get(id) {
      if (!id) return undefined
      const session = sessions.get(id)
      if (!session) return undefined
      const t = now()
      if (t - session.lastSeen > idleMs || t - session.createdAt > maxAgeMs) {
        sessions.delete(id)
        return undefined
      }
      session.lastSeen = t
      sessions.delete(id)
      sessions.set(id, session)
      return session
    },
    delete(id) {
      sessions.delete(id)
    },
    get size() {
      return sessions.size
    },
  }
}

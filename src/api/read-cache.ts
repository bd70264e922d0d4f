/**
 * Reads of the newest spec for the GET routes, paid once per revision: revisions never
 * change, so the parsed spec of (cluster, number) is kept (frozen: a route that tried to
 * change it would fail loudly instead of corrupting every later read), and so are the
 * views serialized from it (`serializedView`), keyed by whatever else they depend on (the
 * principal's scope, the query). Which revision is the newest is asked of the store at
 * most once per `LATEST_CACHE_MS` per cluster: a write through this process (`put`,
 * `edit` of the returned service) is visible to the next read at once; a write made by
 * another process or replica (the CLI, another service on the same database) is visible
 * within `LATEST_CACHE_MS` (500 ms).
 */
import type { RevisionService } from '../revisions/service.js'
import type { RevisionRecord, Store } from '../store/types.js'
import type { Principal } from '../auth/policy.js'
import type { FastifyReply } from 'fastify'

/** Revisions kept (a few clusters' newest, and the one before while a write lands). */
const MAX_REVISIONS = 32
/** Serialized views kept per revision (principal scopes x pages). */
const MAX_VIEWS_PER_REVISION = 512

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}

/** How long the newest revision's number is trusted without asking the store: 500 ms. */
export const LATEST_CACHE_MS = 500

export interface ReadCacheOptions {
  /** How long the newest revision number of a cluster is kept (ms; default `LATEST_CACHE_MS`; 0: every read asks). */
  latestMs?: number
  /** The clock, in ms (tests give their own). */
  now?: () => number
}

/**
 * A revision service whose `latest` serves cached, frozen revisions; `put` and `edit` go
 * to `revisions` as before and forget the cluster's cached newest number when they end
 * (all in-process writes of the app must go through this service or `invalidate`).
 */
export function cachedReads(revisions: RevisionService, store: Pick<Store, 'getCluster' | 'getRevision'>, options: ReadCacheOptions = {}): RevisionService & { invalidate(cluster: string): void } {
  const latestMs = options.latestMs ?? LATEST_CACHE_MS
  const now = options.now ?? Date.now
  const cache = new Map<string, RevisionRecord>()
  const newest = new Map<string, { number: number; expiresAt: number }>()
  // Bumped by every write: a number asked for before a write ended is not kept.
  let generation = 0
  const invalidate = (cluster: string): void => {
    generation++
    newest.delete(cluster)
  }
  async function latestNumber(cluster: string): Promise<number> {
    const hit = newest.get(cluster)
    if (hit && hit.expiresAt > now()) return hit.number
    const asked = now()
    const askedGeneration = generation
    const { latestRevision } = await store.getCluster(cluster)
    // A cluster without a spec is not kept: its first PUT must show at once everywhere.
    if (latestMs > 0 && latestRevision > 0 && askedGeneration === generation) {
      if (!hit && newest.size >= MAX_REVISIONS) newest.delete(newest.keys().next().value as string)
      // The lifetime counts from the question, not the answer: a slow store never stretches it.
      newest.set(cluster, { number: latestRevision, expiresAt: asked + latestMs })
    }
    return latestRevision
  }
  return {
    ...revisions,
    invalidate,
    async put(cluster, spec, by, putOptions) {
      try {
        return await revisions.put(cluster, spec, by, putOptions)
      } finally {
        invalidate(cluster)
      }
    },
    async edit(cluster, edit, by, editOptions) {
      try {
        return await revisions.edit(cluster, edit, by, editOptions)
      } finally {
        invalidate(cluster)
      }
    },
    async latest(cluster) {
      const latestRevision = await latestNumber(cluster)
      if (latestRevision === 0) return revisions.latest(cluster)
      const key = `${cluster}\u0000${latestRevision}`
      const hit = cache.get(key)
      if (hit) {
        // Most recently used last: the first entry is the one to drop.
        cache.delete(key)
        cache.set(key, hit)
        return hit
      }
      const record = deepFreeze(await store.getRevision(cluster, latestRevision))
      cache.set(key, record)
      if (cache.size > MAX_REVISIONS) cache.delete(cache.keys().next().value as string)
      return record
    },
  }
}

const views = new WeakMap<RevisionRecord, Map<string, string>>()

/**
 * The JSON text of a view of `record`, made by `make` once per `key` and revision (and
 * kept while the revision is cached). `key` must name everything besides the revision
 * that the view depends on.
 */
export function serializedView(record: RevisionRecord, key: string, make: () => unknown): string {
  let forRecord = views.get(record)
  if (!forRecord) views.set(record, forRecord = new Map())
  let text = forRecord.get(key)
  if (text === undefined) {
    text = JSON.stringify(make())
    if (forRecord.size >= MAX_VIEWS_PER_REVISION) forRecord.delete(forRecord.keys().next().value as string)
    forRecord.set(key, text)
  }
  return text
}

/** What of a principal a view can depend on: its role and scope (not the token). */
export function principalScope(p: Principal): string {
  let scope = scopes.get(p)
  if (scope === undefined) {
    scope = JSON.stringify([p.role, p.cluster, p.user, [...p.departments].sort()])
    // Only a frozen principal (the auth hook's, one per token) can be remembered.
    if (Object.isFrozen(p) && Object.isFrozen(p.departments)) scopes.set(p, scope)
  }
  return scope
}

const scopes = new WeakMap<Principal, string>()

/** Sends JSON text, or its UTF-8 bytes, as it is (Fastify serializes only what is not a string or a Buffer). */
export function sendJsonText(reply: FastifyReply, text: string | Buffer): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(text)
}

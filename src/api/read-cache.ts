/**
 * Reads of the newest spec for the GET routes, paid once per revision: revisions never
 * change, so the parsed spec of (cluster, number) is kept (frozen: a route that tried to
 * change it would fail loudly instead of corrupting every later read), and so are the
 * views serialized from it (`serializedView`), keyed by whatever else they depend on (the
 * principal's scope, the query). Each request still asks the store which revision is the
 * newest, so a write is visible to the next read, here and on other replicas.
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

/** A revision service whose `latest` serves cached, frozen revisions (writes go to `revisions` as before). */
export function cachedReads(revisions: RevisionService, store: Pick<Store, 'getCluster' | 'getRevision'>): RevisionService {
  const cache = new Map<string, RevisionRecord>()
  return {
    ...revisions,
    async latest(cluster) {
      const { latestRevision } = await store.getCluster(cluster)
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
  return JSON.stringify([p.role, p.cluster, p.user, [...p.departments].sort()])
}

/** Sends JSON text as it is (Fastify serializes only what is not a string). */
export function sendJsonText(reply: FastifyReply, text: string): FastifyReply {
  return reply.type('application/json; charset=utf-8').send(text)
}

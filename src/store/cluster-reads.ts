/**
 * Cluster records for display, cached for a short time: every dashboard page reads the
 * navigation's cluster list and the record of its cluster (which revision runs), and every
 * `/gpus` read the record, two store queries per request for answers that change only
 * when a revision is stored, an apply ends or a cluster is registered.
 *
 * `withClusterReads(store)` returns the same store (every method as before, `getCluster`
 * and `listClusters` uncached: writers and their read-before-write checks see the truth)
 * plus `clusterReads`, the cached reads for display. A write of a cluster record made
 * through the returned store (`createCluster`, `appendRevision`, `setAppliedRevision`)
 * empties the cache when it starts and when it ends, so the next read sees it; an answer
 * asked for before a write ended is never kept. A write made by another process or
 * replica (the CLI, another service on the same database), or through the bare store, is
 * seen within `ttlMs` (default `LATEST_CACHE_MS` of src/api/read-cache.ts, 500 ms), counted
 * from when the store was asked.
 */
import type { ClusterRecord, Store } from './types.js'

/** The default lifetime of a cached cluster record or list (ms): the same bound as the newest revision number's. */
export const CLUSTER_READS_MS = 500
/** The most clusters listed for display (the navigation shows at most this many). */
export const CLUSTER_LIST_LIMIT = 100
const MAX_ENTRIES = 1_000

export interface ClusterReads {
  /** The record of `name` (frozen; rejects as `getCluster` does). */
  cluster(name: string): Promise<Readonly<ClusterRecord>>
  /** The first `CLUSTER_LIST_LIMIT` clusters by name; with `only`, just those of these names (frozen). */
  clusters(only?: readonly string[]): Promise<readonly Readonly<ClusterRecord>[]>
  /** Forgets everything (a write happened). */
  invalidate(): void
}

export type StoreWithClusterReads = Store & { readonly clusterReads: ClusterReads }

export interface ClusterReadsOptions {
  /** Lifetime of an answer in ms (default `CLUSTER_READS_MS`; 0: every read asks the store). */
  ttlMs?: number
  /** The clock, in ms (tests give their own). */
  now?: () => number
}

const WRITES = new Set<PropertyKey>(['createCluster', 'appendRevision', 'setAppliedRevision'])

/** `store` with cached cluster reads for display; a store that has them already is returned as it is. */
export function withClusterReads(store: Store, options: ClusterReadsOptions = {}): StoreWithClusterReads {
  if (hasClusterReads(store)) return store
  const ttlMs = options.ttlMs ?? CLUSTER_READS_MS
  const now = options.now ?? Date.now
  const entries = new Map<string, { value: Promise<unknown>; expiresAt: number }>()
  // Bumped by every write: an answer asked for before a write ended is not kept.
  let generation = 0
  const invalidate = (): void => {
    generation++
    entries.clear()
  }
  function cached<T>(key: string, read: () => Promise<T>): Promise<T> {
    const hit = entries.get(key)
    const asked = now()
    if (hit && hit.expiresAt > asked) return hit.value as Promise<T>
    const askedGeneration = generation
    const value = read()
    value.then(() => {
      if (ttlMs <= 0 || askedGeneration !== generation) return
      if (entries.size >= MAX_ENTRIES) entries.clear()
      // The lifetime counts from the question, not the answer: a slow store never stretches it.
      entries.set(key, { value, expiresAt: asked + ttlMs })
    }, () => { /* a failed read is not kept; the caller gets the rejection */ })
    return value
  }
  const clusterReads: ClusterReads = {
    cluster: (name) => cached(`c\u0000${name}`, async () => Object.freeze(await store.getCluster(name))),
    clusters: (only) => cached(`l\u0000${only ? only.join('\u0000') : '\u0001'}`, async () =>
      Object.freeze((await store.listClusters({ limit: CLUSTER_LIST_LIMIT }, only)).items.map((c) => Object.freeze(c)))),
    invalidate,
  }
  const bound = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'clusterReads') return clusterReads
      const value: unknown = Reflect.get(target, prop, target)
      if (typeof value !== 'function') return value
      let fn = bound.get(prop)
      if (fn === undefined) {
        const method = value as (...args: unknown[]) => unknown
        fn = WRITES.has(prop)
          ? async (...args: unknown[]) => {
            invalidate()
            try {
              return await method.apply(target, args)
            } finally {
              invalidate()
            }
          }
          : method.bind(target)
        bound.set(prop, fn)
      }
      return fn
    },
    has(target, prop) {
      return prop === 'clusterReads' || Reflect.has(target, prop)
    },
  }) as StoreWithClusterReads
}

/** Whether `store` came from `withClusterReads`. */
export function hasClusterReads(store: Store): store is StoreWithClusterReads {
  return 'clusterReads' in store
}

/** The record of `name` for display: cached when `store` has cluster reads, else straight from the store. */
export function displayedCluster(store: Store, name: string): Promise<Readonly<ClusterRecord>> {
  return hasClusterReads(store) ? store.clusterReads.cluster(name) : store.getCluster(name)
}

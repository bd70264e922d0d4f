/**
 * What the shared store tests need from each implementation: a new empty database per
 * test, on which several stores (replicas) can be opened.
 */
import type { Test } from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../../src/spec/schema.js'
import type { Store } from '../../src/store/types.js'

/** A new empty database for one test. */
export interface FreshDatabase {
  /** A migrated store on this database; each call is another replica. */
  open(): Promise<Store>
  /** Runs SQL on the database behind the store's back (to check what the database itself refuses). */
  exec(sql: string): Promise<void>
  dispose(): Promise<void>
}

export interface StoreHarness {
  fresh(): Promise<FreshDatabase>
}

/** What a test gets: a store, a way to open more replicas, and raw SQL. */
export interface Setup {
  store: Store
  open(): Promise<Store>
  exec(sql: string): Promise<void>
}

/** Opens a fresh database and a store on it, all closed and dropped when the test ends. */
export async function setup(t: Test, harness: StoreHarness): Promise<Setup> {
  const db = await harness.fresh()
  const stores: Store[] = []
  t.teardown(async () => {
    await Promise.all(stores.map((s) => s.close()))
    await db.dispose()
  })
  const open = async () => {
    const store = await db.open()
    stores.push(store)
    return store
  }
  return { store: await open(), open, exec: (sql) => db.exec(sql) }
}

const campusText = readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')

/** The example campus spec, with a fairshare weight that differs per `version`, so revisions differ. */
export function campusSpec(version = 1): ClusterSpec {
  const spec = parse(campusText) as { cluster: { priority: { weights: { fairshare: number } } } }
  spec.cluster.priority.weights.fairshare = 10000 + version
  return spec as unknown as ClusterSpec
}

/** An ISO-8601 UTC time with milliseconds, as the store writes it. */
export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/


/**
 * Seeding an empty store: registers a cluster and stores its first spec through the
 * revision service, like every other writer, so the spec is checked and its uids are
 * reserved (the allocator never hands a seeded user's uid to anyone else). And the
 * repair of stores seeded before that: their stored uids are reserved at start-up.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { SYSTEM_PRINCIPAL } from '../auth/policy.js'
import { StoreConflictError, type RevisionRecord, type Store } from '../store/types.js'
import { uidOwner, type RevisionService } from './service.js'

/** Registers `spec`'s cluster and stores `spec` as its revision 1, as the system, from `source`. */
export async function seedCluster(store: Store, revisions: RevisionService, spec: ClusterSpec, options: { description: string; source: string; message: string }): Promise<RevisionRecord> {
  const name = spec.cluster.name
  await store.createCluster(name, options.description)
  const { revision } = await revisions.put(name, spec, { actor: 'system', source: options.source }, {
    principal: SYSTEM_PRINCIPAL, message: options.message, action: 'cluster.seed', resource: `clusters/${name}`,
  })
  return revision
}

/** A uid the stored specs give a user that the allocations table cannot take (another user has it). */
export interface UidClash {
  cluster: string
  user: string
  uid: number
  reason: string
}

/**
 * Reserves every uid of every cluster's newest spec that the allocations table lacks:
 * stores seeded before seeding went through the revision service left them out, so the
 * allocator could hand them out again. Run at start-up; reads the table once, writes only
 * what is missing, and returns what it could not reserve (a uid already another user's).
 */
export async function reserveMissingUids(store: Store): Promise<UidClash[]> {
  const known = new Map<string, number>()
  for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
    const page = await store.listUidAllocations({ limit: 500, cursor })
    for (const a of page.items) known.set(a.user, a.uid)
    cursor = page.nextCursor ?? undefined
  }
  const clashes: UidClash[] = []
  for (let cursor: string | undefined, first = true; first || cursor !== undefined; first = false) {
    const page = await store.listClusters({ limit: 100, cursor })
    for (const cluster of page.items.filter((c) => c.latestRevision > 0)) {
      const { spec } = await store.getRevision(cluster.name, cluster.latestRevision)
      for (const u of spec.users.filter((user) => known.get(uidOwner(user)) !== user.uid)) {
        try {
          await store.reserveUid(uidOwner(u), u.uid)
          known.set(uidOwner(u), u.uid)
        } catch (err) {
          if (!(err instanceof StoreConflictError)) throw err
          clashes.push({ cluster: cluster.name, user: u.name, uid: u.uid, reason: err.message })
        }
      }
    }
    cursor = page.nextCursor ?? undefined
  }
  return clashes
}

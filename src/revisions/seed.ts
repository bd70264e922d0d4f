/**
 * Seeding an empty store: registers a cluster and stores its first spec through the
 * revision service, like every other writer, so the spec is checked and its uids are
 * reserved (the allocator never hands a seeded user's uid to anyone else).
 */
import type { ClusterSpec } from '../spec/schema.js'
import { SYSTEM_PRINCIPAL } from '../auth/policy.js'
import type { RevisionRecord, Store } from '../store/types.js'
import type { RevisionService } from './service.js'

/** Registers `spec`'s cluster and stores `spec` as its revision 1, as the system, from `source`. */
export async function seedCluster(store: Store, revisions: RevisionService, spec: ClusterSpec, options: { description: string; source: string; message: string }): Promise<RevisionRecord> {
  const name = spec.cluster.name
  await store.createCluster(name, options.description)
  const { revision } = await revisions.put(name, spec, { actor: 'system', source: options.source }, {
    principal: SYSTEM_PRINCIPAL, message: options.message, action: 'cluster.seed', resource: `clusters/${name}`,
  })
  return revision
}

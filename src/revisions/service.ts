/**
 * Spec revisions as the API changes them: read the newest spec, apply an edit, validate
 * the whole result, store it as a new immutable revision (refused if another writer got
 * there first) and audit it. Free of Fastify: routes and the CLI call this.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { ClusterSpec as ClusterSpecSchema } from '../spec/schema.js'
import { structuralProblems } from '../spec/structure.js'
import { validateSpec } from '../spec/validate.js'
import { SpecInvalidError, type Problem } from '../spec/problems.js'
import { diffSpecs } from '../spec/diff.js'
import { StoreNotFoundError, type RevisionRecord, type Store } from '../store/types.js'

/** Who makes a change and from where, for the audit log. */
export interface Actor {
  actor: string
  source: string
}

/** Thrown when the cluster has no spec yet, so a fine-grained edit has nothing to edit. */
export class NoSpecError extends StoreNotFoundError {
  override name = 'NoSpecError'
}

/** Validates a whole spec; structural errors and rule errors are told apart (400 vs 422). */
export function checkSpec(value: unknown): { spec: ClusterSpec; warnings: Problem[] } {
  const structure = structuralProblems(ClusterSpecSchema, value)
  if (structure.length > 0) throw new SpecInvalidError(validateSpec(value).errors, 'structure')
  const result = validateSpec(value)
  if (!result.ok) throw new SpecInvalidError(result.errors, 'semantic')
  return { spec: value as ClusterSpec, warnings: result.errors }
}

export interface RevisionService {
  /** The newest revision of `cluster`; `NoSpecError` when there is none. */
  latest(cluster: string): Promise<RevisionRecord>
  /** Stores `spec` as the next revision; `expectedLatest` guards against a stale write. */
  put(cluster: string, spec: unknown, by: Actor, options: { message: string; expectedLatest?: number; action?: string; resource?: string; audit?: () => unknown }): Promise<{ revision: RevisionRecord; warnings: Problem[] }>
  /** Applies `edit` to the newest spec and stores the result (the read revision guards the write). */
  edit(cluster: string, edit: (spec: ClusterSpec) => ClusterSpec, by: Actor, options: { message: string; action: string; resource: string; audit?: () => unknown }): Promise<{ revision: RevisionRecord; warnings: Problem[] }>
}

/**
 * Records the uid of every user new or changed since the previous revision, so the
 * allocator never hands it to anyone else and a uid is never silently moved to another
 * name (a conflict is a 409).
 */
async function reserveUids(store: Store, previous: ClusterSpec | undefined, spec: ClusterSpec): Promise<void> {
  const before = new Map((previous?.users ?? []).map((u) => [u.name, u.uid]))
  for (const u of spec.users) if (before.get(u.name) !== u.uid) await store.reserveUid(u.name, u.uid)
}

export function createRevisionService(store: Store): RevisionService {
  async function latest(cluster: string): Promise<RevisionRecord> {
    const record = await store.getCluster(cluster)
    if (record.latestRevision === 0) throw new NoSpecError(`cluster "${cluster}" has no spec yet: PUT /v1/clusters/${cluster}/spec first`)
    return store.getRevision(cluster, record.latestRevision)
  }

  const service: RevisionService = {
    latest,
    async put(cluster, value, by, options) {
      const { spec, warnings } = checkSpec(value)
      const cur = await store.getCluster(cluster)
      const previous = cur.latestRevision > 0 ? (await store.getRevision(cluster, cur.latestRevision)).spec : undefined
      await reserveUids(store, previous, spec)
      const revision = await store.appendRevision(cluster, { spec, author: by.actor, message: options.message, expectedLatest: options.expectedLatest })
      await store.appendAudit({
        actor: by.actor, source: by.source, cluster,
        action: options.action ?? 'spec.put',
        resource: options.resource ?? `clusters/${cluster}/spec`,
        change: { revision: revision.number, ...(options.audit ? { item: options.audit() } : {}), diff: diffSpecs(previous, spec) },
      })
      return { revision, warnings }
    },
    async edit(cluster, edit, by, options) {
      const current = await latest(cluster)
      const next = edit(current.spec)
      return service.put(cluster, next, by, { ...options, expectedLatest: current.number })
    },
  }
  return service
}

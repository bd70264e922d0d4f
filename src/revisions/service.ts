/**
 * Spec revisions: the one path by which anything (the API's routes, start-up seeding)
 * stores a spec. It reads the newest spec, applies an edit, checks the result as a whole
 * (structure, the cluster's name, what the principal may change, the semantic rules),
 * and only then stores it as a new immutable revision, reserving its uids and allocating
 * the ones asked for in the same transaction (refused if another writer got there
 * first), and audits it. A refused write leaves no trace: no revision, no uid. Free of
 * Fastify: routes and the server call this.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { ClusterSpec as ClusterSpecSchema } from '../spec/schema.js'
import { structuralProblems } from '../spec/structure.js'
import { validateSpec } from '../spec/validate.js'
import { SpecInvalidError, type Problem, type ValidationResult } from '../spec/problems.js'
import { diffSpecs } from '../spec/diff.js'
import type { Principal } from '../auth/policy.js'
import { checkSpecChange } from '../auth/spec-change.js'
import { StoreNotFoundError, type RevisionRecord, type Store, type UidPlan } from '../store/types.js'

/** Who makes a change and from where, for the audit log. */
export interface Actor {
  actor: string
  source: string
}

/** Thrown when the cluster has no spec yet, so a fine-grained edit has nothing to edit. */
export class NoSpecError extends StoreNotFoundError {
  override name = 'NoSpecError'
}

/**
 * The spec's cluster name must be `cluster`: it is what an apply writes as `ClusterName`
 * and hands to sacctmgr.
 */
function checkClusterName(spec: ClusterSpec, cluster: string): void {
  if (spec.cluster.name !== cluster) {
    throw new SpecInvalidError([{ path: '/cluster/name', message: `the spec is for cluster "${spec.cluster.name}", not "${cluster}": a cluster stores only its own spec`, severity: 'error' }], 'semantic')
  }
}

/** A rules verdict: its warnings, or a `SpecInvalidError` (422). */
function rulesOutcome(result: ValidationResult): Problem[] {
  if (!result.ok) throw new SpecInvalidError(result.errors, 'semantic')
  return result.errors
}

/**
 * Lets other requests run between the steps of a large write: each step of a 1 MB spec
 * (reading, checking, storing, auditing) takes tens of milliseconds, and together they
 * would hold the event loop for longer than any request may.
 */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** Runs the whole validation of a spec, e.g. in a worker thread; the default runs it here. */
export type SpecValidator = (spec: ClusterSpec) => Promise<ValidationResult>

export interface PutOptions {
  /** Whose change it is: what it may change is checked against the stored spec. */
  principal: Principal
  message: string
  /** Refuse the write (409) unless the newest revision is this one. */
  expectedLatest?: number
  action?: string
  resource?: string
  audit?: () => unknown
  /**
   * Users of the spec whose uid the service allocates (they may lack `uid`): allocated
   * only once everything else is checked, in the transaction that stores the revision.
   */
  allocateUids?: readonly string[]
  /** The uids `allocateUids` are given from (default: the service's uid base, no end): `identity.uidRange`. */
  uidRange?: { from: number; to: number }
}

export interface RevisionService {
  /** The newest revision of `cluster`; `NoSpecError` when there is none. */
  latest(cluster: string): Promise<RevisionRecord>
  /** Stores `spec` as the next revision of `cluster`. */
  put(cluster: string, spec: unknown, by: Actor, options: PutOptions): Promise<{ revision: RevisionRecord; warnings: Problem[] }>
  /** Applies `edit` to the newest spec and stores the result (the read revision guards the write). */
  edit(cluster: string, edit: (spec: ClusterSpec) => ClusterSpec, by: Actor, options: Omit<PutOptions, 'expectedLatest'> & { action: string; resource: string }): Promise<{ revision: RevisionRecord; warnings: Problem[] }>
}

/** The largest uid, counted down from to find stand-ins that clash with nothing. */
const TOP_UID = 4_294_967_294

/**
 * Gives each user in `names` a stand-in uid (the largest ones no user or group of the
 * spec uses), so the spec can be checked before any real uid is allocated. The allocator
 * avoids every uid and gid of the spec, so the real uids break no rule the stand-ins kept.
 */
function withStandInUids(value: unknown, names: ReadonlySet<string>): unknown {
  if (names.size === 0 || typeof value !== 'object' || value === null) return value
  const spec = value as { users?: unknown; departments?: unknown }
  if (!Array.isArray(spec.users)) return value
  const taken = idsOf(spec as ClusterSpec)
  let next = TOP_UID
  const users = spec.users.map((u: unknown) => {
    const user = u as { name?: unknown; uid?: unknown }
    if (typeof user?.name !== 'string' || !names.has(user.name) || user.uid !== undefined) return u
    while (taken.has(next)) next--
    return { ...user, uid: next-- }
  })
  return { ...spec, users }
}

/** Those of `names` that are users of `value` without a uid: the ones to allocate for. */
function usersWithoutUid(value: unknown, names: readonly string[]): Set<string> {
  const users = (value as { users?: unknown } | null)?.users
  if (names.length === 0 || !Array.isArray(users)) return new Set()
  const wanted = new Set(names)
  return new Set(users.filter((u: { name?: unknown; uid?: unknown } | null) => typeof u?.name === 'string' && wanted.has(u.name) && u.uid === undefined).map((u: { name: string }) => u.name))
}

/** Every uid and gid a spec names (users' and departments'). */
function idsOf(spec: ClusterSpec): Set<number> {
  const ids = new Set<number>()
  for (const u of Array.isArray(spec.users) ? spec.users : []) {
    if (typeof u?.uid === 'number') ids.add(u.uid)
    if (typeof u?.gid === 'number') ids.add(u.gid)
  }
  for (const d of Array.isArray(spec.departments) ? spec.departments : []) if (typeof d?.gid === 'number') ids.add(d.gid)
  return ids
}

/**
 * What the store records with the revision: the uid of every user new or changed since
 * the previous revision (so the allocator never hands it to anyone else and a uid is
 * never silently moved to another name: a conflict is a 409), and the uids to allocate.
 */
function uidPlan(previous: ClusterSpec | undefined, spec: ClusterSpec, allocate: ReadonlySet<string>, from: number): UidPlan {
  const before = new Map((previous?.users ?? []).map((u) => [uidOwner(u), u.uid]))
  const avoid = idsOf({ ...spec, users: spec.users.filter((u) => !allocate.has(u.name)) })
  return {
    reserve: spec.users.filter((u) => !allocate.has(u.name) && before.get(uidOwner(u)) !== u.uid).map((u) => ({ user: uidOwner(u), uid: u.uid })),
    allocate: { users: spec.users.filter((u) => allocate.has(u.name)).map(uidOwner), from, avoid },
  }
}

/**
 * Whom the store records a uid for: a user from a directory by its source and id (so a
 * rename keeps the uid and the store agrees), a user written by hand by name. The `:`
 * keeps the two apart (no user name has one).
 */
export function uidOwner(user: Pick<ClusterSpec['users'][number], 'name' | 'source' | 'externalId'>): string {
  return user.source !== undefined && user.externalId !== undefined ? `${user.source}:${user.externalId}` : user.name
}

/** The allocated uid of `u`, refused when it lies beyond the range the caller gave. */
function allocatedUid(u: ClusterSpec['users'][number], allocated: ReadonlyMap<string, number>, range: { to: number } | undefined, index: number): number {
  const uid = allocated.get(uidOwner(u)) ?? u.uid
  if (range && uid > range.to) {
    throw new SpecInvalidError([{ path: `/users/${index}/uid`, message: `no free uid left in the range up to ${range.to} for user "${u.name}": widen identity.uidRange`, severity: 'error' }], 'semantic')
  }
  return uid
}

export function createRevisionService(store: Store, options: { uidBase?: number; validate?: SpecValidator } = {}): RevisionService {
  const uidBase = options.uidBase ?? 100_000
  const validate: SpecValidator = options.validate ?? (async (spec) => validateSpec(spec))

  async function latest(cluster: string): Promise<RevisionRecord> {
    const record = await store.getCluster(cluster)
    if (record.latestRevision === 0) throw new NoSpecError(`cluster "${cluster}" has no spec yet: PUT /v1/clusters/${cluster}/spec first`)
    return store.getRevision(cluster, record.latestRevision)
  }

  const service: RevisionService = {
    latest,
    async put(cluster, value, by, options) {
      const allocate = usersWithoutUid(value, options.allocateUids ?? [])
      const cur = await store.getCluster(cluster)
      const previous = cur.latestRevision > 0 ? (await store.getRevision(cluster, cur.latestRevision)).spec : undefined
      await yieldToEventLoop()
      const candidate = withStandInUids(value, allocate)
      // A broken structure is a 400 with every problem; those are found in the validator
      // (a worker in the service), not on the event loop.
      if (structuralProblems(ClusterSpecSchema, candidate).length > 0) throw new SpecInvalidError((await validate(candidate as ClusterSpec)).errors, 'structure')
      const spec = candidate as ClusterSpec
      checkClusterName(spec, cluster)
      // What the principal may change is decided before the rules run, so a refusal reads
      // the same whatever else the spec holds (a hidden user and a missing one alike).
      checkSpecChange(options.principal, previous, spec, allocate)
      const warnings = rulesOutcome(await validate(spec))
      await yieldToEventLoop()
      // A non-admin's change was checked against `previous`: it is stored only on top of it.
      const expectedLatest = options.expectedLatest ?? (options.principal.role === 'admin' ? undefined : cur.latestRevision)
      const revision = await store.appendRevision(cluster, {
        author: by.actor, message: options.message, expectedLatest,
        uids: uidPlan(previous, spec, allocate, options.uidRange?.from ?? uidBase),
        spec: (allocated) => ({ ...spec, users: spec.users.map((u, i) => (allocate.has(u.name) ? { ...u, uid: allocatedUid(u, allocated, options.uidRange, i) } : u)) }),
      })
      await yieldToEventLoop()
      await store.appendAudit({
        actor: by.actor, source: by.source, cluster,
        action: options.action ?? 'spec.put',
        resource: options.resource ?? `clusters/${cluster}/spec`,
        change: { revision: revision.number, ...(options.audit ? { item: options.audit() } : {}), diff: diffSpecs(previous, revision.spec) },
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

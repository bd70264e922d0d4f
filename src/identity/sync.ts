/**
 * A sync as a reviewable change: read the directory, map it onto the spec, and either show
 * the summary and the diff (dry run) or store the result. On a spec file the uids of new
 * users come from `identity.uidRange` (skipping every id the file uses); on a cluster of the
 * service the result is a new revision through the one revision path, whose store
 * allocates them. Nothing changed, nothing written: a second sync of an unchanged directory
 * makes no revision. Anything wrong with the source throws before anything is written.
 */
import { isDeepStrictEqual } from 'node:util'
import type { ClusterSpec } from '../spec/schema.js'
import { diffSpecs, type SpecChange } from '../spec/diff.js'
import { validateSpec } from '../spec/validate.js'
import { SpecInvalidError } from '../spec/problems.js'
import type { Principal } from '../auth/policy.js'
import type { Actor, RevisionService } from '../revisions/service.js'
import { readDirectory, type MembershipCache, type ReadOptions } from './directory.js'
import { mapDirectory, type MappingResult, type SyncedSpec, type SyncSummary } from './mapping.js'
import { IdentitySourceError, type IdentitySource } from './source.js'

export interface SyncOutcome {
  summary: SyncSummary
  diff: SpecChange[]
  /** True when the source implies a different spec. */
  changed: boolean
}

/** Reads the directory `spec.identity` names and maps it onto `spec`. */
export async function planSync(spec: ClusterSpec, source: IdentitySource, options: ReadOptions = {}): Promise<MappingResult> {
  const identity = spec.identity
  if (!identity) throw new IdentitySourceError('the spec has no identity section: add one (spec-format.md, identity) before syncing')
  if (identity.source !== source.kind) throw new IdentitySourceError(`the spec's identity.source is ${identity.source}, not ${source.kind}`)
  const groups = [...new Set(identity.groups.map((g) => g.group))]
  const directory = await readDirectory(source, groups, options)
  return mapDirectory(spec, directory)
}

/** Ids the allocator never hands out (systemd's dynamic users, nobody and -1 in 16 bits). */
const RESERVED: ReadonlyArray<readonly [number, number]> = [[61_184, 65_519], [65_534, 65_535]]

/**
 * Gives each pending user of a file's sync the smallest uid of `identity.uidRange` that no
 * user or group of the spec uses (disabled users keep theirs, so a uid is never reused).
 */
export function assignRangeUids(result: MappingResult): ClusterSpec {
  const spec = result.spec
  const range = spec.identity!.uidRange
  const taken = new Set<number>()
  for (const u of spec.users) {
    if (u.uid !== undefined) taken.add(u.uid)
    if (u.gid !== undefined) taken.add(u.gid)
  }
  for (const d of spec.departments) if (d.gid !== undefined) taken.add(d.gid)
  const pending = new Set(result.pending)
  let next = range.from
  const users = spec.users.map((u) => {
    if (!pending.has(u.name)) return u
    while (taken.has(next) || RESERVED.some(([a, b]) => next >= a && next <= b)) next++
    if (next > range.to) throw new IdentitySourceError(`no free uid left in identity.uidRange ${range.from}-${range.to} for user "${u.name}": widen the range`)
    taken.add(next)
    return { ...u, uid: next }
  })
  return { ...spec, users } as ClusterSpec
}

/** Syncs a spec held in a file: the new spec (unchanged when nothing changed) and the outcome. */
export async function syncSpecFile(spec: ClusterSpec, source: IdentitySource, options: ReadOptions = {}): Promise<SyncOutcome & { spec: ClusterSpec }> {
  const result = await planSync(spec, source, options)
  const next = assignRangeUids(result)
  // The file is written only as a spec that passes every rule.
  const checked = validateSpec(next)
  if (!checked.ok) throw new SpecInvalidError(checked.errors, 'semantic')
  const changed = !isDeepStrictEqual(spec, next)
  return { spec: changed ? next : spec, summary: result.summary, diff: diffSpecs(spec, next), changed }
}

export interface ClusterSyncOptions extends ReadOptions {
  principal: Principal
  by: Actor
  dryRun?: boolean
}

/** Per cluster, the membership caches of the syncs the service ran (kept in memory). */
export type SyncCaches = Map<string, MembershipCache>

/**
 * Syncs a cluster of the service: a new revision (unless dry run or nothing changed),
 * guarded by the revision it read. New users get uids from the store's allocator, within
 * `identity.uidRange`.
 */
export async function syncCluster(revisions: RevisionService, cluster: string, source: IdentitySource, options: ClusterSyncOptions): Promise<SyncOutcome & { revision: number }> {
  const latest = await revisions.latest(cluster)
  const result = await planSync(latest.spec, source, options)
  const candidate = result.spec as SyncedSpec
  const changed = result.pending.length > 0 || !isDeepStrictEqual(latest.spec, candidate)
  const diff = diffSpecs(latest.spec, candidate)
  if (!changed || options.dryRun) return { summary: result.summary, diff, changed, revision: latest.number }
  const s = result.summary
  const { revision } = await revisions.put(cluster, candidate, options.by, {
    principal: options.principal,
    message: `identity sync: ${s.added.length} added, ${s.changed.length} changed, ${s.disabled.length} disabled, ${s.refused.length} refused`,
    expectedLatest: latest.number,
    action: 'identity.sync',
    resource: `clusters/${cluster}/identity`,
    audit: () => ({ added: s.added, changed: s.changed.map((c) => c.user), disabled: s.disabled, refused: s.refused }),
    allocateUids: result.pending,
    uidRange: candidate.identity!.uidRange,
  })
  return { summary: result.summary, diff: diffSpecs(latest.spec, revision.spec), changed, revision: revision.number }
}

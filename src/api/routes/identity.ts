/**
 * `POST /v1/clusters/{c}/identity/sync` (admin): reads the directory the cluster's spec
 * names and stores the users and supervisor memberships it implies as a new revision
 * (through the revision service), answering the summary and the diff; `?dryRun=true` only
 * answers them. No change in the directory, no revision. Each cluster keeps a membership
 * cache in this process, so a re-sync reads each group's members and no unchanged user.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { requireAdmin } from '../../auth/policy.js'
import type { RevisionService } from '../../revisions/service.js'
import type { IdentitySourceFactory } from '../../adapters/identity-sources.js'
import { emptyCache, type MembershipCache } from '../../identity/directory.js'
import { syncCluster } from '../../identity/sync.js'
import { actorOf, principalOf } from '../auth.js'
import { ClusterParams, errorResponses } from '../schemas.js'

export const SyncSummarySchema = Type.Object({
  added: Type.Array(Type.String()),
  changed: Type.Array(Type.Object({ user: Type.String(), changes: Type.Array(Type.String()) })),
  disabled: Type.Array(Type.String()),
  refused: Type.Array(Type.Object({ user: Type.String(), externalId: Type.String(), reason: Type.String() })),
  unchanged: Type.Integer(),
})

export const SyncResult = Type.Object({
  revision: Type.Integer({ description: 'the new revision, or the current one when nothing was stored' }),
  changed: Type.Boolean({ description: 'the directory implies a different spec' }),
  dryRun: Type.Boolean(),
  summary: SyncSummarySchema,
  diff: Type.Array(Type.Object({ op: Type.String(), path: Type.String(), before: Type.Optional(Type.Unknown()), after: Type.Optional(Type.Unknown()) })),
})

const SyncQuery = Type.Object({ dryRun: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false })

export function identityRoutes(deps: { revisions: RevisionService; sources: IdentitySourceFactory }): FastifyPluginAsyncTypebox {
  const caches = new Map<string, { key: string; cache: MembershipCache }>()
  return async (app) => {
    app.post('/clusters/:cluster/identity/sync', {
      schema: {
        summary: 'Sync users from the directory the spec names into a new revision (admin); dryRun=true only shows the summary and the diff',
        params: ClusterParams, querystring: SyncQuery,
        response: { 200: SyncResult, 502: errorResponses[400], ...errorResponses },
      },
    }, async (request) => {
      const principal = principalOf(request)
      requireAdmin(principal, 'sync users from the directory')
      const { cluster } = request.params
      const dryRun = request.query.dryRun === true
      const spec = (await deps.revisions.latest(cluster)).spec
      // The cache belongs to one directory: a changed identity section starts afresh.
      const key = JSON.stringify([spec.identity?.source, spec.identity?.identityCenter, spec.identity?.ldap])
      const held = caches.get(cluster)
      const cache = held?.key === key ? held.cache : emptyCache()
      caches.set(cluster, { key, cache })
      const outcome = await syncCluster(deps.revisions, cluster, deps.sources(spec), { principal, by: actorOf(request), dryRun, cache })
      return { ...outcome, dryRun }
    })
  }
}

/**
 * Plan, apply and drift of a cluster against its live controller (admin only). An apply
 * is asynchronous: POST answers 202 with its id; GET shows its status and step log.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Name } from '../../spec/names.js'
import { requireAdmin } from '../../auth/policy.js'
import type { Store } from '../../store/types.js'
import type { ApplyEngine } from '../../apply/engine.js'
import { actorOf, principalOf } from '../auth.js'
import { ClusterParams, PageOf, PageQuery, errorResponses } from '../schemas.js'

/** `?revision=N`; the newest revision when absent. */
const RevisionQuery = Type.Object({ revision: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false })
const ApplySummary = Type.Object({
  id: Type.String(), cluster: Type.String(), revision: Type.Integer(), status: Type.String(), startedBy: Type.String(),
  createdAt: Type.String(), finishedAt: Type.Union([Type.String(), Type.Null()]), error: Type.Union([Type.String(), Type.Null()]),
})
const ApplyRecord = Type.Composite([ApplySummary, Type.Object({ steps: Type.Array(Type.Unknown()) })])

export function applyRoutes(deps: { store: Store; engine: ApplyEngine }): FastifyPluginAsyncTypebox {
  const { store, engine } = deps
  return async (app) => {
    app.post('/clusters/:cluster/plan', {
      schema: {
        summary: 'What applying the newest (or given) revision would change: file diffs, accounting and POSIX operations (admin)',
        params: ClusterParams, querystring: RevisionQuery,
        response: { 200: Type.Object({ revision: Type.Integer(), files: Type.Array(Type.Unknown()), accounting: Type.Unknown() }), ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'plan')
      return engine.plan(request.params.cluster, request.query.revision)
    })

    app.post('/clusters/:cluster/applies', {
      schema: {
        summary: 'Apply the newest (or given) revision to the controller; 409 while another apply runs (admin)',
        params: ClusterParams, querystring: RevisionQuery,
        response: { 202: ApplySummary, ...errorResponses },
      },
    }, async (request, reply) => {
      requireAdmin(principalOf(request), 'apply')
      const { actor, source } = actorOf(request)
      const apply = await engine.start(request.params.cluster, request.query.revision, actor)
      await store.appendAudit({ actor, source, cluster: apply.cluster, action: 'apply.start', resource: `clusters/${apply.cluster}/applies/${apply.id}`, change: { revision: apply.revision } })
      reply.header('location', `/v1/clusters/${apply.cluster}/applies/${apply.id}`)
      return reply.code(202).send(apply)
    })

    app.get('/clusters/:cluster/applies', {
      schema: { summary: 'Applies, newest first (admin)', params: ClusterParams, querystring: PageQuery, response: { 200: PageOf(ApplySummary), ...errorResponses } },
    }, async (request) => {
      requireAdmin(principalOf(request), 'read applies')
      return store.listApplies(request.params.cluster, { limit: request.query.limit ?? 50, cursor: request.query.cursor })
    })

    app.get('/clusters/:cluster/applies/:id', {
      schema: {
        summary: 'One apply with its step log (admin)',
        params: Type.Object({ cluster: Name, id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) }, { additionalProperties: false }),
        response: { 200: ApplyRecord, ...errorResponses },
      },
    }, async (request, reply) => {
      requireAdmin(principalOf(request), 'read applies')
      const apply = await store.getApply(request.params.id)
      if (apply.cluster !== request.params.cluster) return reply.code(404).send({ error: 'NotFound', message: `no apply ${request.params.id} in ${request.params.cluster}`, details: [] })
      return apply
    })

    app.get('/clusters/:cluster/drift', {
      schema: {
        summary: 'Whether the live controller differs from the last applied revision (admin)',
        params: ClusterParams,
        response: { 200: Type.Object({ appliedRevision: Type.Union([Type.Integer(), Type.Null()]), drifted: Type.Boolean(), files: Type.Array(Type.Unknown()), accounting: Type.Unknown() }), ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'read drift')
      return engine.drift(request.params.cluster)
    })
  }
}

/**
 * Clusters, their whole spec, its revisions (list, get, diff, roll back) and a render
 * preview. The whole spec holds every tenant, so only cluster admins read or write it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { stringify } from 'yaml'
import { FreeText, Name } from '../../spec/names.js'
import { parseSpecText } from '../../spec/load.js'
import { diffSpecs } from '../../spec/diff.js'
import { renderCluster } from '../../slurm/render.js'
import { isAdmin, requireAdmin } from '../../auth/policy.js'
import type { Store } from '../../store/types.js'
import type { RevisionService } from '../../revisions/service.js'
import { actorOf, principalOf } from '../auth.js'
import { HttpError } from '../errors.js'
import { sendJsonText, serializedView } from '../read-cache.js'
import { ClusterParams, PageOf, PageQuery, RevisionResult, errorResponses } from '../schemas.js'

const ClusterRecord = Type.Object({
  name: Type.String(), description: Type.String(), createdAt: Type.String(),
  latestRevision: Type.Integer(), appliedRevision: Type.Union([Type.Integer(), Type.Null()]),
})
const RevisionSummary = Type.Object({
  cluster: Type.String(), number: Type.Integer(), specHash: Type.String(), author: Type.String(), message: Type.String(), createdAt: Type.String(),
})
const RevisionParams = Type.Object({ cluster: Name, n: Type.Integer({ minimum: 1 }) }, { additionalProperties: false })
const MessageQuery = Type.Object({ message: Type.Optional(FreeText) }, { additionalProperties: false })

/** Parses `If-Match: "3"` (or `W/"3"`, `3`) to a revision number. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim())
  if (!match) throw new HttpError(400, 'BadRequest', 'If-Match must be the revision number as an ETag, e.g. "3"')
  return Number(match[1])
}

export function clusterRoutes(deps: { store: Store; revisions: RevisionService }): FastifyPluginAsyncTypebox {
  const { store, revisions } = deps
  return async (app) => {
    app.get('/clusters', {
      schema: { summary: 'List the clusters this service manages that the token may see (all for admins, its own for others)', querystring: PageQuery, response: { 200: PageOf(ClusterRecord), ...errorResponses } },
    }, async (request) => {
      const p = principalOf(request)
      const only = isAdmin(p) ? undefined : p.cluster === null ? [] : [p.cluster]
      return store.listClusters({ limit: request.query.limit ?? 50, cursor: request.query.cursor }, only)
    })

    app.post('/clusters', {
      schema: {
        summary: 'Register a cluster (admin)',
        body: Type.Object({ name: Name, description: Type.Optional(FreeText) }, { additionalProperties: false }),
        response: { 201: ClusterRecord, ...errorResponses },
      },
    }, async (request, reply) => {
      requireAdmin(principalOf(request), 'register clusters')
      const cluster = await store.createCluster(request.body.name, request.body.description ?? '')
      await store.appendAudit({ ...actorOf(request), cluster: cluster.name, action: 'cluster.create', resource: `clusters/${cluster.name}`, change: { after: cluster } })
      return reply.code(201).send(cluster)
    })

    app.get('/clusters/:cluster', {
      schema: { summary: 'One cluster: its newest and applied revisions', params: ClusterParams, response: { 200: ClusterRecord, ...errorResponses } },
    }, async (request) => store.getCluster(request.params.cluster))

    app.get('/clusters/:cluster/spec', {
      schema: {
        summary: 'The newest spec (admin); ETag is the revision; Accept: application/yaml for YAML',
        params: ClusterParams,
        response: { 200: Type.Object({}, { additionalProperties: true }), ...errorResponses },
      },
    }, async (request, reply) => {
      requireAdmin(principalOf(request), 'read the whole spec')
      const latest = await revisions.latest(request.params.cluster)
      reply.header('etag', `"${latest.number}"`)
      if (/yaml/.test(request.headers.accept ?? '')) return reply.type('application/yaml').send(stringify(latest.spec))
      return sendJsonText(reply, serializedView(latest, 'spec', () => latest.spec))
    })

    app.put('/clusters/:cluster/spec', {
      schema: {
        summary: 'Replace the spec (admin): a new revision; If-Match rejects a stale write with 409',
        params: ClusterParams,
        querystring: MessageQuery,
        body: Type.Union([Type.Object({}, { additionalProperties: true }), Type.String()]),
        response: { 200: RevisionResult, ...errorResponses },
      },
    }, async (request, reply) => {
      requireAdmin(principalOf(request), 'replace the spec')
      const value = typeof request.body === 'string' ? parseSpecText(request.body, 'request body') : request.body
      const { revision, warnings } = await revisions.put(request.params.cluster, value, actorOf(request), {
        principal: principalOf(request), message: request.query.message ?? 'replace the spec', expectedLatest: parseIfMatch(request.headers['if-match']),
      })
      reply.header('etag', `"${revision.number}"`)
      return { revision: revision.number, warnings }
    })

    app.get('/clusters/:cluster/revisions', {
      schema: { summary: 'Revisions, newest first (admin)', params: ClusterParams, querystring: PageQuery, response: { 200: PageOf(RevisionSummary), ...errorResponses } },
    }, async (request) => {
      requireAdmin(principalOf(request), 'read revisions')
      return store.listRevisions(request.params.cluster, { limit: request.query.limit ?? 50, cursor: request.query.cursor })
    })

    app.get('/clusters/:cluster/revisions/:n', {
      schema: {
        summary: 'One revision with its spec; ?diff=M gives the changes from revision M to this one (admin)',
        params: RevisionParams,
        querystring: Type.Object({ diff: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({}, { additionalProperties: true }), ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'read revisions')
      const revision = await store.getRevision(request.params.cluster, request.params.n)
      if (request.query.diff === undefined) return revision
      const base = await store.getRevision(request.params.cluster, request.query.diff)
      return { from: base.number, to: revision.number, changes: diffSpecs(base.spec, revision.spec) }
    })

    app.post('/clusters/:cluster/revisions/:n/rollback', {
      schema: { summary: 'Roll back: a new revision equal to revision n (admin)', params: RevisionParams, response: { 200: RevisionResult, ...errorResponses } },
    }, async (request) => {
      requireAdmin(principalOf(request), 'roll back')
      const old = await store.getRevision(request.params.cluster, request.params.n)
      const latest = await revisions.latest(request.params.cluster)
      const { revision, warnings } = await revisions.put(request.params.cluster, old.spec, actorOf(request), {
        principal: principalOf(request), message: `roll back to revision ${old.number}`, expectedLatest: latest.number, action: 'spec.rollback',
      })
      return { revision: revision.number, warnings }
    })

    app.get('/clusters/:cluster/render', {
      schema: {
        summary: 'Preview the files of the newest (or ?revision=) spec (admin)',
        params: ClusterParams,
        querystring: Type.Object({ revision: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }),
        response: { 200: Type.Object({ revision: Type.Integer(), files: Type.Array(Type.Object({ name: Type.String(), content: Type.String() })) }), ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'preview rendered files')
      const record = request.query.revision !== undefined
        ? await store.getRevision(request.params.cluster, request.query.revision)
        : await revisions.latest(request.params.cluster)
      return { revision: record.number, files: renderCluster(record.spec, { revision: record.number }) }
    })
  }
}

/** The audit log (read-only) and API tokens: cluster admins only. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { FreeText, Name, UserName } from '../../spec/names.js'
import { requireAdmin } from '../../auth/policy.js'
import { hashTokenSecret, newTokenSecret, tokenScopeProblem } from '../../auth/tokens.js'
import { StoreNotFoundError, type Store } from '../../store/types.js'
import { actorOf, principalOf } from '../auth.js'
import { HttpError } from '../errors.js'
import { PageOf, PageQuery, errorResponses } from '../schemas.js'

const Role = Type.Union([Type.Literal('admin'), Type.Literal('department-admin'), Type.Literal('researcher')])
const TokenRecord = Type.Object({
  id: Type.String(), role: Role, departments: Type.Array(Type.String()), user: Type.Union([Type.String(), Type.Null()]),
  cluster: Type.Union([Type.String(), Type.Null()], { description: 'the cluster a department-admin or researcher token is bound to; null for admin tokens (every cluster)' }),
  description: Type.String(), createdAt: Type.String(), createdBy: Type.String(), revokedAt: Type.Union([Type.String(), Type.Null()]),
})
const AuditRecord = Type.Object({
  id: Type.Integer(), at: Type.String(), actor: Type.String(), action: Type.String(), resource: Type.String(),
  cluster: Type.Union([Type.String(), Type.Null()]), change: Type.Unknown(), source: Type.String(),
})
const IsoTime = Type.String({ format: 'date-time', description: 'ISO-8601 time, e.g. 2026-11-23T08:00:00Z' })


/** A token is bound only to a cluster that exists (400 otherwise: the body is wrong, not the path). */
async function requireCluster(store: Store, cluster: string): Promise<void> {
  try {
    await store.getCluster(cluster)
  } catch (err) {
    if (err instanceof StoreNotFoundError) throw new HttpError(400, 'BadRequest', `cannot bind a token to cluster "${cluster}": no such cluster (register it first)`)
    throw err
  }
}

export function adminRoutes(deps: { store: Store; onTokenRevoked?: (id: string) => void }): FastifyPluginAsyncTypebox {
  const { store } = deps
  return async (app) => {
    app.get('/audit', {
      schema: {
        summary: 'The audit log, newest first, with filters (admin)',
        querystring: Type.Composite([PageQuery, Type.Object({
          cluster: Type.Optional(Name), actor: Type.Optional(Type.String({ maxLength: 100 })), action: Type.Optional(Type.String({ pattern: '^[a-zA-Z.-]{1,60}$' })),
          resource: Type.Optional(Type.String({ pattern: '^[a-zA-Z0-9/_-]{1,300}$' })), since: Type.Optional(IsoTime), until: Type.Optional(IsoTime),
        })], { additionalProperties: false }),
        response: { 200: PageOf(AuditRecord), ...errorResponses },
      },
    }, async (request) => {
      requireAdmin(principalOf(request), 'read the audit log')
      const { limit, cursor, ...filter } = request.query
      return store.listAudit(filter, { limit: limit ?? 50, cursor })
    })

    app.get('/tokens', {
      schema: { summary: 'API tokens, without secrets (admin)', querystring: PageQuery, response: { 200: PageOf(TokenRecord), ...errorResponses } },
    }, async (request) => {
      requireAdmin(principalOf(request), 'list tokens')
      return store.listTokens({ limit: request.query.limit ?? 50, cursor: request.query.cursor })
    })

    app.post('/tokens', {
      schema: {
        summary: 'Create a token (admin); the secret is in this response only',
        body: Type.Object({
          role: Role, departments: Type.Optional(Type.Array(Name, { maxItems: 100 })), user: Type.Optional(UserName),
          cluster: Type.Optional(Name), description: Type.Optional(FreeText),
        }, { additionalProperties: false }),
        response: { 201: Type.Composite([TokenRecord, Type.Object({ secret: Type.String() })]), ...errorResponses },
      },
    }, async (request, reply) => {
      requireAdmin(principalOf(request), 'create tokens')
      const { role, departments = [], user, cluster, description = '' } = request.body
      const problem = tokenScopeProblem(role, departments, user, cluster)
      if (problem) throw new HttpError(400, 'BadRequest', problem)
      if (cluster !== undefined) await requireCluster(store, cluster)
      const secret = newTokenSecret()
      const token = await store.createToken({ secretHash: hashTokenSecret(secret), role, departments, user: user ?? null, cluster: cluster ?? null, description, createdBy: actorOf(request).actor })
      await store.appendAudit({ ...actorOf(request), cluster: token.cluster, action: 'token.create', resource: `tokens/${token.id}`, change: { after: token } })
      return reply.code(201).send({ ...token, secret })
    })

    app.delete('/tokens/:id', {
      schema: { summary: 'Revoke a token (admin)', params: Type.Object({ id: Type.String({ pattern: '^[a-z]+_[a-f0-9]{6,40}$' }) }), response: { 204: Type.Null(), ...errorResponses } },
    }, async (request, reply) => {
      requireAdmin(principalOf(request), 'revoke tokens')
      await store.revokeToken(request.params.id)
      deps.onTokenRevoked?.(request.params.id)
      await store.appendAudit({ ...actorOf(request), cluster: null, action: 'token.revoke', resource: `tokens/${request.params.id}`, change: {} })
      return reply.code(204).send(null)
    })
  }
}

/**
 * One builder for the fine-grained resources of a spec (departments, supervisors, users,
 * QoS, partitions, node groups): list, get, create, replace, delete, each mutation a new
 * revision through the revision service, each guarded by the resource's access rules in
 * one order for every route: may the token read this kind of resource at all (403, the
 * same whatever exists), then does the item exist for it (404, the same for a hidden item
 * as for a missing one), then may it make this change (403).
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type TSchema } from '@sinclair/typebox'
import type { ClusterSpec } from '../../spec/schema.js'
import { itemNotFound, type Op } from '../../spec/edit.js'
import type { Principal } from '../../auth/policy.js'
import type { RevisionService } from '../../revisions/service.js'
import { actorOf, principalOf } from '../auth.js'
import { HttpError } from '../errors.js'
import { principalScope, sendJsonText, serializedView } from '../read-cache.js'
import { PageOf, PageQuery, RevisionResult, errorResponses } from '../schemas.js'

type Params = Record<string, string>

/** What `prepare` knows besides the body. */
export interface PrepareContext<T> {
  principal: Principal
  spec: ClusterSpec
  params: Params
  before: T | undefined
}

export interface Collection<T extends { name: string }> {
  /** Singular noun for messages and audit actions, e.g. `department`. */
  kind: string
  /** The noun in a missing item's message when it is not `kind` (e.g. `supervisor in department "nlp"`). */
  itemKind?(params: Params): string
  /** Route of the list, e.g. `/clusters/:cluster/departments`; items add `/:name`. */
  path: string
  listParams: TSchema
  itemParams: TSchema
  body: TSchema
  list(spec: ClusterSpec, params: Params): T[]
  find(spec: ClusterSpec, name: string, params: Params): T
  edit(spec: ClusterSpec, op: Op<T>, params: Params): ClusterSpec
  /**
   * Throws ForbiddenError unless `p` may read this kind of resource at all (whatever
   * exists), or the not-found error of a parent `p` may not see (a department's supervisors).
   */
  authorizeRead(p: Principal, spec: ClusterSpec, params: Params): void
  /** Whether `p` may see the item; one it may not is answered as missing. */
  visible(p: Principal, spec: ClusterSpec, item: T): boolean
  /** Throws ForbiddenError unless `p` may turn `before` into `after` (either may be undefined); the revision service checks the whole change again. */
  authorizeWrite(p: Principal, spec: ClusterSpec, params: Params, before: T | undefined, after: T | undefined): void
  /** Completes a body (e.g. a user's uid kept from before) on the spec the write applies to. */
  prepare?(item: T, context: PrepareContext<T>): T
  /** Names of the users in a body whose uid the service allocates if they have none. */
  allocateUids?(item: T): string[]
  /** Adds derived facts to an item for reading (e.g. a user's associations), as `p` may see them. */
  present?(item: T, spec: ClusterSpec, p: Principal): unknown
  /** Path of the resource in the audit log. */
  resource(params: Params, name: string): string
}

function page<T>(items: T[], limit: number, cursor: string | undefined): { items: T[]; nextCursor: string | null } {
  const start = cursor === undefined ? 0 : Number.parseInt(cursor, 10)
  if (!Number.isInteger(start) || start < 0) throw new HttpError(400, 'BadRequest', 'cursor is not one this API gave')
  const slice = items.slice(start, start + limit)
  return { items: slice, nextCursor: start + limit < items.length ? String(start + limit) : null }
}

/** Registers the five routes of `c` on `app`. */
export function registerCollection<T extends { name: string }>(app: FastifyInstance, revisions: RevisionService, c: Collection<T>): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()
  const item = `${c.path}/:name`
  const show = (t: T, spec: ClusterSpec, p: Principal): unknown => (c.present ? c.present(t, spec, p) : t)

  /** The item `name` as `p` may see it: read access first, then existence and visibility (one 404 for both). */
  const findVisible = (p: Principal, spec: ClusterSpec, params: Params, name: string): T => {
    c.authorizeRead(p, spec, params)
    const found = c.find(spec, name, params)
    if (!c.visible(p, spec, found)) throw itemNotFound(c.itemKind?.(params) ?? c.kind, name)
    return found
  }

  /**
   * Stores the result of a create, replace or remove as a new revision. Access is decided
   * on the very spec the edit applies to (the write is refused if another writer got in
   * between), so a concurrent change is neither lost nor authorized against stale data.
   */
  const write = async (request: Parameters<typeof actorOf>[0], kind: Op<T>['kind'], body: T | undefined, message: string) => {
    const params = request.params as Params
    const p = principalOf(request)
    const name = kind === 'create' ? (body as T).name : params.name as string
    let before: T | undefined
    let after: T | undefined
    return revisions.edit(params.cluster as string, (spec) => {
      if (kind === 'create') c.authorizeRead(p, spec, params)
      else before = findVisible(p, spec, params, name)
      c.authorizeWrite(p, spec, params, before, body)
      after = body && c.prepare ? c.prepare(body, { principal: p, spec, params, before }) : body
      const op: Op<T> = kind === 'create' ? { kind, item: after as T } : kind === 'replace' ? { kind, name, item: after as T } : { kind, name }
      return c.edit(spec, op, params)
    }, actorOf(request), {
      principal: p, message, action: `${c.kind.replace(/ /g, '-')}.${kind}`, resource: c.resource(params, name),
      audit: () => ({ before: before ?? null, after: after ?? null }),
      allocateUids: body && c.allocateUids ? c.allocateUids(body) : [],
    })
  }

  typed.get(c.path, {
    schema: { summary: `List ${c.kind}s`, params: c.listParams, querystring: PageQuery, response: { 200: PageOf(Type.Unknown()), ...errorResponses } },
  }, async (request, reply) => {
    const params = request.params as Params
    const record = await revisions.latest(params.cluster as string)
    const { spec } = record
    const p = principalOf(request)
    c.authorizeRead(p, spec, params)
    const query = request.query as { limit?: number; cursor?: string }
    // The page as this principal's scope sees it, serialized once per revision.
    const key = JSON.stringify(['list', c.path, principalScope(p), params, query.limit ?? 50, query.cursor ?? null])
    return sendJsonText(reply, serializedView(record, key, () => {
      const items = c.list(spec, params).filter((i) => c.visible(p, spec, i))
      const result = page(items, query.limit ?? 50, query.cursor)
      return { items: result.items.map((i) => show(i, spec, p)), nextCursor: result.nextCursor }
    }))
  })

  typed.get(item, {
    schema: { summary: `One ${c.kind}`, params: c.itemParams, response: { 200: Type.Unknown(), ...errorResponses } },
  }, async (request, reply) => {
    const params = request.params as Params
    const record = await revisions.latest(params.cluster as string)
    const p = principalOf(request)
    // Looked up (and access decided) once per scope and revision: a refusal throws and is not kept.
    const key = JSON.stringify(['item', c.path, principalScope(p), params])
    return sendJsonText(reply, serializedView(record, key, () => show(findVisible(p, record.spec, params, params.name as string), record.spec, p)))
  })

  typed.post(c.path, {
    schema: { summary: `Create a ${c.kind} (a new revision)`, params: c.listParams, body: c.body, response: { 201: RevisionResult, ...errorResponses } },
  }, async (request, reply) => {
    const body = request.body as T
    const { revision, warnings } = await write(request, 'create', body, `create ${c.kind} ${body.name}`)
    return reply.code(201).send({ revision: revision.number, warnings })
  })

  typed.put(item, {
    schema: { summary: `Replace a ${c.kind} (a new revision)`, params: c.itemParams, body: c.body, response: { 200: RevisionResult, ...errorResponses } },
  }, async (request) => {
    const params = request.params as Params
    const body = request.body as T
    if (body.name !== params.name) throw new HttpError(400, 'BadRequest', `the body's name "${body.name}" differs from the path's "${params.name}": renaming is delete and create`)
    const { revision, warnings } = await write(request, 'replace', body, `replace ${c.kind} ${params.name}`)
    return { revision: revision.number, warnings }
  })

  typed.delete(item, {
    schema: { summary: `Delete a ${c.kind} (a new revision)`, params: c.itemParams, response: { 200: RevisionResult, ...errorResponses } },
  }, async (request) => {
    const params = request.params as Params
    const { revision, warnings } = await write(request, 'remove', undefined, `delete ${c.kind} ${params.name}`)
    return { revision: revision.number, warnings }
  })
}

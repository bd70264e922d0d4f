/**
 * One builder for the fine-grained resources of a spec (departments, supervisors, users,
 * QoS, partitions, node groups): list, get, create, replace, delete, each mutation a new
 * revision through the revision service, each guarded by the resource's access rules.
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type TSchema } from '@sinclair/typebox'
import type { ClusterSpec } from '../../spec/schema.js'
import type { Op } from '../../spec/edit.js'
import type { Principal } from '../../auth/policy.js'
import type { RevisionService } from '../../revisions/service.js'
import { actorOf, principalOf } from '../auth.js'
import { HttpError } from '../errors.js'
import { PageOf, PageQuery, RevisionResult, errorResponses } from '../schemas.js'

type Params = Record<string, string>

export interface Collection<T extends { name: string }> {
  /** Singular noun for messages and audit actions, e.g. `department`. */
  kind: string
  /** Route of the list, e.g. `/clusters/:cluster/departments`; items add `/:name`. */
  path: string
  listParams: TSchema
  itemParams: TSchema
  body: TSchema
  list(spec: ClusterSpec, params: Params): T[]
  find(spec: ClusterSpec, name: string, params: Params): T
  edit(spec: ClusterSpec, op: Op<T>, params: Params): ClusterSpec
  /** Throws ForbiddenError unless `p` may see the list or the item. */
  authorizeRead(p: Principal, spec: ClusterSpec, params: Params, item?: T): void
  /** Throws ForbiddenError unless `p` may turn `before` into `after` (either may be undefined). */
  authorizeWrite(p: Principal, spec: ClusterSpec, params: Params, before: T | undefined, after: T | undefined): void
  /** Filters the list to what `p` may see. */
  visible?(p: Principal, spec: ClusterSpec, item: T): boolean
  /** Completes a body (e.g. a uid for a user without one) after access was checked. */
  prepare?(item: T, params: Params, before: T | undefined): Promise<T>
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
  /**
   * Stores the result of `op` as a new revision. The item's `before` is read from the very
   * spec the edit applies to (the write is refused if another writer got in between), and
   * access is checked against it there, so a concurrent change is neither lost nor
   * authorized against stale data.
   */
  const write = async (params: Params, request: Parameters<typeof actorOf>[0], op: Op<T>, message: string, after: T | undefined) => {
    const action = `${c.kind.replace(/ /g, '-')}.${op.kind}`
    let before: T | undefined
    const result = await revisions.edit(params.cluster as string, (spec) => {
      before = op.kind === 'create' ? undefined : c.find(spec, op.name, params)
      c.authorizeWrite(principalOf(request), spec, params, before, after)
      return c.edit(spec, op, params)
    }, actorOf(request), { message, action, resource: c.resource(params, op.name ?? after?.name ?? ''), audit: () => ({ before: before ?? null, after: after ?? null }) })
    return result
  }

  typed.get(c.path, {
    schema: { summary: `List ${c.kind}s`, params: c.listParams, querystring: PageQuery, response: { 200: PageOf(Type.Unknown()), ...errorResponses } },
  }, async (request) => {
    const params = request.params as Params
    const { spec } = await revisions.latest(params.cluster as string)
    const p = principalOf(request)
    c.authorizeRead(p, spec, params)
    const items = c.list(spec, params).filter((i) => !c.visible || c.visible(p, spec, i))
    const query = request.query as { limit?: number; cursor?: string }
    const result = page(items, query.limit ?? 50, query.cursor)
    return { items: result.items.map((i) => show(i, spec, p)), nextCursor: result.nextCursor }
  })

  typed.get(item, {
    schema: { summary: `One ${c.kind}`, params: c.itemParams, response: { 200: Type.Unknown(), ...errorResponses } },
  }, async (request) => {
    const params = request.params as Params
    const { spec } = await revisions.latest(params.cluster as string)
    const found = c.find(spec, params.name as string, params)
    const p = principalOf(request)
    c.authorizeRead(p, spec, params, found)
    return show(found, spec, p)
  })

  typed.post(c.path, {
    schema: { summary: `Create a ${c.kind} (a new revision)`, params: c.listParams, body: c.body, response: { 201: RevisionResult, ...errorResponses } },
  }, async (request, reply) => {
    const params = request.params as Params
    // Checked before anything is allocated: a refused create leaves no trace.
    const { spec } = await revisions.latest(params.cluster as string)
    c.authorizeWrite(principalOf(request), spec, params, undefined, request.body as T)
    const body = c.prepare ? await c.prepare(request.body as T, params, undefined) : (request.body as T)
    const { revision, warnings } = await write(params, request, { kind: 'create', item: body }, `create ${c.kind} ${body.name}`, body)
    return reply.code(201).send({ revision: revision.number, warnings })
  })

  typed.put(item, {
    schema: { summary: `Replace a ${c.kind} (a new revision)`, params: c.itemParams, body: c.body, response: { 200: RevisionResult, ...errorResponses } },
  }, async (request) => {
    const params = request.params as Params
    const body = request.body as T
    if (body.name !== params.name) throw new HttpError(400, 'BadRequest', `the body's name "${body.name}" differs from the path's "${params.name}": renaming is delete and create`)
    // Checked before anything is allocated; checked again on the spec the write applies to.
    const { spec } = await revisions.latest(params.cluster as string)
    const before = c.find(spec, params.name, params)
    c.authorizeWrite(principalOf(request), spec, params, before, body)
    const after = c.prepare ? await c.prepare(body, params, before) : body
    const { revision, warnings } = await write(params, request, { kind: 'replace', name: params.name, item: after }, `replace ${c.kind} ${params.name}`, after)
    return { revision: revision.number, warnings }
  })

  typed.delete(item, {
    schema: { summary: `Delete a ${c.kind} (a new revision)`, params: c.itemParams, response: { 200: RevisionResult, ...errorResponses } },
  }, async (request) => {
    const params = request.params as Params
    const { revision, warnings } = await write(params, request, { kind: 'remove', name: params.name as string }, `delete ${c.kind} ${params.name}`, undefined)
    return { revision: revision.number, warnings }
  })
}

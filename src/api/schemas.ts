/** Request and response building blocks shared by the routes. */
import { Type, type TSchema } from '@sinclair/typebox'
import { Name, UserName } from '../spec/names.js'

export const ProblemSchema = Type.Object({
  path: Type.String(),
  message: Type.String(),
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
})

export const ErrorBody = Type.Object({
  error: Type.String(),
  message: Type.String(),
  details: Type.Array(Type.Object({
    path: Type.String(),
    message: Type.String(),
    severity: Type.Optional(Type.String()),
  })),
}, { description: 'every error response: a code, a sentence, and the offending paths' })

/** The error responses every authenticated route may give. */
export const errorResponses = {
  400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, 429: ErrorBody,
}

export const ClusterParams = Type.Object({ cluster: Name }, { additionalProperties: false })
export const NamedParams = Type.Object({ cluster: Name, name: Name }, { additionalProperties: false })
export const UserParams = Type.Object({ cluster: Name, name: UserName }, { additionalProperties: false })

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
}, { additionalProperties: false })

/** A page of `item`s with the cursor of the next page. */
export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) })
}

/** What a mutation answers: the new revision and any warnings of the new spec. */
export const RevisionResult = Type.Object({
  revision: Type.Integer(),
  warnings: Type.Array(ProblemSchema),
})

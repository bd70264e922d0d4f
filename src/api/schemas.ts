/** Response building blocks shared by the routes. */
import { Type } from '@sinclair/typebox'

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

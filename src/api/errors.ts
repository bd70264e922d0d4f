/**
 * One error handler for the API: named domain errors map to status codes with
 * `{error, message, details}`; anything unexpected is a 500 that leaks no internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify'
import { SpecInvalidError, SpecUnreadableError } from '../spec/problems.js'

export interface ErrorBody {
  error: string
  message: string
  details: Array<{ path: string; message: string }>
}

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof SpecInvalidError) {
      return reply.code(400).send({
        error: 'SpecInvalid',
        message: err.message,
        details: err.problems.map((p) => ({ path: p.path, message: p.message, severity: p.severity })),
      })
    }
    if (err instanceof SpecUnreadableError) {
      return reply.code(400).send({ error: 'SpecUnreadable', message: err.message, details: [] })
    }
    const fe = err as FastifyError
    if (fe.validation) {
      return reply.code(400).send({
        error: 'BadRequest',
        message: 'the request does not match the schema',
        details: fe.validation.map((v) => ({ path: `${fe.validationContext ?? 'body'}${v.instancePath}`, message: v.message ?? 'invalid' })),
      })
    }
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.code(fe.statusCode).send({ error: fe.code ?? 'BadRequest', message: fe.message, details: [] })
    }
    request.log.error({ err }, 'request failed')
    return reply.code(500).send({ error: 'Internal', message: 'internal error; see the service log', details: [] })
  })
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: 'NotFound', message: `no route ${request.method} ${request.url}`, details: [] })
  })
}

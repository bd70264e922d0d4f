/**
 * The Fastify application as a plugin: body parsers, error handling and the route
 * plugins. `server.ts` alone listens; tests build this and use `app.inject()`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { installErrorHandler } from './errors.js'
import { specRoutes } from './routes/spec.js'

/** Largest request body: a spec for a 65,536-node cluster with many users fits. */
export const BODY_LIMIT = 8 * 1024 * 1024

/** Builds the application (not listening). */
export async function buildApp(options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    ...options,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()
  installErrorHandler(app)
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    done(null, body)
  })
  app.get('/healthz', {
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }))
  await app.register(specRoutes, { prefix: '/v1' })
  return app
}

/**
 * `GET /v1/schema`: the JSON Schema of the cluster spec, public (editors fetch it
 * without a token; it holds no data), cacheable, with a strong ETag so a client that has
 * it gets 304.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { specJsonSchemaDocument } from '../../spec/json-schema.js'

export const schemaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { text, etag } = specJsonSchemaDocument()
  app.get('/schema', {
    schema: {
      summary: 'The JSON Schema (draft-07) of the cluster spec, for editors and tools; structure only, the semantic rules need /v1/validate',
      security: [],
      headers: Type.Object({ 'if-none-match': Type.Optional(Type.String()) }),
      response: {
        200: Type.Unknown({ description: 'a JSON Schema document (application/schema+json)' }),
        304: Type.Null({ description: 'the client\'s copy (If-None-Match) is current' }),
      },
    },
  }, async (request, reply) => {
    reply.header('etag', etag).header('cache-control', 'public, max-age=3600')
    const ifNoneMatch = request.headers['if-none-match']
    if (ifNoneMatch && ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*')) {
      return reply.code(304).send(null)
    }
    return reply.type('application/schema+json; charset=utf-8').send(text)
  })
}

/**
 * Stateless spec routes: validate a spec, or render it to the managed files. The body is
 * a spec as JSON, or YAML with `Content-Type: application/yaml`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { parseSpecText, acceptSpec } from '../../spec/load.js'
import { validateSpec } from '../../spec/validate.js'
import { renderCluster } from '../../slurm/render.js'
import { SpecInvalidError } from '../../spec/problems.js'
import { ErrorBody, ProblemSchema } from '../schemas.js'

const SpecBody = Type.Union([Type.Object({}, { additionalProperties: true }), Type.String()], {
  description: 'a cluster spec (spec-format.md) as JSON, or YAML text with Content-Type application/yaml',
})

function asValue(body: unknown): unknown {
  return typeof body === 'string' ? parseSpecText(body, 'request body') : body
}

export const specRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/validate', {
    schema: {
      summary: 'Validate a cluster spec: every problem at once, with its path',
      body: SpecBody,
      response: {
        200: Type.Object({ ok: Type.Boolean(), errors: Type.Array(ProblemSchema) }),
        400: ErrorBody,
      },
    },
  }, async (request) => validateSpec(asValue(request.body)))

  app.post('/render', {
    schema: {
      summary: 'Render a cluster spec to slurm.conf, gres.conf, cgroup.conf and the rest',
      body: SpecBody,
      response: {
        200: Type.Object({
          hash: Type.String(),
          warnings: Type.Array(ProblemSchema),
          files: Type.Array(Type.Object({ name: Type.String(), content: Type.String() })),
        }),
        400: ErrorBody,
      },
    },
  }, async (request) => {
    // Any invalid spec is a 400 here: this route only says whether the body renders.
    let loaded
    try {
      loaded = acceptSpec(asValue(request.body))
    } catch (err) {
      if (err instanceof SpecInvalidError) throw new SpecInvalidError(err.problems, 'structure')
      throw err
    }
    return { hash: loaded.hash, warnings: loaded.warnings, files: renderCluster(loaded.spec) }
  })
}

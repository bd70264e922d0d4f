/**
 * Spec routes: validate a spec, or render it to the managed files. The body is a spec as
 * JSON, or YAML with `Content-Type: application/yaml`. They read no stored state but
 * cost CPU in proportion to the spec, so they take a token (any role) and are rate
 * limited per token (429 with Retry-After); the spec's own limits (`maxItems`,
 * `maxLength`, the partition-text budget) bound what one request can cost and return.
 * The body reaches a worker thread as text, which parses, validates and renders it: the
 * event loop only copies strings, however large the spec.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import rateLimit from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { SpecPoolBusyError, SpecPoolTimeoutError, type SpecPool } from '../../spec/pool.js'
import { ErrorBody, ProblemSchema } from '../schemas.js'
import { HttpError } from '../errors.js'
import { principalOf } from '../auth.js'

const SpecBody = Type.Union([Type.Object({}, { additionalProperties: true }), Type.String()], {
  description: 'a cluster spec (spec-format.md) as JSON, or YAML text with Content-Type application/yaml',
})

/** Requests per token and window for each spec route. */
export interface SpecRateLimits {
  validate: { max: number; windowMs: number }
  render: { max: number; windowMs: number }
}

/** The documented defaults (README "Limits"): 60 validations and 30 renders a minute per token. */
export const DEFAULT_SPEC_RATE_LIMITS: SpecRateLimits = {
  validate: { max: 60, windowMs: 60_000 },
  render: { max: 30, windowMs: 60_000 },
}

const authErrors = { 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 503: ErrorBody }
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml']

/**
 * Runs a job in the pool and sends its JSON text as it is (the worker serialised it; the
 * response schema documents it). A full queue or a job over its time limit is a 503.
 */
async function inPool(pool: SpecPool, op: 'validate' | 'render', request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  try {
    const json = await pool.run(op, YAML_TYPES.includes(type) ? 'yaml' : 'json', request.body as string)
    return reply.type('application/json; charset=utf-8').send(json)
  } catch (err) {
    if (err instanceof SpecPoolBusyError || err instanceof SpecPoolTimeoutError) {
      throw new HttpError(503, 'Busy', err.message, { 'retry-after': '5' })
    }
    throw err
  }
}

/** Keyed by the token, so one client's burst does not spend another's allowance. */
const byToken = (request: FastifyRequest): string => principalOf(request).tokenId

function limit(route: keyof SpecRateLimits, limits: SpecRateLimits) {
  return {
    rateLimit: {
      max: limits[route].max,
      timeWindow: limits[route].windowMs,
      keyGenerator: byToken,
      // After authentication (onRequest), before the body is parsed: a client over its
      // limit costs no parsing.
      hook: 'preParsing' as const,
      errorResponseBuilder: (_request: FastifyRequest, context: { max: number; after: string; ttl: number }) => new HttpError(
        429, 'TooManyRequests', `at most ${context.max} ${route} requests per token every ${limits[route].windowMs / 1000} s; try again in ${context.after}`,
        { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      ),
    },
  }
}

/** The validate and render routes; register them in an authenticated scope. */
export function specRoutes(pool: SpecPool, limits: SpecRateLimits = DEFAULT_SPEC_RATE_LIMITS): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(rateLimit, { global: false })
    // The body stays text here (JSON or YAML): the worker parses it.
    app.removeAllContentTypeParsers()
    app.addContentTypeParser(['application/json', ...YAML_TYPES], { parseAs: 'string' }, (_request, body, done) => done(null, body))

    app.post('/validate', {
      config: limit('validate', limits),
      schema: {
        summary: 'Validate a cluster spec: every problem at once, with its path (any token; rate limited)',
        body: SpecBody,
        response: {
          200: Type.Object({ ok: Type.Boolean(), errors: Type.Array(ProblemSchema) }),
          ...authErrors,
        },
      },
    }, async (request, reply) => inPool(pool, 'validate', request, reply))

    app.post('/render', {
      config: limit('render', limits),
      schema: {
        summary: 'Render a cluster spec to slurm.conf, gres.conf, cgroup.conf and the rest (any token; rate limited)',
        body: SpecBody,
        response: {
          200: Type.Object({
            hash: Type.String(),
            warnings: Type.Array(ProblemSchema),
            files: Type.Array(Type.Object({ name: Type.String(), content: Type.String() })),
          }),
          ...authErrors,
        },
      },
    }, async (request, reply) => inPool(pool, 'render', request, reply))
  }
}

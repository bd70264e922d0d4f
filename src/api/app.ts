/**
 * The Fastify application as a plugin: body parsers, error handling, authentication and
 * the route plugins. `server.ts` alone listens; tests build this and use `app.inject()`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Store } from '../store/types.js'
import { withClusterReads } from '../store/cluster-reads.js'
import { createRevisionService } from '../revisions/service.js'
import type { FailureLimiter } from '../auth/failure-limiter.js'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { installErrorHandler } from './errors.js'
import { checkJsonNesting } from '../spec/nesting.js'
import type { ValidationResult } from '../spec/problems.js'
import { installAuth } from './auth.js'
import { createTokenCache, TOKEN_CACHE_MS } from '../auth/token-cache.js'
import { cachedReads, LATEST_CACHE_MS } from './read-cache.js'
import { specRoutes, type SpecRateLimits } from './routes/spec.js'
import { createSpecPool, type SpecPool } from '../spec/pool.js'
import { schemaRoutes } from './routes/schema.js'
import { clusterRoutes } from './routes/clusters.js'
import { resourceRoutes } from './routes/resources.js'
import { adminRoutes } from './routes/admin.js'
import { applyRoutes } from './routes/applies.js'
import type { ApplyEngine } from '../apply/engine.js'
import { loginNodeRoutes, type LoginAccessFactory } from './routes/login-nodes.js'
import { identityRoutes } from './routes/identity.js'
import { identitySourceFor, type IdentitySourceFactory } from '../adapters/identity-sources.js'
import { clusterStateRoutes } from './routes/cluster-state.js'
import type { ClusterStateService } from '../cluster-state/read.js'
import type { UsageProvider } from '../me/me.js'
import { dashboard } from '../ui/plugin.js'
import type { SessionStore } from '../ui/sessions.js'
import { budgetRoutes } from './routes/budgets.js'
import type { BudgetService } from '../budgets/service.js'
import type { AwsBudgetService } from '../budgets/aws-service.js'

/** Largest request body: a spec for a 65,536-node cluster with many users fits. */
export const BODY_LIMIT = 8 * 1024 * 1024

export interface AppDeps {
  /** Without a store only /healthz exists: every /v1 route, validate and render too, takes a token. */
  store?: Store
  /** Per-token limits of /v1/validate and /v1/render (defaults: DEFAULT_SPEC_RATE_LIMITS). */
  specRateLimits?: SpecRateLimits
  /** Worker threads for validate and render (default: one worker, closed with the app). */
  specPool?: SpecPool
  /** First uid the allocator hands out to users created without one. */
  uidBase?: number
  authLimiter?: FailureLimiter
  /** How long a valid token is trusted without asking the store (ms; default TOKEN_CACHE_MS, 5 s; 0: every request asks). */
  tokenCacheMs?: number
  /** How long a cluster's newest revision number, and the cluster records the dashboard and /gpus show, are trusted without asking the store (ms; default LATEST_CACHE_MS, 500 ms; 0: every read asks). */
  latestCacheMs?: number
  /** Plan, apply and drift need a controller; without an engine those routes do not exist. */
  engine?: ApplyEngine
  /** How to reach a cluster's login pools; without it the login-node routes do not exist. */
  loginAccess?: LoginAccessFactory
  /** The directory of a cluster's spec for identity syncs (default: the one `identity` names). */
  identitySources?: IdentitySourceFactory
  /** Live cluster reads (GPUs, node events); without it /gpus, /reliability and the dashboard's live panels do not exist. */
  clusterState?: ClusterStateService
  /** Usage and budgets (issue 10) for /v1/me and the dashboard; without it they say "not available in this version". */
  usageProvider?: UsageProvider
  /** Serve the dashboard under /ui (default true when there is a store). */
  dashboard?: boolean
  /** The dashboard's session store (default: one in memory with the default lifetimes). */
  dashboardSessions?: SessionStore
  /** Usage and budgets (they read Slurm accounting); without it those routes do not exist. */
  budgets?: BudgetService
  /** The cluster's AWS Budget and the monthly reconciliation; without it POST .../budgets/aws and GET .../budgets/reconcile do not exist. */
  awsBudgets?: AwsBudgetService
}

/** Builds the application (not listening). */
export async function buildApp(deps: AppDeps = {}, options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    ...options,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true, useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>()
  installErrorHandler(app)
  await app.register(swagger, {
    openapi: {
      info: { title: 'HPC Steward', version: '1', description: 'The multi-tenant side of a shared Slurm cluster' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  // JSON bodies: the nesting limit first (a million `[` would overflow every recursive
  // step after JSON.parse), then Fastify's own parser with its prototype-poisoning guard.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    try {
      checkJsonNesting(body as string, 'request body')
    } catch (err) {
      done(err as Error, undefined)
      return
    }
    parseJson(request, body as string, done)
  })
  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    done(null, body)
  })
  app.get('/healthz', {
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }))
  await app.register(schemaRoutes, { prefix: '/v1' })
  // Writes through the app's store empty the display cache of cluster records at once
  // (src/store/cluster-reads.ts); writes made elsewhere are seen within latestCacheMs.
  const store = deps.store ? withClusterReads(deps.store, { ttlMs: deps.latestCacheMs ?? LATEST_CACHE_MS }) : undefined
  if (store) {
    const pool = deps.specPool ?? createSpecPool()
    if (!deps.specPool) app.addHook('onClose', async () => pool.close())
    // Stored specs are checked in the pool too: a 1 MB spec's rules take longer than the
    // event loop may be held (see bench limits).
    const revisions = createRevisionService(store, {
      uidBase: deps.uidBase,
      validate: async (spec) => JSON.parse(await pool.run('validate', 'json', JSON.stringify(spec))) as ValidationResult,
    })
    const tokens = createTokenCache(store, { ttlMs: deps.tokenCacheMs ?? TOKEN_CACHE_MS })
    // GET routes read the newest revision through a per-revision cache (revisions never
    // change); every write below goes through `reads` too, so it is seen by the next read.
    const reads = cachedReads(revisions, store, { latestMs: deps.latestCacheMs ?? LATEST_CACHE_MS })
    await app.register(async (scope) => {
      installAuth(scope, { store, limiter: deps.authLimiter, tokens })
      await scope.register(specRoutes(pool, deps.specRateLimits))
      await scope.register(clusterRoutes({ store, revisions: reads }))
      await scope.register(resourceRoutes({ revisions: reads }))
      await scope.register(adminRoutes({ store, onTokenRevoked: (id) => tokens.forget(id) }))
      if (deps.engine) await scope.register(applyRoutes({ store, engine: deps.engine }))
      await scope.register(identityRoutes({ revisions: { ...reads, latest: (cluster) => revisions.latest(cluster) }, sources: deps.identitySources ?? identitySourceFor }))
      if (deps.budgets) await scope.register(budgetRoutes({ store, budgets: deps.budgets, ...(deps.awsBudgets ? { aws: deps.awsBudgets } : {}) }))
      if (deps.loginAccess) await scope.register(loginNodeRoutes({ store, access: deps.loginAccess, log: (message, err) => scope.log.error({ err }, message) }))
      await scope.register(clusterStateRoutes({ store, ...(deps.clusterState ? { state: deps.clusterState } : {}), ...(deps.usageProvider ? { usage: deps.usageProvider } : {}) }))
    }, { prefix: '/v1' })
    if (deps.dashboard !== false) {
      await app.register(dashboard({ store, ...(deps.clusterState ? { state: deps.clusterState } : {}), ...(deps.usageProvider ? { usage: deps.usageProvider } : {}), ...(deps.budgets ? { budgets: deps.budgets } : {}), ...(deps.engine ? { engine: deps.engine } : {}), ...(deps.loginAccess ? { loginAccess: deps.loginAccess } : {}), ...(deps.dashboardSessions ? { sessions: deps.dashboardSessions } : {}), tokens }), { prefix: '/ui' })
    }
  }
  return app
}

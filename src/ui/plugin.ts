/**
 * The dashboard under /ui: server-rendered pages (templates/ui), sign-in with an API
 * token into a server-side session (src/ui/sessions.ts), CSRF tokens in every form and a
 * Content-Security-Policy without inline script. Every page reads through the same
 * functions and the same policy as the REST API (src/auth/policy.ts), so a department
 * admin sees here exactly what the API would show them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import { Type } from '@sinclair/typebox'
import { bearerSecret, hashTokenSecret } from '../auth/tokens.js'
import { createFailureLimiter, type FailureLimiter } from '../auth/failure-limiter.js'
import type { TokenCache } from '../auth/token-cache.js'
import { isAdmin, type Principal } from '../auth/policy.js'
import type { Store, TokenRecord } from '../store/types.js'
import { CLUSTER_LIST_LIMIT, hasClusterReads } from '../store/cluster-reads.js'
import { principalFor } from '../api/auth.js'
import type { ClusterStateService } from '../cluster-state/read.js'
import type { UsageProvider } from '../me/me.js'
import type { BudgetService } from '../budgets/service.js'
import type { ApplyEngine } from '../apply/engine.js'
import type { LoginAccessFactory } from '../api/routes/login-nodes.js'
import { createSessionStore, randomId, sameSecret, type Session, type SessionStore } from './sessions.js'
import { createRenderer, type PageContext, type Renderer } from './render.js'
import { pageRoutes } from './pages.js'

const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f5fbf"/><rect x="3" y="8" width="2" height="5" fill="#fff"/><rect x="7" y="5" width="2" height="8" fill="#fff"/><rect x="11" y="3" width="2" height="10" fill="#fff"/></svg>'

export const SESSION_COOKIE = 'stw_session'
const LOGIN_COOKIE = 'stw_login'

/** No inline script anywhere (no script at all); styles from our own stylesheet only. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

export interface DashboardDeps {
  store: Store
  state?: ClusterStateService
  usage?: UsageProvider
  /** Usage and budgets (issue 10): the usage and budgets page. */
  budgets?: BudgetService
  engine?: ApplyEngine
  loginAccess?: LoginAccessFactory
  sessions?: SessionStore
  limiter?: FailureLimiter
  /** Token lookups of signed-in sessions (default: straight from the store; the app passes the API's cache, TOKEN_CACHE_MS). */
  tokens?: Pick<TokenCache, 'lookup'> & Partial<Pick<TokenCache, 'peek'>>
  renderer?: Renderer
}

declare module 'fastify' {
  interface FastifyRequest {
    uiSession?: Session
  }
}

/** What every page handler gets: who is signed in and how to render. */
export interface UiContext {
  store: Store
  state?: ClusterStateService
  usage?: UsageProvider
  budgets?: BudgetService
  loginAccess?: LoginAccessFactory
  renderer: Renderer
  /** The visible clusters and the navigation of a page about `cluster`. */
  nav(request: FastifyRequest, cluster: string | null): Promise<NonNullable<PageContext['nav']>>
  principal(request: FastifyRequest): Principal
}

const secureCookie = (request: FastifyRequest): boolean => request.protocol === 'https'

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(body)
}

/** The dashboard plugin; register it with prefix `/ui`. */
export function dashboard(deps: DashboardDeps): FastifyPluginAsyncTypebox {
  const sessions = deps.sessions ?? createSessionStore()
  const limiter = deps.limiter ?? createFailureLimiter({ maxFailures: 20, windowMs: 60_000 })
  const tokens = deps.tokens ?? { lookup: (secretHash: string) => deps.store.findTokenBySecretHash(secretHash) }
  return async (app) => {
    const renderer = deps.renderer ?? createRenderer()
    await app.register(cookie)
    await app.register(formbody, { bodyLimit: 16 * 1024 })

    // A callback hook: no promise per response.
    app.addHook('onSend', (_request, reply, payload, done) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
      reply.header('x-content-type-options', 'nosniff')
      reply.header('referrer-policy', 'no-referrer')
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
      done(null, payload)
    })

    const toSignIn = (reply: FastifyReply, request: FastifyRequest, why?: string): FastifyReply => {
      reply.clearCookie(SESSION_COOKIE, { path: '/ui', httpOnly: true, sameSite: 'strict', secure: secureCookie(request) })
      return reply.redirect(why ? `/ui/login?why=${why}` : '/ui/login', 303)
    }

    // The error page of a refused or missing item: the same status codes as the API.
    app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
      const status = err.name === 'ForbiddenError' ? 403 : err.name === 'StoreNotFoundError' ? 404 : (err.statusCode ?? 500)
      if (status >= 500) request.log.error({ err }, 'dashboard page failed')
      const message = status >= 500 ? 'Something went wrong on the server; see its log.' : err.message
      return html(reply, status, renderer.page('error', { title: `Error ${status}`, status, message }))
    })

    app.get('/static/ui.css', { schema: { hide: true } }, async (_request, reply) => {
      return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(renderer.css)
    })

    app.get('/static/favicon.svg', { schema: { hide: true } }, async (_request, reply) => {
      return reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON)
    })

    app.get('/login', {
      schema: { hide: true, querystring: Type.Object({ why: Type.Optional(Type.Union([Type.Literal('expired'), Type.Literal('revoked'), Type.Literal('signed-out')])) }, { additionalProperties: false }) },
    }, async (request, reply) => {
      const csrf = randomId()
      reply.setCookie(LOGIN_COOKIE, csrf, { path: '/ui/login', httpOnly: true, sameSite: 'strict', secure: secureCookie(request), maxAge: 900 })
      const why = request.query.why
      const notice = why === 'expired' ? 'Your session has ended; sign in again.' : why === 'revoked' ? 'Your token was revoked or is no longer valid; sign in with another.' : why === 'signed-out' ? 'You are signed out.' : undefined
      return html(reply, 200, renderer.page('login', { title: 'Sign in', csrf, notice }))
    })

    app.post('/login', {
      schema: { hide: true, body: Type.Object({ token: Type.String({ maxLength: 300 }), _csrf: Type.String({ maxLength: 100 }) }, { additionalProperties: false }) },
    }, async (request, reply) => {
      if (!sameSecret(request.body._csrf, request.cookies[LOGIN_COOKIE])) {
        return html(reply, 403, renderer.page('error', { title: 'Refused', status: 403, message: 'The sign-in form was not the one this server gave you (missing or wrong CSRF token). Reload the sign-in page.' }))
      }
      const secret = bearerSecret(`Bearer ${request.body.token.trim()}`)
      const token = secret ? await deps.store.findTokenBySecretHash(hashTokenSecret(secret)) : null
      if (!token || token.revokedAt) {
        if (!limiter.allowed(request.ip)) return html(reply, 429, renderer.page('error', { title: 'Too many attempts', status: 429, message: `Too many failed sign-ins from this address; try again in ${limiter.retryAfter(request.ip)} s.` }))
        limiter.fail(request.ip)
        return html(reply, 401, renderer.page('login', { title: 'Sign in', csrf: request.body._csrf, error: 'That token is unknown or revoked.' }))
      }
      const session = sessions.create(hashTokenSecret(secret as string))
      reply.clearCookie(LOGIN_COOKIE, { path: '/ui/login' })
      reply.setCookie(SESSION_COOKIE, session.id, { path: '/ui', httpOnly: true, sameSite: 'strict', secure: secureCookie(request) })
      return reply.redirect('/ui', 303)
    })

    // Everything else needs a live session whose token is still valid.
    await app.register(async (scope: FastifyInstance) => {
      // A callback hook: a session whose token is cached is admitted without a promise.
      scope.addHook('onRequest', (request, reply, done) => {
        const id = request.cookies[SESSION_COOKIE]
        const session = sessions.get(id)
        if (!session) {
          toSignIn(reply, request, id ? 'expired' : undefined)
          return
        }
        // Through the API's token cache: a token revoked through this service ends the
        // session at once, one revoked elsewhere within the cache's lifetime (5 s).
        const admit = (token: TokenRecord | null | undefined): void => {
          if (!token || token.revokedAt) {
            sessions.delete(session.id)
            toSignIn(reply, request, 'revoked')
            return
          }
          request.uiSession = session
          // The API's principal of this token record (frozen, one per cached record): views cached per principal scope know it.
          request.principal = principalFor(token)
          done()
        }
        const cached = tokens.peek?.(session.secretHash)
        if (cached) admit(cached)
        else tokens.lookup(session.secretHash).then(admit, (err: unknown) => done(err as Error))
      })
      // Every POST carries the session's CSRF token (a form field), or is refused.
      scope.addHook('preHandler', (request, reply, done) => {
        if (request.method !== 'POST') {
          done()
          return
        }
        const sent = (request.body as { _csrf?: unknown } | undefined)?._csrf
        if (!sameSecret(typeof sent === 'string' ? sent : undefined, request.uiSession?.csrf)) {
          html(reply, 403, renderer.page('error', { title: 'Refused', status: 403, message: 'This form did not carry this session\'s CSRF token; it was refused. Go back, reload the page and try again.' }))
          return
        }
        done()
      })

      const principal = (request: FastifyRequest): Principal => {
        if (!request.principal) throw new Error('no principal on a dashboard request')
        return request.principal
      }
      const ui: UiContext = {
        store: deps.store,
        ...(deps.state ? { state: deps.state } : {}),
        ...(deps.usage ? { usage: deps.usage } : {}),
        ...(deps.budgets ? { budgets: deps.budgets } : {}),
        ...(deps.loginAccess ? { loginAccess: deps.loginAccess } : {}),
        renderer,
        principal,
        async nav(request, cluster) {
          const p = principal(request)
          const only = isAdmin(p) ? undefined : p.cluster === null ? [] : [p.cluster]
          // Cached for a short time (src/store/cluster-reads.ts) when the store has cluster reads (the app's has).
          const items = hasClusterReads(deps.store) ? await deps.store.clusterReads.clusters(only) : (await deps.store.listClusters({ limit: CLUSTER_LIST_LIMIT }, only)).items
          const who = p.user ? `${p.user} (${p.role})` : p.role === 'department-admin' ? `department admin of ${p.departments.join(', ')}` : p.role
          return { clusters: items.map((c) => ({ name: c.name, current: c.name === cluster })), cluster, isAdmin: isAdmin(p), role: p.role, csrf: request.uiSession?.csrf ?? '', who }
        },
      }

      scope.get('/', { schema: { hide: true } }, async (request, reply) => {
        const nav = await ui.nav(request, null)
        const first = nav.clusters[0]
        if (first) return reply.redirect(`/ui/clusters/${first.name}`, 303)
        return html(reply, 200, renderer.page('error', { title: 'No cluster', status: 200, message: 'No cluster is registered, or none you may see.', nav }))
      })

      scope.post('/logout', {
        schema: { hide: true, body: Type.Object({ _csrf: Type.String({ maxLength: 100 }) }, { additionalProperties: false }) },
      }, async (request, reply) => {
        if (request.uiSession) sessions.delete(request.uiSession.id)
        return toSignIn(reply, request, 'signed-out')
      })

      await scope.register(pageRoutes(ui))
    })
  }
}

/** A seeded app for route tests: a SQLite store in a temp dir, the campus spec, and tokens per role. */
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify'
import { buildApp, type AppDeps } from '../../src/api/app.js'
import { createStore } from '../../src/store/index.js'
import { hashTokenSecret, newTokenSecret } from '../../src/auth/tokens.js'
import type { Role, Store } from '../../src/store/types.js'

export const campusText = readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')
export const campusSpec = () => parse(campusText) as Record<string, unknown> & { departments: Array<Record<string, unknown>> }

export interface Seeded {
  app: FastifyInstance
  store: Store
  tokens: Record<'admin' | 'nlp' | 'alice' | 'frank' | 'cvdl', string>
  as(who: keyof Seeded['tokens'] | null, options: InjectOptions): Promise<LightMyRequestResponse>
}

async function token(store: Store, role: Role, departments: string[], user: string | null): Promise<string> {
  const secret = newTokenSecret()
  await store.createToken({ secretHash: hashTokenSecret(secret), role, departments, user, description: 'test', createdBy: 'test' })
  return secret
}

/** Builds the app on a fresh store seeded with the campus cluster at revision 1. */
export async function seeded(store?: Store, deps: Omit<AppDeps, 'store'> = {}, spec: object = campusSpec()): Promise<Seeded> {
  const s = store ?? await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-api-')) })
  const app = await buildApp({ ...deps, store: s })
  const tokens = {
    admin: await token(s, 'admin', [], null),
    nlp: await token(s, 'department-admin', ['nlp'], null),
    cvdl: await token(s, 'department-admin', ['cv', 'dl'], null),
    alice: await token(s, 'researcher', [], 'alice'),
    frank: await token(s, 'researcher', [], 'frank'),
  }
  const as: Seeded['as'] = (who, options) => app.inject({
    ...options,
    headers: { ...(options.headers ?? {}), ...(who ? { authorization: `Bearer ${tokens[who]}` } : {}) },
  })
  const created = await as('admin', { method: 'POST', url: '/v1/clusters', payload: { name: 'campus', description: 'Campus cluster' } })
  if (created.statusCode !== 201) throw new Error(`seeding failed: ${created.body}`)
  const put = await as('admin', { method: 'PUT', url: '/v1/clusters/campus/spec', payload: spec })
  if (put.statusCode !== 200) throw new Error(`seeding failed: ${put.body}`)
  return { app, store: s, tokens, as }
}

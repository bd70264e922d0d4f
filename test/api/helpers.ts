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
  /** Tokens: non-admin ones are bound to `campus`, except `labNlp` (nlp's admin on the `lab` cluster). */
  tokens: Record<'admin' | 'nlp' | 'alice' | 'frank' | 'cvdl' | 'labNlp', string>
  as(who: keyof Seeded['tokens'] | null, options: InjectOptions): Promise<LightMyRequestResponse>
}

async function token(store: Store, role: Role, departments: string[], user: string | null, cluster: string | null): Promise<string> {
  const secret = newTokenSecret()
  await store.createToken({ secretHash: hashTokenSecret(secret), role, departments, user, cluster, description: 'test', createdBy: 'test' })
  return secret
}

/** The campus spec as the spec of cluster `name`. */
export function specFor(name: string) {
  const spec = campusSpec() as ReturnType<typeof campusSpec> & { cluster: { name: string } }
  spec.cluster.name = name
  return spec
}

/**
 * Builds the app on a fresh store seeded with the campus cluster at revision 1, and a
 * second cluster `lab` with the same departments (so a token of one is tried on the other).
 * `campus` replaces the campus spec (its cluster name must stay `campus`).
 */
export async function seeded(store?: Store, deps: Omit<AppDeps, 'store'> = {}, campus: object = specFor('campus')): Promise<Seeded> {
  const s = store ?? await createStore({ dataDir: mkdtempSync(join(tmpdir(), 'steward-api-')) })
  const app = await buildApp({ ...deps, store: s })
  const admin = await token(s, 'admin', [], null, null)
  const inject = (secret: string | undefined, options: InjectOptions) => app.inject({
    ...options,
    headers: { ...(options.headers ?? {}), ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
  })
  for (const [name, description] of [['campus', 'Campus cluster'], ['lab', 'Lab cluster']] as const) {
    const created = await inject(admin, { method: 'POST', url: '/v1/clusters', payload: { name, description } })
    if (created.statusCode !== 201) throw new Error(`seeding failed: ${created.body}`)
    const put = await inject(admin, { method: 'PUT', url: `/v1/clusters/${name}/spec`, payload: name === 'campus' ? campus : specFor(name) })
    if (put.statusCode !== 200) throw new Error(`seeding failed: ${put.body}`)
  }
  const tokens = {
    admin,
    nlp: await token(s, 'department-admin', ['nlp'], null, 'campus'),
    cvdl: await token(s, 'department-admin', ['cv', 'dl'], null, 'campus'),
    alice: await token(s, 'researcher', [], 'alice', 'campus'),
    frank: await token(s, 'researcher', [], 'frank', 'campus'),
    labNlp: await token(s, 'department-admin', ['nlp'], null, 'lab'),
  }
  const as: Seeded['as'] = (who, options) => inject(who ? tokens[who] : undefined, options)
  return { app, store: s, tokens, as }
}

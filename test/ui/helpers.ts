/** Sign-in helpers of the dashboard's tests (through app.inject). */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

export const cookieOf = (r: LightMyRequestResponse, name: string): string | undefined => {
  const c = r.cookies.find((x) => x.name === name)
  return c?.value
}
export const formPost = (fields: Record<string, string>) => ({ payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
export const hidden = (html: string): string => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''

/** Signs in with `secret` on `app`; the session cookie and the session's CSRF token. */
export async function signIn(app: FastifyInstance, secret: string): Promise<{ session: string; csrf: string }> {
  const form = await app.inject({ method: 'GET', url: '/ui/login' })
  const login = cookieOf(form, 'stw_login') ?? ''
  const r = await app.inject({ method: 'POST', url: '/ui/login', cookies: { stw_login: login }, ...formPost({ token: secret, _csrf: hidden(form.body) }) })
  if (r.statusCode !== 303) throw new Error(`sign-in failed: ${r.statusCode} ${r.body.slice(0, 300)}`)
  const session = cookieOf(r, 'stw_session') ?? ''
  const page = await app.inject({ method: 'GET', url: '/ui/clusters/campus', cookies: { stw_session: session } })
  return { session, csrf: hidden(page.body) }
}

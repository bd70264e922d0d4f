/**
 * The dashboard's sign-in, sessions and CSRF through app.inject (the browser test in
 * test/integration/dashboard-browser.test.ts drives real Chromium against the sandbox).
 */
import t from 'tap'
import { createSessionStore } from '../../src/ui/sessions.js'
import { CONTENT_SECURITY_POLICY } from '../../src/ui/plugin.js'
import { hashTokenSecret, newTokenSecret } from '../../src/auth/tokens.js'
import { seededOnReplay } from '../support/replay-slurm.js'
import { cookieOf, formPost, hidden, signIn } from './helpers.js'

let clock = Date.now()
const sessions = createSessionStore({ idleMs: 60_000, now: () => clock })
const s = await seededOnReplay()
// The dashboard of the seeded app uses its own session store; build one more app on the
// same store with the test's clock for the expiry case.
const { buildApp } = await import('../../src/api/app.js')
t.teardown(() => s.app.close())

t.test('signing in sets an opaque HttpOnly SameSite=Strict cookie; the token is nowhere in the answer', async (t) => {
  const form = await s.app.inject({ method: 'GET', url: '/ui/login' })
  t.equal(form.headers['content-security-policy'], CONTENT_SECURITY_POLICY)
  t.notMatch(CONTENT_SECURITY_POLICY, /script-src|unsafe-inline/, 'no script allowed at all (default-src none)')
  const r = await s.app.inject({ method: 'POST', url: '/ui/login', cookies: { stw_login: cookieOf(form, 'stw_login') ?? '' }, ...formPost({ token: s.tokens.admin, _csrf: hidden(form.body) }) })
  t.equal(r.statusCode, 303)
  t.equal(r.headers.location, '/ui')
  const c = r.cookies.find((x) => x.name === 'stw_session')
  t.match(c, { httpOnly: true, sameSite: 'Strict', path: '/ui' })
  t.not(c?.value, s.tokens.admin)
  t.notOk(JSON.stringify(r.headers).includes(s.tokens.admin))
})

t.test('a sign-in form without its CSRF cookie, or with a wrong token, is refused', async (t) => {
  const forged = await s.app.inject({ method: 'POST', url: '/ui/login', ...formPost({ token: s.tokens.admin, _csrf: 'x'.repeat(43) }) })
  t.equal(forged.statusCode, 403)
  const form = await s.app.inject({ method: 'GET', url: '/ui/login' })
  const wrong = await s.app.inject({ method: 'POST', url: '/ui/login', cookies: { stw_login: cookieOf(form, 'stw_login') ?? '' }, ...formPost({ token: 'stw_nottherightoneatall', _csrf: hidden(form.body) }) })
  t.equal(wrong.statusCode, 401)
  t.notOk(wrong.cookies.some((c) => c.name === 'stw_session'))
})

t.test('pages need a session; a department admin never sees another department', async (t) => {
  const none = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus' })
  t.equal(none.statusCode, 303)
  t.equal(none.headers.location, '/ui/login')
  const nlp = await signIn(s.app, s.tokens.nlp)
  for (const url of ['/ui/clusters/campus', '/ui/clusters/campus/reliability', '/ui/me']) {
    const r = await s.app.inject({ method: 'GET', url, cookies: { stw_session: nlp.session } })
    t.equal(r.statusCode, 200, url)
    t.notMatch(r.body, /\b(cv|dl|chen|okafor|Computer Vision|Deep Learning)\b/, `${url} shows nothing of cv or dl`)
    t.notMatch(r.body, /<script/i, `${url} has no script`)
  }
  t.equal((await s.app.inject({ method: 'GET', url: '/ui/audit', cookies: { stw_session: nlp.session } })).statusCode, 403, 'the audit log is for admins, as in the API')
  t.equal((await s.app.inject({ method: 'GET', url: '/ui/clusters/lab', cookies: { stw_session: nlp.session } })).statusCode, 404)
  const overview = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus', cookies: { stw_session: nlp.session } })
  t.match(overview.body, /usage and budgets are not available in this version/)
  t.match(overview.body, /<svg class="bar"/)
})

t.test('a forged POST without the session\'s CSRF token is refused and changes nothing', async (t) => {
  const a = await signIn(s.app, s.tokens.alice)
  const forged = await s.app.inject({ method: 'POST', url: '/ui/logout', cookies: { stw_session: a.session }, ...formPost({ _csrf: 'forged' }) })
  t.equal(forged.statusCode, 403)
  t.equal((await s.app.inject({ method: 'GET', url: '/ui/me', cookies: { stw_session: a.session } })).statusCode, 200, 'still signed in')
  const out = await s.app.inject({ method: 'POST', url: '/ui/logout', cookies: { stw_session: a.session }, ...formPost({ _csrf: a.csrf }) })
  t.equal(out.statusCode, 303)
  t.equal((await s.app.inject({ method: 'GET', url: '/ui/me', cookies: { stw_session: a.session } })).statusCode, 303, 'signed out')
})

t.test('a revoked token or an expired session sends the browser to sign-in', async (t) => {
  // Revoked through this service: the session ends at once (the token cache forgets it).
  const f = await signIn(s.app, s.tokens.frank)
  const token = await s.store.findTokenBySecretHash(hashTokenSecret(s.tokens.frank))
  const revoked = await s.app.inject({ method: 'DELETE', url: `/v1/tokens/${token?.id ?? ''}`, headers: { authorization: `Bearer ${s.tokens.admin}` } })
  t.equal(revoked.statusCode, 204)
  const r = await s.app.inject({ method: 'GET', url: '/ui/me', cookies: { stw_session: f.session } })
  t.equal(r.statusCode, 303)
  t.equal(r.headers.location, '/ui/login?why=revoked')

  // Revoked elsewhere (the CLI, another replica): within the token cache's lifetime.
  const quick = await buildApp({ store: s.store, tokenCacheMs: 200 })
  t.teardown(() => quick.close())
  const secret = newTokenSecret()
  const elsewhere = await s.store.createToken({ secretHash: hashTokenSecret(secret), role: 'admin', departments: [], user: null, description: 'revoked elsewhere', createdBy: 'test' })
  const d = await signIn(quick, secret)
  await s.store.revokeToken(elsewhere.id)
  const started = Date.now()
  let gone = await quick.inject({ method: 'GET', url: '/ui/me', cookies: { stw_session: d.session } })
  while (gone.statusCode === 200 && Date.now() - started < 2_000) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    gone = await quick.inject({ method: 'GET', url: '/ui/me', cookies: { stw_session: d.session } })
  }
  t.equal(gone.headers.location, '/ui/login?why=revoked')
  t.ok(Date.now() - started <= 500, `within the lifetime (${Date.now() - started} ms)`)

  const app = await buildApp({ store: s.store, dashboardSessions: sessions })
  t.teardown(() => app.close())
  const c = await signIn(app, s.tokens.cvdl)
  clock += 61_000
  const late = await app.inject({ method: 'GET', url: '/ui/me', cookies: { stw_session: c.session } })
  t.equal(late.statusCode, 303)
  t.equal(late.headers.location, '/ui/login?why=expired')
})

t.test('admins see recent applies with their step logs, and the audit log with filters', async (t) => {
  const apply = await s.store.createApply({ cluster: 'campus', revision: 1, startedBy: 'tok:admin' })
  await s.store.putApplyStep(apply.id, { seq: 1, name: 'install files', status: 'ok', detail: 'write slurm.conf', output: 'wrote <4> files', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() })
  await s.store.putApplyStep(apply.id, { seq: 2, name: 'reconfigure', status: 'failed', detail: 'scontrol reconfigure', output: 'slurm_reconfigure error', startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() })
  await s.store.updateApply(apply.id, { status: 'rolled-back', error: 'reconfigure failed', finishedAt: new Date().toISOString() })
  const a = await signIn(s.app, s.tokens.admin)
  const applies = await s.app.inject({ method: 'GET', url: '/ui/clusters/campus/applies', cookies: { stw_session: a.session } })
  t.equal(applies.statusCode, 200)
  t.match(applies.body, /rolled-back<\/strong> revision 1/)
  t.match(applies.body, /wrote &lt;4&gt; files/, 'step output is shown, HTML-escaped')
  t.match(applies.body, /class="step-failed"><strong>reconfigure/)
  const audit = await s.app.inject({ method: 'GET', url: '/ui/audit?action=spec.put&cluster=lab', cookies: { stw_session: a.session } })
  t.equal(audit.statusCode, 200)
  t.match(audit.body, /<td>spec\.put<\/td><td>clusters\/lab/)
  t.notMatch(audit.body, /<td>clusters\/campus/, 'the filter holds')
  const bad = await s.app.inject({ method: 'GET', url: '/ui/audit?action=%3Cscript%3E', cookies: { stw_session: a.session } })
  t.equal(bad.statusCode, 400, 'a filter outside its pattern is refused')
  const nlp = await signIn(s.app, s.tokens.nlp)
  t.equal((await s.app.inject({ method: 'GET', url: '/ui/clusters/campus/applies', cookies: { stw_session: nlp.session } })).statusCode, 403)
})

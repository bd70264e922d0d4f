/** The Lambdas' client of the service API: the token read once, answers classified, failures named. */
import t from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mockClient } from 'aws-sdk-client-mock'
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { createServiceApi } from '../../../src/adapters/aws/service-api.js'
import type { BudgetEventBody } from '../../../src/budgets/contract.js'

const ssm = mockClient(SSMClient)
const client = new SSMClient({ region: 'eu-west-1' })
let next: { status: number; body: string } = { status: 200, body: '{"recorded":true,"action":"none"}' }
const seen: Array<{ url?: string; auth?: string }> = []
const server = createServer((req, res) => {
  seen.push({ url: req.url, auth: req.headers.authorization })
  req.resume()
  req.on('end', () => { res.writeHead(next.status, { 'content-type': 'application/json' }); res.end(next.body) })
})
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
const body: BudgetEventBody = { eventId: 'e', source: 'aws-budgets', budgetName: 'b', department: null, month: '2026-11', thresholdPercent: 80, notificationType: 'ACTUAL' }
t.beforeEach(() => { ssm.reset(); seen.length = 0; ssm.on(GetParameterCommand).resolves({ Parameter: { Value: ' tok \n' } }) })

t.test('the token is read once with decryption; the route is under the base path', async (t) => {
  const api = createServiceApi({ baseUrl: base, tokenParameter: '/t', ssm: client })
  next = { status: 200, body: '{"recorded":true,"action":"block"}' }
  t.same(await api.postBudgetEvent('campus', body), { kind: 'recorded', recorded: true, action: 'block' })
  t.same(await api.postBudgetEvent('campus', body), { kind: 'recorded', recorded: true, action: 'block' })
  t.equal(ssm.commandCalls(GetParameterCommand).length, 1)
  t.same(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input, { Name: '/t', WithDecryption: true })
  t.same(seen[0], { url: '/prefix/v1/clusters/campus/budgets/events', auth: 'Bearer tok' })
})

t.test('404 and 422 are refusals for good; 400, 5xx and a 200 off the contract are errors to retry', async (t) => {
  const api = createServiceApi({ baseUrl: base, tokenParameter: '/t', ssm: client })
  next = { status: 422, body: '{"message":"unknown budget"}' }
  t.match(await api.postBudgetEvent('campus', body), { kind: 'refused', status: 422, reason: /unknown budget/ })
  next = { status: 404, body: '{}' }
  t.match(await api.postBudgetEvent('campus', body), { kind: 'refused', status: 404 })
  for (const [status, text, message] of [[400, '{"message":"bad"}', /answered 400/], [500, 'oops', /answered 500/], [200, 'not json', /no JSON/], [200, '{"recorded":"yes","action":"none"}', /answered 200 with/], [200, '{"recorded":true,"action":"nuke"}', /answered 200 with/]] as const) {
    next = { status, body: text }
    await t.rejects(api.postBudgetEvent('campus', body), { name: 'ServiceApiError', message }, `${status} ${text}`)
  }
})

t.test('bad settings and an unreadable token are named', async (t) => {
  t.throws(() => createServiceApi({ baseUrl: 'ftp://x', tokenParameter: '/t', ssm: client }), /not http\(s\)/)
  const api = createServiceApi({ baseUrl: base, tokenParameter: '/t', ssm: client })
  await t.rejects(api.postBudgetEvent('../admin', body), /not a cluster name/)
  ssm.reset()
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '  ' } })
  await t.rejects(createServiceApi({ baseUrl: base, tokenParameter: '/t', ssm: client }).postBudgetEvent('campus', body), /token parameter \/t is empty/)
  ssm.reset()
  ssm.on(GetParameterCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))
  await t.rejects(createServiceApi({ baseUrl: base, tokenParameter: '/t', ssm: client }).postBudgetEvent('campus', body), /cannot read the API token \/t: AccessDeniedException/)
  ssm.reset()
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: 'tok' } })
  await t.rejects(createServiceApi({ baseUrl: 'http://127.0.0.1:1', tokenParameter: '/t', ssm: client }).postBudgetEvent('campus', body), { name: 'ServiceApiError', message: /POST \/v1\/clusters\/campus\/budgets\/events failed/ }, 'nothing listens')
})

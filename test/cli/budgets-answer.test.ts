/**
 * `steward budgets` checks the service's answer against the route's own contract
 * (BudgetsAnswer, src/budgets/contract.ts): a service that sends something else (a field
 * of another type, one missing) is an error naming the field, both ways of reaching the
 * service (STEWARD_TOKEN/--url and --server/--token-file), tables and --json alike.
 */
import { createServer } from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { setup } from '../budgets/fixture.js'
import { steward } from './run.js'
import { budgetsCommand, formatBudgets, formatUsage, usageCommand } from '../../src/cli/budgets.js'

/** A service on loopback that answers every request with `body`. */
async function serving(t: Test, body: unknown): Promise<string> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
}

t.test('an answer that breaks the contract is refused, naming the field', async (t) => {
  const s = await setup(t)
  const good = (await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/budgets' })).json() as { departments: Array<Record<string, unknown>> }
  t.equal(formatBudgets(good, 'campus', {}).split('\n')[0], `campus: budgets of ${(good as unknown as { month: string }).month}`, 'the real answer fits')
  const wrongType = structuredClone(good)
  wrongType.departments[1]!.spendCents = '5.67'
  const missing = structuredClone(good)
  delete missing.departments[0]!.crossed
  t.throws(() => formatBudgets(wrongType, 'campus', {}), { name: 'ServiceError', message: /GET \/v1\/clusters\/campus\/budgets: the service's answer does not fit its contract at \/departments\/1\/spendCents: Expected integer/ })
  t.throws(() => formatBudgets(missing, 'campus', { csv: true }), { name: 'ServiceError', message: /at \/departments\/0\/crossed/ })
  t.throws(() => formatBudgets({ error: 'x' }, 'campus', {}), { name: 'ServiceError', message: /at \/month/ })

  const url = await serving(t, wrongType)
  const before = process.env.STEWARD_TOKEN
  process.env.STEWARD_TOKEN = s.tokens.admin
  t.teardown(() => { if (before === undefined) delete process.env.STEWARD_TOKEN; else process.env.STEWARD_TOKEN = before })
  for (const json of [[], ['--json']]) {
    await t.rejects(budgetsCommand(['--url', url, '--cluster', 'campus', ...json]), { name: 'ServiceError', message: /\/departments\/1\/spendCents/ }, `STEWARD_TOKEN ${json.join(' ')}`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'steward-budgets-answer-'))
  writeFileSync(join(dir, 'token'), `${s.tokens.admin}\n`, { mode: 0o600 })
  for (const json of [[], ['--json']]) {
    const remote = await steward('--server', url, '--token-file', join(dir, 'token'), '--cluster', 'campus', 'budgets', ...json)
    t.equal(remote.code, 1, `--server ${json.join(' ')}`)
    t.match(remote.err, /\/departments\/1\/spendCents: Expected integer/)
    t.equal(remote.out, '', 'nothing printed')
  }
})

t.test('`steward usage` checks its answer against the usage route\'s contract too', async (t) => {
  const s = await setup(t)
  const good = (await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/usage' })).json() as { lines: Array<Record<string, unknown>>; total: Record<string, unknown> }
  t.match(formatUsage(good, 'campus', {}), /^campus: /, 'the real answer fits')
  const wrong = structuredClone(good)
  wrong.total.cost = 12.5
  t.throws(() => formatUsage(wrong, 'campus', {}), { name: 'ServiceError', message: /GET \/v1\/clusters\/campus\/usage: the service's answer does not fit its contract at \/total\/cost: Expected string/ })
  const url = await serving(t, wrong)
  const before = process.env.STEWARD_TOKEN
  process.env.STEWARD_TOKEN = s.tokens.admin
  t.teardown(() => { if (before === undefined) delete process.env.STEWARD_TOKEN; else process.env.STEWARD_TOKEN = before })
  await t.rejects(usageCommand(['--url', url, '--cluster', 'campus', '--json']), { name: 'ServiceError', message: /\/total\/cost/ })
  const dir = mkdtempSync(join(tmpdir(), 'steward-usage-answer-'))
  writeFileSync(join(dir, 'token'), `${s.tokens.admin}\n`, { mode: 0o600 })
  for (const json of [[], ['--json']]) {
    const remote = await steward('--server', url, '--token-file', join(dir, 'token'), '--cluster', 'campus', 'usage', ...json)
    t.equal(remote.code, 1, `--server usage ${json.join(' ')}`)
    t.match(remote.err, /\/total\/cost: Expected string/)
  }
})

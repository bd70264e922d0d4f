/**
 * `steward --server URL --token-file F <command>` against the app listening on loopback
 * (Slurm output replayed from the sandbox fixture): gpus, whoami, reliability and plan go
 * through the REST API with the token from the file, and bad input is a usage error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { steward } from './run.js'
import { REMOTE_COMMANDS } from '../../src/cli/remote.js'
import { seededOnReplay } from '../support/replay-slurm.js'

const s = await seededOnReplay()
const address = await s.app.listen({ port: 0, host: '127.0.0.1' })
t.teardown(() => s.app.close())
const dir = mkdtempSync(join(tmpdir(), 'steward-remote-'))
const tokenFile = (name: keyof typeof s.tokens): string => {
  const file = join(dir, name)
  writeFileSync(file, `${s.tokens[name]}\n`, { mode: 0o600 })
  return file
}

t.test('gpus through the service: a table like sky show-gpus, and --json equal to the API', async (t) => {
  const r = await steward('--server', address, '--token-file', tokenFile('alice'), 'gpus')
  t.equal(r.code, 0, r.err)
  t.match(r.out, /^PARTITION\s+GPU\s+TOTAL\s+ALLOCATED\s+FREE/)
  t.match(r.out, /\nnlp\s+h100\s+24\s+3\s+13\s+8/)
  t.notMatch(r.out, /\ncv\s/, 'alice sees no cv partition')
  const j = await steward('--server', address, '--token-file', tokenFile('admin'), '--cluster', 'campus', 'gpus', '--json')
  const api = (await s.as('admin', { method: 'GET', url: '/v1/clusters/campus/gpus' })).json() as { gpus: unknown }
  t.same((JSON.parse(j.out) as { gpus: unknown }).gpus, api.gpus)
})

t.test('whoami, reliability and plan', async (t) => {
  const me = await steward('--server', address, '--token-file', tokenFile('alice'), 'whoami')
  t.equal(me.code, 0, me.err)
  t.match(me.out, /alice \(uid 200001\) on campus/)
  t.match(me.out, /accounts: nlp-smith \(default\)/)
  t.match(me.out, /qos standard: at most 256 CPUs at once, at most 8 GPUs at once, jobs up to 2 days/)
  t.match(me.out, /usage and budgets are not available in this version/)
  const rel = await steward('--server', address, '--token-file', tokenFile('admin'), '--cluster', 'campus', 'reliability', '--days', '7', '--nodes', '64')
  t.equal(rel.code, 0, rel.err)
  t.match(rel.out, /^GROUP\s+NODES\s+FAILURES/)
  const plan = await steward('--server', address, '--token-file', tokenFile('admin'), '--cluster', 'campus', 'plan')
  t.equal(plan.code, 1, 'no apply engine in this app: the route does not exist')
  t.match(plan.err, /POST \/v1\/clusters\/campus\/plan: 404/)
})

t.test('bad input: a usage error (exit 2) naming what is wrong, before any request', async (t) => {
  t.equal((await steward('--server', 'ftp://x', '--token-file', tokenFile('admin'), 'gpus')).code, 2)
  t.equal((await steward('--server', address, 'gpus')).code, 2, 'no token file')
  const badFile = join(dir, 'bad')
  writeFileSync(badFile, 'not a token at all!\n')
  const bad = await steward('--server', address, '--token-file', badFile, 'gpus')
  t.equal(bad.code, 2)
  t.match(bad.err, /does not hold an API token/)
  t.equal((await steward('--server', address, '--token-file', tokenFile('admin'), 'render')).code, 2, 'only the read commands go remote')
  const several = await steward('--server', address, '--token-file', tokenFile('admin'), 'gpus')
  t.equal(several.code, 2, 'an admin token sees two clusters: --cluster is needed')
  t.match(several.err, /--cluster/)
  const revoked = await steward('--server', address, '--token-file', join(dir, 'missing'), 'gpus')
  t.match(revoked.err, /cannot read --token-file/)
})

t.test('adding a remote command is one entry', async (t) => {
  t.same(Object.keys(REMOTE_COMMANDS).sort(), ['budgets', 'gpus', 'plan', 'reliability', 'usage', 'whoami'])
})

import t from 'tap'
import { readFileSync } from 'node:fs'
import { acceptSpec, parseSpecText } from '../../src/spec/load.js'
import { validateSpec } from '../../src/spec/validate.js'
import { parseLiveAccounting, type LiveOutputs } from '../../src/accounting/live.js'
import { buildImportedSpec } from '../../src/accounting/import-spec.js'
import { slurmRelease } from '../../src/accounting/import.js'
import { planSpec } from '../../src/accounting/plan.js'
import type { PosixEntry } from '../../src/accounting/model.js'

const here = (path: string): URL => new URL(path, import.meta.url)
function live(name: string): ReturnType<typeof parseLiveAccounting> {
  const read = (k: string): string => readFileSync(here(`./fixtures/${name}/${k}.txt`), 'utf8')
  const out: LiveOutputs = { qos: read('qos'), accounts: read('accounts'), assocs: read('assocs'), users: read('users') }
  return parseLiveAccounting('campus', out)
}
const campus = acceptSpec(parseSpecText(readFileSync(here('./fixtures/specs/campus.yaml'), 'utf8'))).spec
const passwd = new Map<string, PosixEntry>(campus.users.map((u) => [u.name, { name: u.name, id: u.uid, gid: u.uid, home: `/home/${u.name}` }]))
const ctx = { slurmVersion: '22.05', controllerHost: 'head-1', passwd }

t.test('importing a live cluster gives a valid spec that plans empty against it', async (t) => {
  for (const fixture of ['campus', 'campus-changed', 'empty-cluster']) {
    const state = live(fixture)
    const { spec } = buildImportedSpec(state, ctx)
    const v = validateSpec(spec)
    t.ok(v.ok, `${fixture}: valid (${v.errors.filter((e) => e.severity === 'error').map((e) => `${e.path} ${e.message}`).join('; ')})`)
    t.same(planSpec(spec, { accounting: state }, { prune: true }).operations.map((o) => o.argv.join(' ')), [], `${fixture}: empty plan, even with --prune`)
  }
})

t.test('the imported campus has the same tree, limits and defaults as campus.yaml', async (t) => {
  const { spec } = buildImportedSpec(live('campus'), ctx)
  t.same(spec.departments.map((d) => [d.name, d.fairshare, d.defaultQos, d.supervisors?.map((s) => [s.name, s.users])]), [
    ['cv', 35, 'standard', [['chen', ['dave', 'erin']]]],
    ['dl', 25, 'standard', [['okafor', ['frank']]]],
    ['nlp', 40, 'standard', [['garcia', ['bob', 'carol']], ['smith', ['alice', 'bob']]]],
  ])
  t.match(spec.qos.find((q) => q.name === 'standard'), { maxTresPerUser: { cpu: 256, gpu: 8 }, maxWallDurationPerJob: '2-00:00:00', maxJobsPerUser: 20 })
  t.same(spec.users.find((u) => u.name === 'alice'), { name: 'alice', uid: 200001 }, 'alice\'s only account is her default')
  t.equal(spec.users.find((u) => u.name === 'bob')?.defaultAccount, undefined, 'bob\'s default nlp-garcia is the first account listing him')
  const changed = buildImportedSpec(live('campus-changed'), ctx).spec
  t.equal(changed.users.find((u) => u.name === 'bob')?.defaultAccount, 'nlp-smith', 'a default that is not the first listing account is written out')
})

t.test('users without a POSIX account are left out with a warning, and stay unmanaged', async (t) => {
  const state = live('campus')
  const { spec, warnings } = buildImportedSpec(state, { ...ctx, passwd: new Map([...passwd].filter(([n]) => n !== 'frank')) })
  t.notOk(spec.users.some((u) => u.name === 'frank'))
  t.match(warnings, [{ subject: 'user frank' }])
  t.ok(validateSpec(spec).ok)
  t.same(planSpec(spec, { accounting: state }).operations, [], 'without --prune frank is not touched')
})

t.test('the Slurm release is read from sacctmgr --version', async (t) => {
  t.equal(slurmRelease('slurm 22.05.8\n'), '22.05')
  t.equal(slurmRelease('slurm 24.11.1'), '24.11')
})

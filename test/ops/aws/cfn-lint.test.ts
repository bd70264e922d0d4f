import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../../../ops/aws/app.js'
import { clusterTargets } from '../../../ops/aws/config.js'
import { firstCluster, writeFixture } from './support.js'

// cfn-lint (Python, preinstalled on the project's machines) on the synthesized templates of
// both store variants and of budget alerts. Exit status bits: 2 = errors (fail), 4 = warnings, 8 = informational.
const CFN_LINT = process.env.CFN_LINT ?? 'cfn-lint'

t.test('cfn-lint finds no error in the synthesized templates', async (t) => {
  const version = spawnSync(CFN_LINT, ['--version'], { encoding: 'utf8' })
  if (version.error) throw new Error(`${CFN_LINT} is not installed (pip install cfn-lint, or set CFN_LINT): ${version.error.message}`)
  const outdir = mkdtempSync(join(tmpdir(), 'steward-cfn-lint-'))
  const targets = [
    ...await clusterTargets(writeFixture()),
    ...await clusterTargets(writeFixture((c) => { firstCluster(c).service = { store: { type: 'rds' } } })),
    ...await clusterTargets(writeFixture((c) => { firstCluster(c).budgetAlerts = { budgetNames: ['hpc-steward-campus', 'campus-physics'] } })),
  ]
  // Three apps: the same cluster with the EBS and the RDS store, and with budget alerts.
  const templates: string[] = []
  for (const [i, target] of targets.entries()) {
    const dir = join(outdir, String(i))
    buildApp([target], { outdir: dir }).app.synth()
    templates.push(...readdirSync(dir).filter((f) => f.endsWith('.template.json')).map((f) => join(dir, f)))
  }
  t.equal(templates.length, 3)
  const lint = spawnSync(CFN_LINT, ['--format', 'parseable', '--', ...templates], { encoding: 'utf8', timeout: 300_000 })
  t.comment(`${version.stdout.trim()}: ${lint.stdout.trim() || 'clean'}`)
  t.equal(lint.error, undefined)
  t.equal((lint.status ?? 2) & 3, 0, `cfn-lint errors:\n${lint.stdout}${lint.stderr}`)
})

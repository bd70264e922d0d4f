/**
 * Precompiled templates (dist/templates.cjs, made by npm run build) render exactly what
 * the sources do, and are never used for a template edited since the build.
 */
import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadTemplates, precompileTemplates, readPrecompiled, templateSources } from '../../src/slurm/templates.js'

const context = {
  header: '# header', clusterName: 'c', lines: ['NodeName=a Name=gpu File=/dev/nvidia0'], autodetect: true, computeNodes: 'a',
}

function precompiledOf(sources: Map<string, string>) {
  const file = join(mkdtempSync(join(tmpdir(), 'steward-templates-')), 'templates.cjs')
  writeFileSync(file, precompileTemplates(sources))
  return readPrecompiled(file)
}

t.test('precompiled templates render what the sources render', async (t) => {
  const sources = templateSources()
  const fast = loadTemplates(sources, precompiledOf(sources))
  const slow = loadTemplates(sources, undefined)
  t.equal(fast.precompiled, true)
  t.equal(slow.precompiled, false)
  for (const name of ['gres.conf', 'cgroup.conf', 'pam_slurm_adopt']) {
    t.equal(fast.templates.get(name)?.(context), slow.templates.get(name)?.(context), name)
  }
})

t.test('a template edited after the build is compiled from its source', async (t) => {
  const sources = templateSources()
  const precompiled = precompiledOf(sources)
  const edited = new Map(sources)
  edited.set('cgroup.conf', `${sources.get('cgroup.conf') ?? ''}# edited\n`)
  const loaded = loadTemplates(edited, precompiled)
  t.equal(loaded.precompiled, false)
  t.match(loaded.templates.get('cgroup.conf')?.(context) ?? '', /# edited/)
})

t.test('a precompiled file the runtime refuses falls back to the sources', async (t) => {
  const sources = templateSources()
  const precompiled = precompiledOf(sources) ?? {}
  for (const entry of Object.values(precompiled)) (entry?.spec as { compiler: unknown }).compiler = [1, '<1.0.0']
  const loaded = loadTemplates(sources, precompiled)
  t.equal(loaded.precompiled, false)
  t.match(loaded.templates.get('cgroup.conf')?.(context) ?? '', /ConstrainDevices=yes/)
})

t.test('a missing precompiled file is no error', async (t) => {
  t.equal(readPrecompiled('/nonexistent/templates.cjs'), undefined)
})

/**
 * Golden files: each folder under render/ holds a spec (and optional render options); the
 * test renders it and compares whole files with render/<case>/expected/. After an
 * intended change, regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
import t from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { renderCluster } from '../../src/slurm/render.js'
import { validateSpec } from '../../src/spec/validate.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import type { NodeAddress, RenderOptions } from '../../src/slurm/render-options.js'

const casesDir = fileURLToPath(new URL('./render', import.meta.url))
const update = process.env.UPDATE_GOLDEN === '1'

function optionsOf(dir: string): RenderOptions {
  const file = join(dir, 'options.json')
  if (!existsSync(file)) return {}
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { site?: RenderOptions['site']; nodeAddresses?: Record<string, NodeAddress>; revision?: number }
  return {
    site: raw.site,
    revision: raw.revision,
    nodeAddresses: raw.nodeAddresses ? new Map(Object.entries(raw.nodeAddresses)) : undefined,
  }
}

for (const name of readdirSync(casesDir)) {
  t.test(`the ${name} spec renders exactly its golden files`, async (t) => {
    const dir = join(casesDir, name)
    const spec = parse(readFileSync(join(dir, 'spec.yaml'), 'utf8')) as ClusterSpec
    t.equal(validateSpec(spec).ok, true, 'the case spec is valid')
    const files = renderCluster(spec, optionsOf(dir))
    const expectedDir = join(dir, 'expected')
    if (update) {
      rmSync(expectedDir, { recursive: true, force: true })
      mkdirSync(expectedDir)
      for (const f of files) writeFileSync(join(expectedDir, f.name), f.content)
    }
    t.same(files.map((f) => f.name).sort(), readdirSync(expectedDir).sort(), 'the same set of files')
    for (const f of files) t.equal(f.content, readFileSync(join(expectedDir, f.name), 'utf8'), f.name)
  })
}

t.test('rendering the same spec twice gives identical files', async (t) => {
  const spec = parse(readFileSync(join(casesDir, 'campus', 'spec.yaml'), 'utf8')) as ClusterSpec
  t.same(renderCluster(spec), renderCluster(structuredClone(spec)))
})

t.test('a login or controller host never receives the pam_slurm_adopt rules', async (t) => {
  const spec = parse(readFileSync(join(casesDir, 'campus', 'spec.yaml'), 'utf8')) as ClusterSpec
  const pam = renderCluster(spec).find((f) => f.name === 'pam_slurm_adopt.conf')?.content ?? ''
  t.notMatch(pam, /head-1/)
  t.match(pam, /Compute nodes: gpu-h100-\[001-016\],gpu-a10g-\[01-08\],cpu-\[001-032\]/)
})

t.test('with no node emulated, every node is still rendered, down, with an address', async (t) => {
  const spec = parse(readFileSync(join(casesDir, 'campus', 'spec.yaml'), 'utf8')) as ClusterSpec
  const conf = renderCluster(spec, { nodeAddresses: new Map() }).find((f) => f.name === 'slurm.conf')?.content ?? ''
  t.match(conf, /^NodeName=gpu-h100-\[001-016\] NodeAddr=127\.0\.0\.1 .* State=DOWN Reason=not_emulated$/m)
  t.match(conf, /^NodeName=cpu-\[001-032\] NodeAddr=127\.0\.0\.1 /m)
})

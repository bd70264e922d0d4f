/**
 * Rendering at Slurm's limit: 65,536 nodes in 500 partitions. The baseline, measured in
 * the same run, is serialising the same spec to JSON: the cost of merely touching it.
 */
import { renderCluster } from '../src/slurm/render.js'
import { validateSpec } from '../src/spec/validate.js'
import { syntheticSpec } from './synthetic.js'
import { medianMs, type Report } from './timing.js'

/** The large bench spec: Slurm's node limit, 500 partitions, 1,000 users. */
export const LARGE_SPEC = { groups: 512, nodesPerGroup: 128, departments: 100, partitionsPerDepartment: 5, supervisorsPerDepartment: 2, usersPerSupervisor: 5 }

export async function benchRender(report: Report): Promise<void> {
  const spec = syntheticSpec(LARGE_SPEC)
  const nodes = spec.nodeGroups.length * 128
  const partitions = spec.departments.reduce((n, d) => n + (d.partitions?.length ?? 0), 0)
  const validation = validateSpec(spec)
  if (!validation.ok) throw new Error(`the synthetic spec is invalid: ${JSON.stringify(validation.errors.slice(0, 3))}`)
  const baseline = await medianMs(() => JSON.stringify(spec))
  const validate = await medianMs(() => validateSpec(spec))
  const render = await medianMs(() => renderCluster(spec))
  const files = renderCluster(spec)
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.content), 0)
  report('render 65,536 nodes / 500 partitions', {
    nodes,
    partitions,
    'baseline JSON.stringify ms': baseline.toFixed(2),
    'validate ms': validate.toFixed(1),
    'render ms': render.toFixed(1),
    'render / baseline': (render / baseline).toFixed(1),
    'validate / baseline': (validate / baseline).toFixed(1),
    'output bytes': bytes,
    'slurm.conf lines': files.find((f) => f.name === 'slurm.conf')?.content.split('\n').length ?? 0,
  })
}

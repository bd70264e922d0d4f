/**
 * `steward render` against the tool admins would otherwise use: AWS ParallelCluster's
 * Slurm generator (`pcluster_slurm_config_generator.py` from aws-parallelcluster-cookbook),
 * whole process, start-up included, on equivalent shapes (bench/peer-shapes.ts), runs
 * interleaved. Ours validates the whole spec before it renders; the generator validates
 * nothing. The peer is not part of this repository: STEWARD_BENCH_PC_COOKBOOK names a
 * checkout of aws-parallelcluster-cookbook (or the generator's own directory); without
 * it this benchmark says so and skips.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { projectRoot } from '../src/project-root.js'
import { MEMORY_RATIO, PEER_SHAPES, pclusterConfigForShape, pclusterInstanceTypes, stewardSpecForShape } from './peer-shapes.js'
import { medianWallMs, stewardBin } from './process.js'
import type { Report } from './timing.js'

export const PEER_ENV = 'STEWARD_BENCH_PC_COOKBOOK'
const GENERATOR = 'pcluster_slurm_config_generator.py'
const IN_COOKBOOK = join('cookbooks', 'aws-parallelcluster-slurm', 'files', 'default', 'head_node_slurm', 'slurm')
const RUNS = 9

/** The generator's directory under a cookbook checkout, or the directory itself when it holds the generator. */
export function generatorDir(path: string): string | undefined {
  return [path, join(path, IN_COOKBOOK)].find((dir) => existsSync(join(dir, GENERATOR)))
}

export async function benchPeer(report: Report): Promise<void> {
  const cookbook = process.env[PEER_ENV]
  if (!cookbook) {
    report('render vs AWS ParallelCluster: skipped', { reason: `${PEER_ENV} is not set (a checkout of aws-parallelcluster-cookbook)` })
    return
  }
  const generator = generatorDir(cookbook)
  if (!generator) throw new Error(`${PEER_ENV}=${cookbook}: no ${GENERATOR} there or under ${IN_COOKBOOK}`)
  const root = projectRoot()
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-peer-'))
  try {
    const instanceTypes = join(dir, 'instance-types.json')
    writeFileSync(instanceTypes, JSON.stringify(pclusterInstanceTypes()))
    PEER_SHAPES.forEach((shape, i) => {
      const spec = join(dir, `steward-${i}.yaml`)
      const config = join(dir, `pcluster-${i}.yaml`)
      writeFileSync(spec, stringify(stewardSpecForShape(shape)))
      writeFileSync(config, stringify(pclusterConfigForShape(shape)))
      const outSteward = join(dir, `out-steward-${i}`)
      const outPc = join(dir, `out-pc-${i}`)
      mkdirSync(outPc)
      const ms = medianWallMs({
        node: [process.execPath, '-e', '0'],
        python: ['python3', '-c', 'pass'],
        steward: [process.execPath, stewardBin(root), 'render', spec, '--out', outSteward],
        pc: ['python3', join(root, 'bench', 'pcluster', 'run-generator.py'), generator,
          '--output-directory', outPc, '--template-directory', join(generator, 'templates'), '--input-file', config,
          '--instance-types-data', instanceTypes, '--realmemory-to-ec2memory-ratio', String(MEMORY_RATIO),
          '--slurmdbd-user', 'slurm', '--cluster-name', 'peer'],
      }, RUNS, root)
      const ratio = ms.steward / ms.pc
      report(`render vs AWS ParallelCluster, ${shape.name} (median of ${RUNS}, whole process)`, {
        nodes: shape.queues * shape.computeResources * shape.nodesPerResource,
        'node -e 0 ms': ms.node.toFixed(0),
        'python3 -c pass ms': ms.python.toFixed(0),
        'steward render ms (validates)': ms.steward.toFixed(0),
        'pcluster generator ms': ms.pc.toFixed(0),
        'steward / pcluster': ratio.toFixed(2),
        'goal <= 0.50': ratio <= 0.5 ? 'met' : 'not met',
      })
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

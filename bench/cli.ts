/**
 * CLI start-up: `steward --help` and `steward validate examples/campus.yaml`, whole
 * process, as ratios to `node -e 0` (Node.js starting and doing nothing) measured in the
 * same interleaved runs.
 */
import { join } from 'node:path'
import { projectRoot } from '../src/project-root.js'
import { medianWallMs } from './process.js'
import type { Report } from './timing.js'

export async function benchCli(report: Report): Promise<void> {
  const root = projectRoot()
  const steward = join(root, 'bin', 'steward.js')
  const ms = medianWallMs({
    node: [process.execPath, '-e', '0'],
    help: [process.execPath, steward, '--help'],
    validate: [process.execPath, steward, 'validate', join(root, 'examples', 'campus.yaml')],
  }, 15, root)
  report('CLI start-up, whole process (median of 15)', {
    'node -e 0 ms': ms.node.toFixed(0),
    'steward --help ms': ms.help.toFixed(0),
    'steward validate campus ms': ms.validate.toFixed(0),
    'steward --help / node -e 0': (ms.help / ms.node).toFixed(2),
    'steward validate / node -e 0': (ms.validate / ms.node).toFixed(2),
  })
}

/**
 * CLI start-up and whole-process cost, as a user or a script sees it: `steward --help`,
 * `steward validate examples/campus.yaml`, and `steward render` of the 65,536-node bench
 * spec (bench/render.ts) as YAML and as JSON, each as a ratio to `node -e 0` (Node.js
 * starting and doing nothing) measured in the same interleaved runs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { projectRoot } from '../src/project-root.js'
import { medianWallMs, stewardBin } from './process.js'
import { LARGE_SPEC } from './render.js'
import { syntheticSpec } from './synthetic.js'
import type { Report } from './timing.js'

export async function benchCli(report: Report): Promise<void> {
  const root = projectRoot()
  const steward = stewardBin(root)
  const dir = mkdtempSync(join(tmpdir(), 'steward-bench-cli-'))
  try {
    const spec = syntheticSpec(LARGE_SPEC)
    writeFileSync(join(dir, 'large.yaml'), stringify(spec))
    writeFileSync(join(dir, 'large.json'), JSON.stringify(spec))
    const ms = medianWallMs({
      node: [process.execPath, '-e', '0'],
      help: [process.execPath, steward, '--help'],
      validate: [process.execPath, steward, 'validate', join(root, 'examples', 'campus.yaml')],
      yaml: [process.execPath, steward, 'render', join(dir, 'large.yaml'), '--out', join(dir, 'out-yaml')],
      json: [process.execPath, steward, 'render', join(dir, 'large.json'), '--out', join(dir, 'out-json')],
    }, 11, root)
    report('CLI, whole process (median of 11)', {
      'node -e 0 ms': ms.node.toFixed(0),
      'steward --help ms': ms.help.toFixed(0),
      'steward validate campus ms': ms.validate.toFixed(0),
      'render 65,536 nodes, YAML ms': ms.yaml.toFixed(0),
      'render 65,536 nodes, JSON ms': ms.json.toFixed(0),
      'steward --help / node -e 0': (ms.help / ms.node).toFixed(2),
      'steward validate / node -e 0': (ms.validate / ms.node).toFixed(2),
      'render 65,536 YAML / node -e 0': (ms.yaml / ms.node).toFixed(2),
      'render 65,536 JSON / node -e 0': (ms.json / ms.node).toFixed(2),
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

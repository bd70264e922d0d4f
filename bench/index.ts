/**
 * `npm run bench`: every benchmark of the project, in one run, each reported with its
 * baseline measured in the same run (these machines are noisy; compare ratios).
 */
import { benchRender } from './render.js'
import { benchApi } from './api.js'
import { benchAccounting } from './accounting.js'
import { benchLimits } from './limits.js'
import { benchCli } from './cli.js'
import { benchPeer } from './peer.js'
import { benchLogin } from './login.js'
import { benchLambdas } from './lambdas.js'
import { benchIdentity } from './identity.js'
import { benchApplies } from './applies.js'
import { benchReads } from './reads.js'
import { benchDashboard } from './dashboard.js'
import { benchUsage } from './usage.js'
import type { Report } from './timing.js'

const report: Report = (name, fields) => {
  console.log(`\n## ${name}`)
  for (const [key, value] of Object.entries(fields)) console.log(`  ${key.padEnd(32)} ${value}`)
}

const only = process.argv[2]
const benches: Record<string, (report: Report) => Promise<void>> = {
  render: benchRender,
  api: benchApi,
  accounting: benchAccounting,
  limits: benchLimits,
  cli: benchCli,
  peer: benchPeer,
  login: benchLogin,
  lambdas: benchLambdas,
  identity: benchIdentity,
  applies: benchApplies,
  reads: benchReads,
  dashboard: benchDashboard,
  usage: benchUsage,
}

for (const [name, bench] of Object.entries(benches)) {
  if (only && only !== name) continue
  await bench(report)
}

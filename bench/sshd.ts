/** The test sshd on loopback (ops/ssh/start.sh, port 12222), started if needed. */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { projectRoot } from '../src/project-root.js'

/** How to reach the test sshd, as ops/ssh/start.sh prints it. */
export interface BenchSshd {
  url: string
  identity: string
  hostKey: string
}

/** Runs ops/ssh/start.sh (idempotent) and returns its connection. */
export async function benchSshd(): Promise<BenchSshd> {
  const { stdout } = await promisify(execFile)('bash', [join(projectRoot(), 'ops', 'ssh', 'start.sh')], { timeout: 300_000 })
  const env = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  const { STEWARD_SSH_URL: url, STEWARD_SSH_KEY: identity, STEWARD_SSH_HOST_KEY: hostKey } = env
  if (!url || !identity || !hostKey) throw new Error(`ops/ssh/start.sh printed no connection: ${stdout}`)
  return { url, identity, hostKey }
}

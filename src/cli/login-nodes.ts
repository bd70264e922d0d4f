/**
 * `steward login-nodes drain|ready|status`: the pools of a spec file, reached as
 * src/login-nodes/access.ts says (HAProxy on this host, NLB through ELBv2, nodes over SSH).
 */
import { parseArgs } from 'node:util'
import { loadSpecFile } from '../spec/load.js'
import { desiredPools } from '../login-nodes/model.js'
import { drainNode, finishDrain, loginNodeStatus, readyNode } from '../login-nodes/drain.js'
import { createLoginAccess, loginHostKeys } from '../login-nodes/access.js'
import { UsageError } from './usage.js'
import { HOST_KEY_RE, HOST_NAME_RE } from '../spec/names.js'

const OPTIONS = {
  spec: { type: 'string' },
  grace: { type: 'string' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
  user: { type: 'string' },
  identity: { type: 'string', short: 'i' },
  'haproxy-dir': { type: 'string' },
  'host-key': { type: 'string', multiple: true },
  'host-key-dir': { type: 'string' },
} as const

/** Runs one login-nodes subcommand; returns the exit code. */
export async function loginNodesCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true, strict: true })
  if (!values.spec) throw new UsageError('login-nodes needs --spec FILE (the cluster spec naming the pools)')
  if (!values.identity) throw new UsageError('login-nodes needs --identity KEYFILE (SSH key for the login nodes)')
  const { spec } = await loadSpecFile(values.spec)
  const pools = desiredPools(spec)
  const hostKeys = loginHostKeys({ cluster: spec.cluster.name, pinned: pinnedHostKeys(values['host-key'] ?? []), poolKeyDir: values['host-key-dir'] })
  const access = createLoginAccess({ spec, nodeUser: values.user ?? 'root', identity: values.identity, haproxyDir: values['haproxy-dir'], hostKeys })
  try {
    switch (sub) {
      case 'status': {
        if (positionals.length > 0) throw new UsageError('login-nodes status takes no node')
        const rows = await loginNodeStatus(pools, access)
        if (values.json) console.log(JSON.stringify(rows, null, 2))
        else {
          console.log(['POOL', 'NODE', 'TARGET', 'STATE', 'HEALTH', 'SESSIONS', 'CONNECTIONS'].join('\t'))
          for (const r of rows) console.log([r.pool, r.node || '-', r.target, r.state, r.health, r.sessions ?? '?', r.connections ?? '-'].join('\t') + (r.error ? `\t(${r.error})` : ''))
        }
        return 0
      }
      case 'drain': {
        const node = oneNode(positionals, 'drain')
        const grace = values.grace === undefined ? undefined : Number(values.grace)
        if (grace !== undefined && !/^\d+$/.test(values.grace ?? '')) throw new UsageError(`--grace must be whole minutes, got "${values.grace}"`)
        const result = await drainNode(pools, node, grace, access)
        console.log(`${node} (pool ${result.pool}) takes no new sessions; ${result.sessions} session(s) notified; they may run until ${result.deadline}`)
        if (values.wait) {
          const how = await finishDrain(pools, node, new Date(result.deadline), access, { pollMs: 10_000 })
          console.log({ empty: `${node} has no session left`, expired: `${node}'s grace period ran out: its remaining sessions were ended`, readied: `${node} was made ready again`, superseded: `${node} was drained again with another deadline` }[how])
        }
        return 0
      }
      case 'ready': {
        const node = oneNode(positionals, 'ready')
        const result = await readyNode(pools, node, access)
        console.log(`${node} (pool ${result.pool}) takes new sessions again`)
        return 0
      }
      default:
        throw new UsageError(`unknown login-nodes command "${sub ?? ''}": use drain, ready or status`)
    }
  } finally {
    await access.close()
  }
}

function oneNode(positionals: string[], what: string): string {
  if (positionals.length !== 1 || !positionals[0]) throw new UsageError(`login-nodes ${what} takes one NODE`)
  return positionals[0]
}

/** `--host-key NODE=SHA256:...`, repeated: each login node's own pinned host key. */
function pinnedHostKeys(flags: readonly string[]): Record<string, string> {
  const pinned: Record<string, string> = {}
  for (const flag of flags) {
    const at = flag.indexOf('=')
    const node = flag.slice(0, at)
    const fingerprint = flag.slice(at + 1)
    if (at < 0 || !HOST_NAME_RE.test(node) || !HOST_KEY_RE.test(fingerprint)) throw new UsageError(`--host-key must be NODE=SHA256:... (ssh-keygen -lf on the node), got "${flag}"`)
    pinned[node] = fingerprint
  }
  return pinned
}

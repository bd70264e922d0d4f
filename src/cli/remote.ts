/**
 * `steward --server URL --token-file F <command>`: the read commands through the REST
 * API, for people with no shell on the controller. One table entry per command: adding
 * one (usage, budgets) is one line in REMOTE_COMMANDS.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { bearerSecret } from '../auth/tokens.js'
import { NAME_RE } from '../spec/names.js'
import type { GpusResponse, ReliabilityResponse } from '../api/routes/cluster-state.js'
import type { Me } from '../me/me.js'
import { RELIABILITY_OPTIONS, intOption, reliabilityAsk } from './cluster-state.js'
import { formatGpus, formatMe, formatReliability } from './cluster-state-format.js'
import { UsageError } from './usage.js'
import { BUDGETS_OPTIONS, USAGE_OPTIONS, budgetsAnswerOf, budgetsPath, formatBudgets, formatUsage, usageAnswerOf, usagePath } from './budgets.js'

const OPTIONS = {
  server: { type: 'string' },
  'token-file': { type: 'string' },
  cluster: { type: 'string' },
  json: { type: 'boolean' },
  csv: { type: 'boolean' },
  revision: { type: 'string' },
  ...RELIABILITY_OPTIONS,
  ...USAGE_OPTIONS,
  ...BUDGETS_OPTIONS,
} as const

type Values = ReturnType<typeof parse>['values']
const parse = (argv: string[]) => parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })

/** Thrown when the service answers with an error (its message is the API's). */
export class RemoteError extends Error {
  override name = 'RemoteError'
}

interface RemoteCommand {
  /** Whether the command is about one cluster (`--cluster`, or the token's only one). */
  cluster: boolean
  method?: 'GET' | 'POST'
  path(cluster: string, values: Values): string
  print(body: unknown, cluster: string, values: Values): string
  /** For `--json`: the answer held to its route's contract, as `print` holds it for a table (a `ServiceError` naming the field when it does not fit). */
  check?(body: unknown, cluster: string): unknown
}

const query = (pairs: Record<string, string | number | undefined>): string => {
  const q = new URLSearchParams(Object.entries(pairs).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString()
  return q ? `?${q}` : ''
}

export const REMOTE_COMMANDS: Record<string, RemoteCommand> = {
  gpus: { cluster: true, path: (c) => `/v1/clusters/${c}/gpus`, print: (b) => formatGpus(b as GpusResponse) },
  reliability: { cluster: true, path: (c, v) => `/v1/clusters/${c}/reliability${query(reliabilityAsk(v))}`, print: (b) => formatReliability(b as ReliabilityResponse) },
  whoami: { cluster: true, path: (c) => `/v1/me${query({ cluster: c })}`, print: (b) => formatMe(b as Me) },
  usage: { cluster: true, path: usagePath, print: formatUsage, check: usageAnswerOf },
  budgets: { cluster: true, path: budgetsPath, print: formatBudgets, check: budgetsAnswerOf },
  plan: { cluster: true, method: 'POST', path: (c, v) => `/v1/clusters/${c}/plan${query({ revision: intOption('revision', v.revision, 1, 1e9) })}`, print: formatRemotePlan },
}

function formatRemotePlan(body: unknown): string {
  const b = body as { revision: number; files: Array<{ name?: string; changed?: boolean }>; accounting: { operations?: Array<{ summary?: string }> } | null }
  const files = b.files.filter((f) => f.changed).map((f) => f.name ?? '?')
  const ops = b.accounting?.operations ?? []
  return [`revision ${b.revision}: ${files.length ? `files that would change: ${files.join(', ')}` : 'no file changes'}`, `${ops.length} accounting step(s)`, ...ops.map((o, i) => `${String(i + 1).padStart(4)} ${o.summary ?? ''}`)].join('\n')
}

/** The service's base URL: http or https, nothing after the host but an optional path prefix. */
function serverUrl(text: string | undefined): URL {
  if (!text) throw new UsageError('--server needs the service URL, e.g. https://steward.example.edu')
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new UsageError(`--server "${text}" is not a URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`--server must be http or https, got ${url.protocol}`)
  if (url.username || url.password || url.search || url.hash) throw new UsageError('--server takes no credentials, query or fragment: the token comes from --token-file')
  return url
}

async function readToken(file: string | undefined): Promise<string> {
  if (!file) throw new UsageError('--server needs --token-file FILE (a file holding the API token, readable only by you)')
  const text = (await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read --token-file ${file}: ${err.code ?? err.message}`)
  })).trim()
  const secret = bearerSecret(`Bearer ${text}`)
  if (!secret) throw new UsageError(`--token-file ${file} does not hold an API token (stw_...)`)
  return secret
}

/** Runs `steward --server URL --token-file F <command> [options]`; returns the exit code. */
export async function remoteMain(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv)
  const [name, ...rest] = positionals
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`)
  const command = name && Object.hasOwn(REMOTE_COMMANDS, name) ? REMOTE_COMMANDS[name] : undefined
  if (!command) throw new UsageError(`with --server the commands are ${Object.keys(REMOTE_COMMANDS).join(', ')}; got "${name ?? ''}"`)
  const base = serverUrl(values.server)
  const secret = await readToken(values['token-file'])
  const call = async (method: string, path: string): Promise<unknown> => {
    const url = new URL(base.pathname.replace(/\/$/, '') + path, base)
    const response = await fetch(url, { method, headers: { authorization: `Bearer ${secret}`, accept: 'application/json' }, signal: AbortSignal.timeout(60_000) })
      .catch((err: unknown) => { throw new RemoteError(`cannot reach ${base.origin}`, { cause: err }) })
    const body = await response.json().catch(() => null) as { message?: string } | null
    if (!response.ok) throw new RemoteError(`${method} ${path}: ${response.status} ${body?.message ?? response.statusText}`)
    return body
  }
  let cluster = values.cluster ?? ''
  if (command.cluster && !cluster) {
    const { items } = await call('GET', '/v1/clusters?limit=2') as { items: Array<{ name: string }> }
    if (items.length !== 1) throw new UsageError(`say which cluster with --cluster NAME (this token sees ${items.length === 0 ? 'none' : 'several'})`)
    cluster = items[0]?.name ?? ''
  }
  if (cluster && !NAME_RE.test(cluster)) throw new UsageError(`--cluster "${cluster}" is not a cluster name`)
  const body = await call(command.method ?? 'GET', command.path(cluster, values))
  console.log(values.json ? JSON.stringify(command.check ? command.check(body, cluster) : body, null, 2) : command.print(body, cluster, values))
  return 0
}

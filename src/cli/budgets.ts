/**
 * `steward usage` and `steward budgets`: clients of the service's REST API (the service
 * reads Slurm accounting and scopes what a token may see). The token comes from
 * STEWARD_TOKEN (never an argument: arguments show in `ps`); the service from --url or
 * STEWARD_URL (default http://127.0.0.1:8080). The same reads run as
 * `steward --server URL --token-file F usage|budgets` (src/cli/remote.ts) with the same
 * paths and formatting from here. Tables for people, --json or --csv for tools.
 */
import { parseArgs } from 'node:util'
import type { Static, TSchema } from '@sinclair/typebox'
import { Errors } from '@sinclair/typebox/errors'
import { isName } from '../spec/names.js'
import { BudgetsAnswer, MONTH_RE, UsageAnswer, type Reconciliation } from '../budgets/contract.js'
import { UsageError } from './usage.js'

interface Client {
  url: string
  token: string
}

/** Thrown when the service answers with an error; the message is the service's. */
export class ServiceError extends Error {
  override name = 'ServiceError'
}

function clientOf(url: string | undefined): Client {
  const token = process.env.STEWARD_TOKEN
  if (!token) throw new UsageError('set STEWARD_TOKEN to an API token (steward token create ...)')
  const base = url ?? process.env.STEWARD_URL ?? 'http://127.0.0.1:8080'
  if (!/^https?:\/\/[\w.-]+(?::\d{1,5})?$/.test(base)) throw new UsageError(`--url must be http(s)://HOST[:PORT], got "${base}"`)
  return { url: base, token }
}

async function call(c: Client, method: 'GET' | 'POST', path: string): Promise<unknown> {
  const res = await fetch(`${c.url}${path}`, { method, headers: { authorization: `Bearer ${c.token}` } })
  const body = await res.json().catch(() => ({})) as { message?: string }
  if (!res.ok) throw new ServiceError(`${method} ${path}: ${res.status} ${body.message ?? res.statusText}`)
  return body
}

/**
 * `body` checked against the contract `schema` of the answer to `what` (the route's own
 * response schema): a service that sends something else is a ServiceError naming the field.
 */
export function answerOf<T extends TSchema>(schema: T, body: unknown, what: string): Static<T> {
  const wrong = Errors(schema, body).First()
  if (wrong) throw new ServiceError(`${what}: the service's answer does not fit its contract at ${wrong.path || '/'}: ${wrong.message}`)
  return body as Static<T>
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
export function csvField(value: unknown): string {
  const text = String(value ?? '')
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** Rows as CSV with a header line. */
export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n')
}

/** Rows as an aligned table (numbers right-aligned). */
export function toTable(header: string[], rows: unknown[][]): string {
  const cells = [header, ...rows.map((r) => r.map((v) => String(v ?? '')))]
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  return cells.map((r, n) => r.map((v, i) => (n > 0 && /^-?[\d.]+%?$/.test(v) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n')
}

const common = {
  url: { type: 'string' }, cluster: { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' },
} as const

function clusterOf(value: string | undefined): string {
  if (!value || !isName(value)) throw new UsageError('--cluster NAME is required')
  return value
}

/** The usage options both ways of reaching the service take (`--from`, `--to`, `--group-by`). */
export const USAGE_OPTIONS = { from: { type: 'string' }, to: { type: 'string' }, 'group-by': { type: 'string' } } as const
/** A usage answer held to the usage route's contract (`ServiceError` naming the field otherwise). */
export const usageAnswerOf = (body: unknown, cluster: string): Static<typeof UsageAnswer> => answerOf(UsageAnswer, body, `GET /v1/clusters/${cluster}/usage`)

/** A budgets answer held to the budgets route's contract. */
export const budgetsAnswerOf = (body: unknown, cluster: string): Static<typeof BudgetsAnswer> => answerOf(BudgetsAnswer, body, `GET /v1/clusters/${cluster}/budgets`)

/** The budgets options (`--month`). */
export const BUDGETS_OPTIONS = { month: { type: 'string' } } as const

/** GET .../usage with the options given. */
export function usagePath(cluster: string, values: { from?: string | undefined; to?: string | undefined; 'group-by'?: string | undefined }): string {
  const query = new URLSearchParams()
  if (values.from) query.set('from', values.from)
  if (values.to) query.set('to', values.to)
  if (values['group-by']) query.set('groupBy', values['group-by'])
  return `/v1/clusters/${cluster}/usage?${query}`
}

/** A usage answer as a table (with a title and the total) or CSV; garbled lines are said on stderr. */
export function formatUsage(body: unknown, cluster: string, values: { 'group-by'?: string | undefined; csv?: boolean | undefined }): string {
  const answer = usageAnswerOf(body, cluster)
  const by = values['group-by'] ?? 'department'
  const header = [by.toUpperCase(), 'JOBS', 'GPU-HOURS', 'CPU-HOURS', 'NODE-HOURS', 'BILLED-NODE-HOURS', `COST (${answer.currency})`]
  const row = (l: Static<typeof UsageAnswer>['lines'][number]) => [l.key, l.jobs, l.gpuHours, l.cpuHours, l.nodeHours, l.billedNodeHours, l.cost]
  if (values.csv) return toCsv(header, answer.lines.map(row))
  if (answer.garbledLines > 0) console.error(`${answer.garbledLines} line(s) of sacct output could not be read and were not charged (see --json)`)
  return `${cluster}: ${answer.from} to ${answer.to}\n${toTable(header, [...answer.lines.map(row), row(answer.total)])}`
}

/** `steward usage --cluster C [--from D] [--to D] [--group-by department|account|user|partition|nodeGroup] [--json|--csv]` */
export async function usageCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...common, ...USAGE_OPTIONS } })
  const cluster = clusterOf(values.cluster)
  const body = await call(clientOf(values.url), 'GET', usagePath(cluster, values))
  // Held to the contract once: by formatUsage for a table, here for --json.
  console.log(values.json ? JSON.stringify(usageAnswerOf(body, cluster), null, 2) : formatUsage(body, cluster, values))
  return 0
}

const money = (cents: number): string => (cents / 100).toFixed(2)

/** `steward budgets [--month YYYY-MM] [--json|--csv]`, `steward budgets check`, `steward budgets lift DEPARTMENT`, `steward budgets reconcile --month M` (each with --cluster C); `steward budgets aws-sync FILE ...` (budgets-aws.ts). */
export async function budgetsCommand(args: string[]): Promise<number> {
  if (args[0] === 'aws-sync') return (await import('./budgets-aws.js')).awsSyncCommand(args.slice(1))
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...common, ...BUDGETS_OPTIONS } })
  const cluster = clusterOf(values.cluster)
  const client = clientOf(values.url)
  const [sub, department, ...extra] = positionals
  if (sub === 'check' || sub === 'lift') {
    const usage = sub === 'lift' ? 'usage: steward budgets lift DEPARTMENT --cluster C' : 'usage: steward budgets check --cluster C'
    if (sub === 'lift' && (!department || !isName(department))) throw new UsageError(usage)
    const extras = sub === 'check' ? positionals.slice(1) : extra
    if (extras.length > 0) throw new UsageError(`${usage}: "${extras.join(' ')}" is more than it takes (one department a lift)`)
    if (values.month !== undefined) throw new UsageError(`${usage}: ${sub} acts on this month; --month is for steward budgets and budgets reconcile`)
    const answer = await call(client, 'POST', sub === 'check' ? `/v1/clusters/${cluster}/budgets/check` : `/v1/clusters/${cluster}/budgets/${department}/lift`)
    console.log(JSON.stringify(answer, null, 2))
    return 0
  }
  if (sub === 'reconcile' && positionals.length > 1) throw new UsageError(`usage: steward budgets reconcile --cluster C --month YYYY-MM: "${positionals.slice(1).join(' ')}" is more than it takes`)
  if (sub === 'reconcile') return reconcileCommand(client, cluster, checkedMonth(values.month), values.json === true)
  if (sub !== undefined) throw new UsageError(`unknown budgets command "${sub}": use check, lift, reconcile or aws-sync`)
  const body = await call(client, 'GET', budgetsPath(cluster, values))
  // Held to the contract once: by formatBudgets for a table, here for --json.
  console.log(values.json ? JSON.stringify(budgetsAnswerOf(body, cluster), null, 2) : formatBudgets(body, cluster, values))
  return 0
}

/** `--month` as given, refused unless YYYY-MM (the API's pattern). */
function checkedMonth(month: string | undefined): string | undefined {
  if (month !== undefined && !MONTH_RE.test(month)) throw new UsageError('--month must be YYYY-MM')
  return month
}

/** GET .../budgets for `--month` (checked) or this month. */
export function budgetsPath(cluster: string, values: { month?: string | undefined }): string {
  checkedMonth(values.month)
  return `/v1/clusters/${cluster}/budgets${values.month ? `?month=${values.month}` : ''}`
}

/** A budgets answer as a table or CSV. */
export function formatBudgets(body: unknown, cluster: string, values: { csv?: boolean | undefined }): string {
  const answer = budgetsAnswerOf(body, cluster)
  const header = ['DEPARTMENT', 'BUDGET', 'SPENT', 'PERCENT', 'FORECAST', 'CROSSED', 'ON-EXCEEDED', 'ACTION']
  const rows = answer.departments.map((d) => [
    d.department, `${money(d.budgetCents)} ${d.currency}`, money(d.spendCents), `${d.percent}%`, money(d.forecastCents),
    d.crossed.map((c) => `${c}%`).join(' ') || '-', d.onExceeded, d.action ? `${d.action.action}${d.action.endedAt ? ' (ended)' : ''}` : '-',
  ])
  if (values.csv) return toCsv(header, rows)
  return `${cluster}: budgets of ${answer.month}\n${toTable(header, rows)}`
}

/** `steward budgets reconcile --cluster C --month YYYY-MM [--json]`: the AWS bill beside the chargeback (admin). */
async function reconcileCommand(client: Client, cluster: string, month: string | undefined, json: boolean): Promise<number> {
  if (!month) throw new UsageError('usage: steward budgets reconcile --cluster C --month YYYY-MM')
  const r = await call(client, 'GET', `/v1/clusters/${cluster}/budgets/reconcile?month=${month}`) as Reconciliation
  if (json) {
    console.log(JSON.stringify(r, null, 2))
    return 0
  }
  const pct = (p: number | null) => (p === null ? '-' : `${p}%`)
  console.log(`${cluster}: AWS bill of ${r.month} and the departments' chargeback (${r.currency})`)
  console.log(toTable(['DEPARTMENT', 'CHARGED', 'OF-BILL'], [
    ...r.departments.map((d) => [d.department, d.cost.toFixed(2), pct(d.percentOfBill)]),
    ['allocated', r.allocated.toFixed(2), pct(r.awsBill > 0 ? Math.round((r.allocated / r.awsBill) * 10_000) / 100 : null)],
    ['idle/unallocated', r.unallocated.toFixed(2), pct(r.unallocatedPercent)],
    ['AWS bill', r.awsBill.toFixed(2), ''],
  ]))
  for (const n of r.notes) console.error(`note: ${n}`)
  return 0
}

/**
 * Cost Explorer's `GetCostAndUsage` for the emulator front (JSON protocol, target prefix
 * `AWSInsightsIndexService`).
 *
 * moto 5.2.1 answers GetCostAndUsage with static results queued through its moto-api, keyed
 * by the exact request body: it ignores the time period, the granularity, GroupBy and the
 * filter, validates nothing and never pages. Here the answer is computed from seeded line
 * items (a day, an amount, the resource's tags): MONTHLY and DAILY granularity, GroupBy TAG
 * (at most 2 groupings, keys `Tag$value`, `Tag$` for untagged cost), a Tags / And / Or / Not
 * filter, End exclusive, and a page limit on groups (NextPageToken). Other operations go to moto.
 */
import { AwsFault, type FrontService } from './protocol.js'

export interface LineItem {
  /** YYYY-MM-DD */
  day: string
  amount: number
  unit?: string
  tags?: Record<string, string>
}

export interface EmulatedCostExplorer {
  service: FrontService
  seed(items: LineItem[]): void
  /** Groups per answer (AWS pages large results; small here so tests see pages). */
  pageSize: number
  clear(): void
}

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/
const METRICS = new Set(['AmortizedCost', 'BlendedCost', 'NetAmortizedCost', 'NetUnblendedCost', 'NormalizedUsageAmount', 'UnblendedCost', 'UsageQuantity'])
const invalid = (message: string) => new AwsFault('ValidationException', message)

type Expr = Record<string, unknown>

function matches(expr: Expr, item: LineItem): boolean {
  if (Array.isArray(expr.And)) return (expr.And as Expr[]).every((e) => matches(e, item))
  if (Array.isArray(expr.Or)) return (expr.Or as Expr[]).some((e) => matches(e, item))
  if (expr.Not) return !matches(expr.Not as Expr, item)
  const tags = expr.Tags as { Key?: string; Values?: string[]; MatchOptions?: string[] } | undefined
  if (tags) {
    if (!tags.Key) throw invalid('Tags.Key is required')
    const value = item.tags?.[tags.Key]
    if ((tags.MatchOptions ?? []).includes('ABSENT')) return value === undefined
    return value !== undefined && (tags.Values ?? []).includes(value)
  }
  throw invalid(`the emulator implements Tags, And, Or and Not filters only, not ${Object.keys(expr).join(', ')}`)
}

function periods(start: string, end: string, granularity: string): Array<{ Start: string; End: string }> {
  const out: Array<{ Start: string; End: string }> = []
  const endTime = Date.parse(`${end}T00:00:00Z`)
  let t = Date.parse(`${start}T00:00:00Z`)
  while (t < endTime) {
    const d = new Date(t)
    const next = granularity === 'DAILY' ? t + 86_400_000 : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
    const stop = Math.min(next, endTime)
    out.push({ Start: new Date(t).toISOString().slice(0, 10), End: new Date(stop).toISOString().slice(0, 10) })
    t = stop
  }
  return out
}

/** The Cost Explorer service of the front. */
export function createCostExplorer(): EmulatedCostExplorer {
  let items: LineItem[] = []
  const state: EmulatedCostExplorer = {
    service: { targetPrefix: 'AWSInsightsIndexService', operations: { GetCostAndUsage: getCostAndUsage } },
    seed: (more) => { items.push(...more) },
    pageSize: 100,
    clear: () => { items = [] },
  }

  function getCostAndUsage(body: Record<string, unknown>): unknown {
    const period = body.TimePeriod as { Start?: unknown; End?: unknown } | undefined
    if (!period || typeof period.Start !== 'string' || typeof period.End !== 'string' || !DAY_RE.test(period.Start) || !DAY_RE.test(period.End)) throw invalid('TimePeriod {Start, End} (YYYY-MM-DD) is required')
    if (period.Start >= period.End) throw invalid('Start date (inclusive) must be before End date (exclusive)')
    const granularity = body.Granularity
    if (granularity !== 'MONTHLY' && granularity !== 'DAILY') throw invalid(`Granularity ${String(granularity)}: the emulator implements MONTHLY and DAILY`)
    const metrics = body.Metrics
    if (!Array.isArray(metrics) || metrics.length === 0) throw invalid('Metrics is required')
    for (const m of metrics) if (!METRICS.has(String(m))) throw invalid(`Metric ${String(m)} is not valid`)
    const groupBy = (Array.isArray(body.GroupBy) ? body.GroupBy : []) as Array<{ Type?: string; Key?: string }>
    if (groupBy.length > 2) throw invalid('GroupBy takes at most 2 groupings')
    for (const g of groupBy) {
      if (g.Type !== 'TAG' || !g.Key) throw invalid(`GroupBy ${JSON.stringify(g)}: the emulator implements TAG groupings only`)
    }
    const filter = body.Filter as Expr | undefined
    const offset = body.NextPageToken === undefined ? 0 : Number.parseInt(String(body.NextPageToken), 10)
    if (!Number.isInteger(offset) || offset < 0) throw new AwsFault('InvalidNextTokenException', 'The next page token is not valid')
    const keyOf = (item: LineItem): string[] => groupBy.map((g) => `${g.Key}$${item.tags?.[g.Key ?? ''] ?? ''}`)
    const metricsOf = (amount: number, unit: string) => Object.fromEntries(metrics.map((m) => [String(m), { Amount: String(Number(amount.toFixed(10))), Unit: unit }]))
    // Every (period, group) pair in a fixed order; a page is a slice of them.
    const rows: Array<{ period: { Start: string; End: string }; keys: string[]; amount: number; unit: string }> = []
    const all = periods(period.Start, period.End, granularity)
    for (const p of all) {
      const inside = items.filter((i) => i.day >= p.Start && i.day < p.End && (!filter || matches(filter, i)))
      if (groupBy.length === 0) {
        rows.push({ period: p, keys: [], amount: inside.reduce((s, i) => s + i.amount, 0), unit: inside[0]?.unit ?? 'USD' })
        continue
      }
      const groups = new Map<string, { keys: string[]; amount: number; unit: string }>()
      for (const i of inside) {
        const keys = keyOf(i)
        const g = groups.get(keys.join('\u0000')) ?? { keys, amount: 0, unit: i.unit ?? 'USD' }
        g.amount += i.amount
        groups.set(keys.join('\u0000'), g)
      }
      for (const g of [...groups.values()].sort((a, b) => a.keys.join().localeCompare(b.keys.join()))) rows.push({ period: p, ...g })
    }
    const slice = rows.slice(offset, offset + state.pageSize)
    const byPeriod = new Map<string, { TimePeriod: { Start: string; End: string }; Total: Record<string, unknown>; Groups: unknown[]; Estimated: boolean }>()
    for (const r of slice) {
      const entry = byPeriod.get(r.period.Start) ?? { TimePeriod: r.period, Total: {}, Groups: [], Estimated: r.period.End > new Date().toISOString().slice(0, 10) }
      if (groupBy.length === 0) entry.Total = metricsOf(r.amount, r.unit)
      else entry.Groups.push({ Keys: r.keys, Metrics: metricsOf(r.amount, r.unit) })
      byPeriod.set(r.period.Start, entry)
    }
    return {
      ResultsByTime: [...byPeriod.values()],
      GroupDefinitions: groupBy.map((g) => ({ Type: g.Type, Key: g.Key })),
      DimensionValueAttributes: [],
      ...(offset + state.pageSize < rows.length ? { NextPageToken: String(offset + state.pageSize) } : {}),
    }
  }
  return state
}

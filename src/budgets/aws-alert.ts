/**
 * What an AWS Budgets notification says, from the message SNS delivers. AWS does not
 * specify the message: it is the plain-text "AWS Budget Notification" (the e-mail's text,
 * with the threshold as an amount, `Alert Threshold: > $800.00`) or a JSON object with
 * field names that vary. Both are parsed here; what a message leaves open (no budget
 * amount, a threshold as an amount that does not land on a configured percentage, no
 * alert type) is settled by the budget read back through the Budgets API ({@link resolveAlert}).
 * Then the event for the service's `POST /v1/clusters/{c}/budgets/events`. Pure.
 */
import { MAX_THRESHOLD_PERCENT, type NotificationType } from './aws-budget.js'
import type { BudgetEventBody } from './contract.js'

/** What one message says; amounts in its currency, undefined when it does not say. */
export interface ParsedAlert {
  form: 'text' | 'json'
  budgetName: string
  notificationType?: NotificationType
  thresholdPercent?: number
  /** The threshold as an amount (the plain-text form). */
  thresholdAmount?: number
  /** The spend the alert is about (actual, or forecasted for a FORECASTED alert). */
  spend?: number
  budgetLimit?: number
  currency?: string
  accountId?: string
}

/** The budget as the Budgets API shows it. */
export interface BudgetReadback {
  limit: number
  currency: string
  actual: number
  forecasted: number
  /** Its percentage notifications (GREATER_THAN). */
  notifications: Array<{ type: NotificationType; threshold: number }>
}

export interface ResolvedAlert {
  budgetName: string
  notificationType: NotificationType
  thresholdPercent: number
  /** The actual spend: the message's for an ACTUAL alert, else the budget's read back (a forecast is not spend). */
  actualSpend?: number
  /** The forecast a FORECASTED alert is about. */
  forecastedSpend?: number
  budgetLimit?: number
  currency?: string
}

const SYMBOLS: Record<string, string> = { $: 'USD', '€': 'EUR', '£': 'GBP', '¥': 'JPY' }

/** `$1,234.50`, `1234.5 USD`, `USD 1,234.50` -> amount and currency. */
export function parseMoney(text: string): { amount: number; currency?: string } | undefined {
  const m = /^(?:([A-Z]{3}) ?|([$€£¥]))?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?: ?([A-Z]{3}))?$/u.exec(text.trim())
  if (!m) return undefined
  const amount = Number(`${(m[3] ?? '').replaceAll(',', '')}${m[4] ?? ''}`)
  const currency = m[1] ?? m[5] ?? (m[2] ? SYMBOLS[m[2]] : undefined)
  return Number.isFinite(amount) ? { amount, ...(currency ? { currency } : {}) } : undefined
}

const typeOf = (v: unknown): NotificationType | undefined => {
  const s = String(v ?? '').trim().toUpperCase()
  return s === 'ACTUAL' || s === 'FORECASTED' ? s : undefined
}

/** The plain-text form: `Label: value` lines after the greeting. */
function parseText(message: string): ParsedAlert | undefined {
  const fields = new Map<string, string>()
  for (const raw of message.split('\n')) {
    const line = raw.trim()
    const colon = line.indexOf(':')
    if (colon < 2) continue
    const label = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (/^[a-z][a-z ]{1,40}$/.test(label) && value && !fields.has(label)) fields.set(label, value)
  }
  const budgetName = fields.get('budget name')
  if (!budgetName) return undefined
  const notificationType = typeOf(fields.get('alert type'))
  const limit = parseMoney(fields.get('budgeted amount') ?? '')
  const thresholdText = (fields.get('alert threshold') ?? '').replace(/^[<=>]+/, '').trim()
  const percent = /^(\d+(?:\.\d+)?) ?%$/.exec(thresholdText)
  const threshold = percent ? undefined : parseMoney(thresholdText)
  const spend = parseMoney(fields.get(`${(notificationType ?? 'actual').toLowerCase()} amount`) ?? '')
  const account = /AWS Account[ :]{1,3}(\d{12})/i.exec(message)?.[1]
  return {
    form: 'text', budgetName,
    ...(notificationType ? { notificationType } : {}),
    ...(percent ? { thresholdPercent: Number(percent[1]) } : {}),
    ...(threshold ? { thresholdAmount: threshold.amount } : {}),
    ...(spend ? { spend: spend.amount } : {}),
    ...(limit ? { budgetLimit: limit.amount } : {}),
    ...(limit?.currency ?? spend?.currency ?? threshold?.currency ? { currency: limit?.currency ?? spend?.currency ?? threshold?.currency } : {}),
    ...(account ? { accountId: account } : {}),
  }
}

/** A JSON object's field by any of its names, case-insensitive, one level of nesting (`budget.name`). */
function pick(o: Record<string, unknown>, ...names: string[]): unknown {
  const lower = new Map(Object.entries(o).map(([k, v]) => [k.toLowerCase(), v]))
  for (const n of names) {
    const [head, ...rest] = n.toLowerCase().split('.')
    const v = lower.get(head ?? '')
    if (rest.length === 0 && v !== undefined && v !== null && v !== '') return v
    if (rest.length && typeof v === 'object' && v !== null) {
      const inner = pick(v as Record<string, unknown>, rest.join('.'))
      if (inner !== undefined) return inner
    }
  }
  return undefined
}

function amountOf(v: unknown): { amount: number; currency?: string } | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return { amount: v }
  if (typeof v === 'string') return parseMoney(v)
  if (typeof v === 'object' && v !== null) {
    const a = amountOf(pick(v as Record<string, unknown>, 'amount'))
    const unit = pick(v as Record<string, unknown>, 'unit', 'currency')
    return a ? { ...a, ...(typeof unit === 'string' ? { currency: unit } : {}) } : undefined
  }
  return undefined
}

function parseJson(o: Record<string, unknown>): ParsedAlert | undefined {
  const budgetName = pick(o, 'budgetName', 'budget_name', 'budget.budgetName', 'budget.name', 'budget')
  if (typeof budgetName !== 'string' || budgetName.length === 0) return undefined
  const notificationType = typeOf(pick(o, 'notificationType', 'notification.notificationType', 'alertType', 'type'))
  const thresholdType = String(pick(o, 'thresholdType', 'notification.thresholdType') ?? 'PERCENTAGE').toUpperCase()
  const threshold = amountOf(pick(o, 'thresholdPercent', 'threshold', 'notification.threshold', 'alertThreshold'))
  const limit = amountOf(pick(o, 'budgetLimit', 'budgetedAmount', 'budget.budgetLimit', 'limit'))
  const spend = amountOf(pick(o, notificationType === 'FORECASTED' ? 'forecastedSpend' : 'actualSpend', 'spend', 'actualAmount', 'amount'))
  const currency = pick(o, 'currency', 'unit') ?? limit?.currency ?? spend?.currency
  const account = pick(o, 'accountId', 'account')
  return {
    form: 'json', budgetName,
    ...(notificationType ? { notificationType } : {}),
    ...(threshold && thresholdType === 'PERCENTAGE' ? { thresholdPercent: threshold.amount } : {}),
    ...(threshold && thresholdType === 'ABSOLUTE_VALUE' ? { thresholdAmount: threshold.amount } : {}),
    ...(spend ? { spend: spend.amount } : {}),
    ...(limit ? { budgetLimit: limit.amount } : {}),
    ...(typeof currency === 'string' ? { currency } : {}),
    ...(typeof account === 'string' && /^\d{12}$/.test(account) ? { accountId: account } : {}),
  }
}

/** Either form; `undefined` for a message that is neither (logged and dropped by the caller). */
export function parseBudgetMessage(message: string): ParsedAlert | undefined {
  const trimmed = message.trim()
  if (trimmed.startsWith('{')) {
    try {
      const value: unknown = JSON.parse(trimmed)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return parseJson(value as Record<string, unknown>)
    } catch {
      // not JSON after all: try the text form
    }
  }
  return parseText(message)
}

/** Percent from an amount, rounded to 2 decimals. */
const percentOf = (amount: number, limit: number): number => Math.round((amount / limit) * 10_000) / 100

/**
 * True when the message alone does not settle the alert: no type, no budget amount, or a
 * threshold given as an amount that is not a whole percentage of it (`$266.66` of `$333.33`:
 * which configured percentage it came from is only certain against the notifications).
 */
export function needsReadback(p: ParsedAlert): boolean {
  if (!p.notificationType || p.budgetLimit === undefined || !(p.budgetLimit > 0)) return true
  if (p.thresholdPercent !== undefined) return false
  if (p.thresholdAmount === undefined) return true
  const percent = (p.thresholdAmount / p.budgetLimit) * 100
  return Math.abs(percent - Math.round(percent)) > 1e-9
}

/**
 * The alert, settled with the budget read back when the message left something open: the
 * budget's amount, and a threshold given as an amount snapped to the configured percentage
 * of that type it came from (within one percentage point: the message rounds to the cent).
 * Returns a reason string when it cannot be settled.
 */
export function resolveAlert(p: ParsedAlert, back?: BudgetReadback): ResolvedAlert | string {
  const budgetLimit = p.budgetLimit ?? back?.limit
  const currency = p.currency ?? back?.currency
  let type = p.notificationType
  let percent = p.thresholdPercent
  if (percent === undefined && p.thresholdAmount !== undefined && budgetLimit) percent = percentOf(p.thresholdAmount, budgetLimit)
  if (back && percent !== undefined) {
    const candidates = back.notifications.filter((n) => !type || n.type === type)
    const nearest = candidates.map((n) => ({ n, d: Math.abs(n.threshold - (percent ?? 0)) })).sort((a, b) => a.d - b.d)[0]
    if (nearest && nearest.d <= 1) {
      percent = nearest.n.threshold
      type ??= nearest.n.type
    }
  }
  if (!type) return `the message of budget ${p.budgetName} does not say ACTUAL or FORECASTED, and the budget has no notification at that threshold`
  if (percent === undefined) return `the message of budget ${p.budgetName} gives no threshold that can be read as a percentage`
  if (!(percent > 0 && percent <= MAX_THRESHOLD_PERCENT)) return `threshold ${percent}% of budget ${p.budgetName} is outside (0, ${MAX_THRESHOLD_PERCENT}]`
  const actualSpend = type === 'ACTUAL' ? p.spend ?? back?.actual : back?.actual
  const forecastedSpend = type === 'FORECASTED' ? p.spend ?? back?.forecasted : undefined
  return {
    budgetName: p.budgetName, notificationType: type, thresholdPercent: percent,
    ...(actualSpend !== undefined ? { actualSpend } : {}), ...(forecastedSpend !== undefined ? { forecastedSpend } : {}), ...(budgetLimit !== undefined ? { budgetLimit } : {}), ...(currency ? { currency } : {}),
  }
}

/** `YYYY-MM` (UTC) of an ISO time, e.g. the SNS message's Timestamp. */
export function monthOf(iso: string): string | undefined {
  const t = Date.parse(iso)
  return Number.isFinite(t) ? new Date(t).toISOString().slice(0, 7) : undefined
}

/** The dedupe key of an alert: one per (budget, month, threshold, type), whatever delivered it. */
export const alertKey = (a: Pick<ResolvedAlert, 'budgetName' | 'notificationType' | 'thresholdPercent'>, month: string): string =>
  `aws-budgets:${a.budgetName}:${month}:${a.notificationType}:${a.thresholdPercent}`.slice(0, 200)

/** The service's event for the alert. */
export function eventBody(a: ResolvedAlert, month: string, department: string | null): BudgetEventBody {
  return {
    eventId: alertKey(a, month), source: 'aws-budgets', budgetName: a.budgetName, department, month,
    thresholdPercent: a.thresholdPercent, notificationType: a.notificationType,
    ...(a.actualSpend !== undefined ? { actualSpend: a.actualSpend } : {}),
    ...(a.budgetLimit !== undefined ? { budgetLimit: a.budgetLimit } : {}),
    ...(a.currency ? { currency: a.currency } : {}),
  }
}

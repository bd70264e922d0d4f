/**
 * The budgets' wire contracts, declared once as TypeBox schemas: the route checks against
 * them, and the service, the budget-alert Lambda and the CLI use their `Static` types.
 * Domain code: no Fastify, no SDK.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Name } from '../spec/names.js'
import { MAX_THRESHOLD_PERCENT } from './aws-budget.js'

/** A month, `YYYY-MM` (01 to 12). */
export const MONTH_RE = /^\d{4}-(?:0[1-9]|1[0-2])$/
export const Month = Type.String({ pattern: MONTH_RE.source, maxLength: 7, description: 'YYYY-MM' })

/**
 * The body of `POST /v1/clusters/{c}/budgets/events`: an event of AWS Budgets as the
 * budget-alert Lambda posts it (the contract between the Lambda and the service).
 */
export const BudgetEventBody = Type.Object({
  eventId: Type.String({ minLength: 1, maxLength: 200 }),
  source: Type.Literal('aws-budgets'),
  budgetName: Type.String({ minLength: 1, maxLength: 100 }),
  department: Type.Union([Name, Type.Null()]),
  month: Month,
  thresholdPercent: Type.Number({ exclusiveMinimum: 0, maximum: MAX_THRESHOLD_PERCENT }),
  notificationType: Type.Union([Type.Literal('ACTUAL'), Type.Literal('FORECASTED')]),
  actualSpend: Type.Optional(Type.Number({ minimum: 0 })),
  budgetLimit: Type.Optional(Type.Number({ minimum: 0 })),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', maxLength: 3 })),
  /**
   * The budget's contacts, told by the sender (the Lambda): `wanted` asks whether it must
   * still tell them (the answer's `notice`), `sent` says it did. The service keeps the
   * answer across deliveries and containers: a notice is sent until one is confirmed.
   */
  notice: Type.Optional(Type.Union([Type.Literal('wanted'), Type.Literal('sent')])),
}, { additionalProperties: false })
export type BudgetEventBody = Static<typeof BudgetEventBody>

/** What a budget asks for: nothing, a notice, or an action on its department's jobs. */
export const Action = Type.Union([Type.Literal('none'), Type.Literal('notify'), Type.Literal('restrict'), Type.Literal('block')])

/** The answer to a budget event. `notice` (when the body asked): `send` until a notice is confirmed `sent`. */
export const BudgetEventAnswer = Type.Object({
  recorded: Type.Boolean(),
  action: Action,
  notice: Type.Optional(Type.Union([Type.Literal('send'), Type.Literal('sent')])),
})
export type BudgetEventAnswer = Static<typeof BudgetEventAnswer>

const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()])

const EventRecord = Type.Object({
  eventId: Type.String(), cluster: Type.String(), budgetName: Type.String(), department: Nullable(Type.String()), month: Type.String(),
  thresholdPercent: Type.Number(), notificationType: Type.String(), action: Action, payload: Type.Unknown(), recordedAt: Type.String(),
})
const ActionRecord = Type.Object({
  cluster: Type.String(), department: Type.String(), month: Type.String(), action: Type.String(), reason: Type.String(),
  startedAt: Type.String(), endedAt: Nullable(Type.String()), endedReason: Nullable(Type.String()), endedBy: Nullable(Type.String()),
})
const NotificationRecord = Type.Object({
  key: Type.String(), cluster: Type.String(), department: Nullable(Type.String()), month: Type.String(), thresholdPercent: Type.Number(),
  status: Type.String(), recipients: Type.Array(Type.String()), createdAt: Type.String(), sentAt: Nullable(Type.String()),
})

/** A department budget's state this month: spend, forecast, thresholds crossed, what it asks for. */
export const DepartmentState = Type.Object({
  department: Type.String(), currency: Type.String(), budgetCents: Type.Integer(), spendCents: Type.Integer(), percent: Type.Number(),
  forecastCents: Type.Integer(), thresholds: Type.Array(Type.Number()), crossed: Type.Array(Type.Number()), onExceeded: Type.String(),
  wanted: Action, notify: Type.Array(Type.String()),
})

const UsageLineSchema = Type.Object({
  key: Type.String(), jobs: Type.Integer(), gpuHours: Type.Number(), cpuHours: Type.Number(), nodeHours: Type.Number(),
  billedNodeHours: Type.Number(), costCents: Type.Integer(), cost: Type.String(),
})

/** The answer of GET /v1/clusters/{c}/usage (the route's response schema; the CLI checks what it gets against it). */
export const UsageAnswer = Type.Object({
  cluster: Type.String(), from: Type.String(), to: Type.String(), groupBy: Type.String(), currency: Type.String(),
  lines: Type.Array(UsageLineSchema),
  total: UsageLineSchema,
  garbledLines: Type.Integer(),
  garbled: Type.Array(Type.Object({ page: Type.String(), line: Type.Integer(), reason: Type.String() })),
})

/**
 * The answer of `GET /v1/clusters/{c}/budgets` (scoped to the token): the route's response
 * schema and what `steward budgets` checks the service's answer against.
 */
export const BudgetsAnswer = Type.Object({
  month: Type.String(), currency: Type.String(),
  departments: Type.Array(Type.Composite([DepartmentState, Type.Object({ action: Nullable(ActionRecord), notifications: Type.Array(NotificationRecord) })])),
  cluster: Nullable(Type.Object({ budgetName: Type.String(), monthly: Type.Number(), thresholds: Type.Array(Type.Number()), events: Type.Array(EventRecord) })),
  events: Type.Array(EventRecord),
})
export type BudgetsAnswer = Static<typeof BudgetsAnswer>

/**
 * The answer of `GET /v1/clusters/{c}/budgets/reconcile`: the cluster's AWS bill beside its
 * departments' chargeback (src/budgets/aws-reconcile.ts makes it).
 */
export const Reconciliation = Type.Object({
  cluster: Type.String(),
  month: Type.String(),
  currency: Type.String(),
  /** The cluster's AWS bill (cost tagged ClusterName=<cluster>). */
  awsBill: Type.Number(),
  /** The departments' chargeback, by department, largest first. */
  departments: Type.Array(Type.Object({ department: Type.String(), cost: Type.Number(), percentOfBill: Nullable(Type.Number()) })),
  /** Their sum. */
  allocated: Type.Number(),
  /** awsBill - allocated: idle capacity and costs no job carries; negative when more was charged than AWS billed. */
  unallocated: Type.Number(),
  unallocatedPercent: Nullable(Type.Number()),
  estimated: Type.Boolean(),
  /** What a reader must know: an open month, charges above the bill, no bill at all. */
  notes: Type.Array(Type.String()),
})
export type Reconciliation = Static<typeof Reconciliation>

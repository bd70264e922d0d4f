/**
 * The optional `pricing` and `budgets` sections of the spec (spec-format.md): what one
 * node-hour of each node group costs, and monthly budgets for the cluster (an AWS Budget)
 * and for departments (enforced by Slurm limits on the department's accounts).
 */
import { Type, type Static, type TProperties, type TObject } from '@sinclair/typebox'
import { EMAIL_RE, NAME_PATTERN, Name } from './names.js'
import { LIMITS } from './limits.js'
import { MONEY_DECIMALS } from './units.js'

export { MONEY_DECIMALS }

const strict = <T extends TProperties>(properties: T, description?: string): TObject<T> =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) })

/** Most money a price or a monthly budget may name: a typo guard, not a policy. */
export const MAX_MONEY = 1_000_000_000
/** Most thresholds a budget may have (AWS Budgets allows 5 notifications a budget; departments the same). */
export const MAX_THRESHOLDS = 10
/** Highest threshold, in percent of the monthly budget. */
export const MAX_THRESHOLD_PERCENT = 1000

const Money = (description: string) => Type.Number({ minimum: 0, maximum: MAX_MONEY, description })
const Email = Type.String({ pattern: EMAIL_RE.source, maxLength: 254, description: 'e-mail address' })
const Thresholds = Type.Array(
  Type.Number({ exclusiveMinimum: 0, maximum: MAX_THRESHOLD_PERCENT, description: `percent of the monthly budget, above 0 and at most ${MAX_THRESHOLD_PERCENT}` }),
  { minItems: 1, maxItems: MAX_THRESHOLDS },
)
const Notify = Type.Array(Email, { maxItems: 10, description: 'e-mail addresses told when a threshold is crossed (at most 10)' })

/** An AWS Budget name as this project writes it: letters, digits, `_`, `.`, `-`. */
export const AWS_BUDGET_NAME_RE = /^[A-Za-z0-9][\w.-]{0,99}$/

export const Pricing = strict({
  currency: Type.String({ pattern: '^[A-Z]{3}$', maxLength: 3, description: 'ISO 4217 code such as USD' }),
  nodeGroups: Type.Record(Type.String({ pattern: NAME_PATTERN, maxLength: 40 }), Money('cost of one node-hour of the node group'), { maxProperties: LIMITS.nodeGroups }),
}, 'What one node-hour of each node group costs')
export type Pricing = Static<typeof Pricing>

export const OnExceeded = Type.Union([Type.Literal('notify'), Type.Literal('restrict'), Type.Literal('block')], { description: 'notify, restrict or block' })
export type OnExceeded = Static<typeof OnExceeded>

export const ClusterBudget = strict({
  monthly: Money('the monthly budget of the whole cluster'),
  thresholds: Thresholds,
  awsBudgetName: Type.String({ pattern: AWS_BUDGET_NAME_RE.source, maxLength: 100, description: 'AWS Budget name: letters, digits, _, . and -' }),
  notify: Type.Optional(Notify),
})
export type ClusterBudget = Static<typeof ClusterBudget>

export const DepartmentBudget = strict({
  department: Name,
  monthly: Money('the monthly budget of the department'),
  thresholds: Thresholds,
  onExceeded: OnExceeded,
  notify: Type.Optional(Notify),
})
export type DepartmentBudget = Static<typeof DepartmentBudget>

export const Budgets = strict({
  cluster: Type.Optional(ClusterBudget),
  departments: Type.Optional(Type.Array(DepartmentBudget, { maxItems: LIMITS.departments })),
}, 'Monthly budgets of the cluster and of departments')
export type Budgets = Static<typeof Budgets>

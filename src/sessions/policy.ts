/**
 * The cluster policy the service publishes to SSM Parameter Store on every apply
 * (`/hpc-steward/<cluster>/policy`) for the Lambdas: session limits and overrides, who is
 * who (identity -> POSIX name), contacts. One schema, used by the publisher (to build it)
 * and by the Lambdas (to check what they read). Pure.
 */
import { Type, type Static } from '@sinclair/typebox'
import type { ClusterSpec } from '../spec/schema.js'
import { EMAIL_RE, NAME_RE } from '../spec/names.js'

export const POLICY_VERSION = 1

const Limit = Type.Integer({ minimum: 1, maximum: 1000 })

/**
 * One AWS budget of the cluster, for the budget-alert Lambda: whose it is (the cluster's
 * own budget: department null) and who to tell.
 */
export const PolicyBudget = Type.Object({
  department: Type.Union([Type.Null(), Type.String({ pattern: NAME_RE.source })]),
  contacts: Type.Array(Type.String({ pattern: EMAIL_RE.source, maxLength: 254 }), { maxItems: 50 }),
})
export type PolicyBudget = Static<typeof PolicyBudget>

/** The policy's `budgets`: AWS budget name -> its cluster part (the policy is one cluster's). */
export const PolicyBudgets = Type.Object({
  byName: Type.Record(Type.String({ minLength: 1, maxLength: 100, pattern: '^[^:\\\\]+$' }), PolicyBudget, { additionalProperties: false }),
})
export type PolicyBudgets = Static<typeof PolicyBudgets>

export const Policy = Type.Object({
  version: Type.Literal(POLICY_VERSION),
  cluster: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,39}$' }),
  sessions: Type.Object({
    ssh: Type.Object({ maxPerUser: Type.Optional(Limit), idleTimeoutMinutes: Type.Optional(Type.Integer({ minimum: 1 })) }),
    ssm: Type.Object({
      maxPerUser: Type.Optional(Limit),
      maxDurationMinutes: Type.Optional(Type.Integer({ minimum: 1 })),
      idleTimeoutMinutes: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
    /** POSIX name -> that user's limit (SSH logins per node and Session Manager sessions). */
    overrides: Type.Record(Type.String(), Limit),
  }),
  /** Identity (POSIX name, e-mail) -> POSIX name; a session's owner is looked up by its session name. */
  users: Type.Record(Type.String(), Type.String()),
  /** POSIX name -> e-mail, for notices. */
  contacts: Type.Record(Type.String(), Type.String()),
  /** The cluster's AWS budgets, null when it has none. */
  budgets: Type.Union([Type.Null(), PolicyBudgets]),
})
export type Policy = Static<typeof Policy>

/** The SSM parameter name of a cluster's policy. */
export function policyParameterName(cluster: string): string {
  return `/hpc-steward/${cluster}/policy`
}

/**
 * The AWS budget name of a department's budget, as the service's events route accepts it:
 * `<cluster>-<department>`.
 */
export function departmentBudgetName(cluster: string, department: string): string {
  return `${cluster}-${department}`
}

/**
 * The spec's budgets as the budget-alert Lambda maps them: `budgets.cluster.awsBudgetName`
 * -> the cluster (department null), each department's `<cluster>-<department>` -> that
 * department; contacts are the budget's `notify`. Null when the spec has no budgets.
 */
export function policyBudgetsOf(spec: ClusterSpec): PolicyBudgets | null {
  const b = spec.budgets
  if (!b?.cluster && !b?.departments?.length) return null
  const byName: Record<string, PolicyBudget> = {}
  if (b.cluster) byName[b.cluster.awsBudgetName] = { department: null, contacts: b.cluster.notify ?? [] }
  for (const d of b.departments ?? []) byName[departmentBudgetName(spec.cluster.name, d.department)] = { department: d.department, contacts: d.notify ?? [] }
  return { byName }
}

/**
 * The policy of a valid spec. Key order is fixed, so the same spec gives the same text.
 * `budgets` (budget name -> department and contacts) defaults to the spec's
 * (`policyBudgetsOf`); pass it to override.
 */
export function buildPolicy(spec: ClusterSpec, budgets: PolicyBudgets | null = policyBudgetsOf(spec)): Policy {
  const users: Record<string, string> = {}
  const contacts: Record<string, string> = {}
  for (const u of [...spec.users].sort((a, b) => a.name.localeCompare(b.name))) {
    users[u.name] = u.name
    if (u.email) {
      users[u.email.toLowerCase()] = u.name
      contacts[u.name] = u.email
    }
  }
  const s = spec.sessions
  const overrides: Record<string, number> = {}
  for (const o of [...(s?.overrides ?? [])].sort((a, b) => a.user.localeCompare(b.user))) overrides[o.user] = o.maxPerUser
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T
  return {
    version: POLICY_VERSION,
    cluster: spec.cluster.name,
    sessions: {
      ssh: defined({ maxPerUser: s?.ssh?.maxPerUser, idleTimeoutMinutes: s?.ssh?.idleTimeoutMinutes }),
      ssm: defined({ maxPerUser: s?.ssm?.maxPerUser, maxDurationMinutes: s?.ssm?.maxDurationMinutes, idleTimeoutMinutes: s?.ssm?.idleTimeoutMinutes }),
      overrides,
    },
    users,
    contacts,
    budgets: budgets ? sortedBudgets(budgets) : null,
  }
}

/** Budgets in name order, contacts lower-cased, sorted and unique: the same budgets give the same text. */
function sortedBudgets(b: PolicyBudgets): PolicyBudgets {
  const byName: Record<string, PolicyBudget> = {}
  for (const name of Object.keys(b.byName).sort()) {
    const entry = b.byName[name] as PolicyBudget
    byName[name] = { department: entry.department, contacts: [...new Set(entry.contacts.map((c) => c.toLowerCase()))].sort() }
  }
  return { byName }
}

/** The parameter's text: stable JSON, so "changed" means the policy changed. */
export function policyText(policy: Policy): string {
  return JSON.stringify(policy)
}

/**
 * A plan is an ordered list of operations; each carries the exact argv apply will run
 * and a sentence for a reviewer. The phases are the order of DESIGN.md: POSIX users
 * before associations, QoS before the accounts using them, parents before children,
 * new associations and default moves before removals, removals children-first. One
 * addition: changes of an existing account's QOS/DefaultQOS come after its children's
 * (see `planAccountSettings`).
 */

/** Phases in execution order. */
export const PHASES = ['posix', 'cluster', 'qos', 'accounts', 'associations', 'account-settings', 'defaults', 'removals'] as const
export type Phase = (typeof PHASES)[number]

export type OperationKind = 'group' | 'posix-user' | 'cluster' | 'qos' | 'account' | 'association' | 'user'

/** One step of a plan. */
export interface Operation {
  phase: Phase
  action: 'add' | 'modify' | 'delete'
  kind: OperationKind
  /** The names this step touches (users of a batch, an account, a QoS). */
  targets: string[]
  /** Exactly what apply runs. */
  argv: string[]
  /** A sentence for the reviewer. */
  summary: string
}

/** A warning about live state that the plan leaves alone (e.g. a home directory differs). */
export interface PlanWarning {
  subject: string
  message: string
}

/** The result of planning. */
export interface Plan {
  cluster: string
  operations: Operation[]
  warnings: PlanWarning[]
}

/** `sacctmgr -i` (immediate: no confirmation prompt) with the given words. */
export function sacctmgr(...words: string[]): string[] {
  return ['sacctmgr', '-i', ...words]
}

/** `a, b and 3 more` for summaries of large batches. */
export function nameList(names: readonly string[], max = 5): string {
  if (names.length <= max) return names.join(', ')
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`
}

/** Groups items by a key, keeping first-seen order of keys and items. */
export function groupBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const g = groups.get(k)
    if (g) g.push(item)
    else groups.set(k, [item])
  }
  return groups
}

/** Splits a list into chunks so one argv stays well below ARG_MAX. */
export function chunks<T>(items: readonly T[], size = 1000): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

/**
 * Account operations. Adds run parents-first; removals (prune only) children-first.
 * Traps seen on sacctmgr 22.05.8 that shape this file:
 * - `delete account` of a parent silently deletes its whole subtree, user associations
 *   included, so removals are planned leaf by leaf and never rely on the cascade;
 * - `add account` of an account whose record already exists (e.g. deleted earlier on
 *   this cluster only) adds the association and ignores Description/Organization, so
 *   those are set with a separate `modify account`.
 */
import { sameList, type AccountState, type AccountingState } from './model.js'
import { groupBy, nameList, sacctmgr, type Operation } from './operations.js'

/** Depth of an account below root (root = 0) following `parent`; unknown parents end the walk. */
export function depthOf(accounts: ReadonlyMap<string, AccountState>, name: string): number {
  let depth = 0
  let current = accounts.get(name)
  const seen = new Set<string>()
  while (current && current.name !== 'root' && !seen.has(current.name)) {
    seen.add(current.name)
    depth += 1
    current = accounts.get(current.parent)
  }
  return depth
}

/**
 * A budget's block: `GrpSubmitJobs=0 GrpJobs=0` while desired, back to `-1` (none) for the
 * limits that read 0 once it ends. Limits the spec does not block are otherwise left alone.
 */
function blockSettings(desired: AccountState, live: AccountState | undefined): string[] {
  if (desired.blocked) return live?.blocked ? [] : ['GrpSubmitJobs=0', 'GrpJobs=0']
  return (live?.zeroLimits ?? []).map((limit) => `${limit}=-1`)
}

function associationSettings(desired: AccountState, live: AccountState | undefined): string[] {
  const out: string[] = [...blockSettings(desired, live)]
  if (!live || desired.fairshare !== live.fairshare) out.push(`Fairshare=${desired.fairshare}`)
  const qosChanged = !live || !sameList(desired.qos, live.qos)
  // QOS and DefaultQOS go together: Slurm refuses a default outside the assoc's list.
  if (qosChanged || desired.defaultQos !== live?.defaultQos) {
    out.push(`QOS=${desired.qos.join(',')}`)
    if (desired.defaultQos !== undefined) out.push(`DefaultQOS=${desired.defaultQos}`)
    else if (live?.defaultQos !== undefined) out.push('DefaultQOS=-1')
  }
  return out
}

function textSettings(desired: AccountState, current: { description?: string | undefined; organization?: string | undefined } | undefined): string[] {
  const out: string[] = []
  if (desired.description !== undefined && desired.description !== current?.description) out.push(`Description=${desired.description}`)
  if (desired.organization !== undefined && desired.organization !== current?.organization) out.push(`Organization=${desired.organization}`)
  return out
}

/**
 * Changes of accounts' Fairshare, QOS and DefaultQOS (phase `account-settings`), deepest
 * first. sacctmgr refuses a parent's new DefaultQOS while an association below it lacks
 * that QoS in its list (and exits 0 saying so on stderr), so children, user associations
 * included, get their new lists before their parent does.
 */
export function planAccountSettings(desired: AccountingState, live: AccountingState): Operation[] {
  const cluster = `cluster=${desired.cluster}`
  const changed = [...desired.accounts.values()]
    .filter((a) => live.accounts.has(a.name) && associationSettings(a, live.accounts.get(a.name)).length > 0)
    .sort((a, b) => depthOf(desired.accounts, b.name) - depthOf(desired.accounts, a.name))
  const key = (a: AccountState): string => `${depthOf(desired.accounts, a.name)} ${associationSettings(a, live.accounts.get(a.name)).join(' ')}`
  return [...groupBy(changed, key).values()].map((group) => {
    const names = group.map((a) => a.name)
    const settings = associationSettings(group[0] as AccountState, live.accounts.get(names[0] as string))
    return {
      phase: 'account-settings' as const, action: 'modify' as const, kind: 'account' as const, targets: names,
      argv: sacctmgr('modify', 'account', 'where', `name=${names.join(',')}`, cluster, 'set', ...settings),
      summary: `change account${names.length > 1 ? 's' : ''} ${nameList(names)}: ${settings.join(' ')}`,
    }
  })
}

/** Account adds, moves between parents and free-text changes (phase `accounts`), parents first. */
export function planAccounts(desired: AccountingState, live: AccountingState): Operation[] {
  const cluster = `cluster=${desired.cluster}`
  const ops: Operation[] = []
  const wanted = [...desired.accounts.values()]
  const added = wanted.filter((a) => !live.accounts.has(a.name))
    .sort((a, b) => depthOf(desired.accounts, a.name) - depthOf(desired.accounts, b.name))
  // Accounts with the same parent and settings go in one command; depth stays ordered
  // because a group is keyed by its parent, which sits at one depth.
  const addKey = (a: AccountState): string => JSON.stringify([
    depthOf(desired.accounts, a.name), a.parent, associationSettings(a, undefined),
    live.accountRecords.has(a.name) ? [] : textSettings(a, undefined),
  ])
  for (const group of groupBy(added, addKey).values()) {
    const first = group[0] as AccountState
    const names = group.map((a) => a.name)
    const text = live.accountRecords.has(first.name) ? [] : textSettings(first, undefined)
    const settings = [`parent=${first.parent}`, ...associationSettings(first, undefined), ...text]
    ops.push({
      phase: 'accounts', action: 'add', kind: 'account', targets: names,
      argv: sacctmgr('add', 'account', names.join(','), cluster, ...settings),
      summary: `add account${names.length > 1 ? 's' : ''} ${nameList(names)} under ${first.parent} (${settings.slice(1).join(' ')})`,
    })
  }
  for (const a of wanted) {
    const current = live.accounts.get(a.name)
    if (current && current.parent !== a.parent) {
      ops.push({
        phase: 'accounts', action: 'modify', kind: 'account', targets: [a.name],
        argv: sacctmgr('modify', 'account', 'where', `name=${a.name}`, cluster, 'set', `parent=${a.parent}`),
        summary: `move account ${a.name} from ${current.parent} to ${a.parent}`,
      })
    }
  }
  for (const a of wanted) {
    const record = live.accountRecords.get(a.name)
    const settings = record ? textSettings(a, record) : []
    if (settings.length === 0) continue
    ops.push({
      phase: 'accounts', action: 'modify', kind: 'account', targets: [a.name],
      argv: sacctmgr('modify', 'account', 'where', `name=${a.name}`, 'set', ...settings),
      summary: `change account ${a.name}: ${settings.join(' ')}`,
    })
  }
  return ops
}

/** Account removals and the accounts kept because a protected user is in them. */
export interface AccountRemovals {
  operations: Operation[]
  /** Accounts not in the spec kept because they (or a descendant) hold a protected user. */
  kept: string[]
}

/**
 * Removals of accounts the spec does not name (prune only), deepest first. An account
 * holding a protected user's association (e.g. root's) is kept with its ancestors:
 * deleting it would delete that association with it.
 */
export function planAccountRemovals(desired: AccountingState, live: AccountingState, protectedAccounts: ReadonlySet<string>, protectedUsers: ReadonlySet<string>): AccountRemovals {
  const holding = new Set<string>()
  for (const a of live.associations.values()) {
    let current = protectedUsers.has(a.user) ? live.accounts.get(a.account) : undefined
    while (current && current.name !== 'root' && !holding.has(current.name)) {
      holding.add(current.name)
      current = live.accounts.get(current.parent)
    }
  }
  const candidates = [...live.accounts.keys()].filter((n) => !desired.accounts.has(n) && !protectedAccounts.has(n) && n !== 'root').sort()
  const gone = candidates.filter((n) => !holding.has(n))
  const byDepth = groupBy(gone, (n) => String(depthOf(live.accounts, n)))
  const operations = [...byDepth.entries()].sort(([a], [b]) => Number(b) - Number(a)).map(([, names]) => ({
    phase: 'removals' as const, action: 'delete' as const, kind: 'account' as const, targets: names,
    argv: sacctmgr('delete', 'account', 'where', `name=${names.join(',')}`, `cluster=${desired.cluster}`),
    summary: `remove account${names.length > 1 ? 's' : ''} ${nameList(names)} (not in the spec, --prune)`,
  }))
  return { operations, kept: candidates.filter((n) => holding.has(n)) }
}

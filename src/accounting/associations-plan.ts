/**
 * User associations: adds (batched per account and settings), changes, default-account
 * moves and removals. Traps seen on sacctmgr 22.05.8 that shape this file:
 * - `add user ... DefaultAccount=x` also moves the default of users that already exist,
 *   so it is passed only in batches of brand-new users, on their default account;
 * - a new user's first association becomes its default, so those go first;
 * - deleting the association a user's default points to succeeds silently, so defaults
 *   move (phase `defaults`) before any association goes (phase `removals`);
 * - deleting a user's last association deletes the user record too;
 * - a user with several associations cannot be deleted in one command (see removals).
 */
import { associationKey, sameList, type AccountingState, type AssociationState } from './model.js'
import { chunks, groupBy, nameList, sacctmgr, type Operation } from './operations.js'

/** Which users and accounts removals may touch. */
export interface AssociationScope {
  prune: boolean
  /** Every user the spec names (with or without associations). */
  specUsers: ReadonlySet<string>
  protectedUsers: ReadonlySet<string>
  protectedAccounts: ReadonlySet<string>
}

function settings(a: AssociationState): string[] {
  return [`QOS=${a.qos.join(',')}`, ...(a.defaultQos !== undefined ? [`DefaultQOS=${a.defaultQos}`] : [])]
}

function changeSettings(desired: AssociationState, live: AssociationState): string[] {
  if (sameList(desired.qos, live.qos) && desired.defaultQos === live.defaultQos) return []
  return [`QOS=${desired.qos.join(',')}`, `DefaultQOS=${desired.defaultQos ?? -1}`]
}

function addOps(adds: AssociationState[], cluster: string, asDefault: boolean): Operation[] {
  const ops: Operation[] = []
  const groups = groupBy(adds, (a) => `${a.account}\u0000${settings(a).join(' ')}`)
  for (const group of groups.values()) {
    const first = group[0] as AssociationState
    for (const batch of chunks(group.map((a) => a.user).sort())) {
      const extra = asDefault ? [`DefaultAccount=${first.account}`] : []
      ops.push({
        phase: 'associations', action: 'add', kind: 'association', targets: batch,
        argv: sacctmgr('add', 'user', batch.join(','), `account=${first.account}`, `cluster=${cluster}`, ...extra, ...settings(first)),
        summary: `add ${batch.length > 1 ? `${batch.length} users` : 'user'} ${nameList(batch)} to account ${first.account}${asDefault ? ' as their default' : ''} (${settings(first).join(' ')})`,
      })
    }
  }
  return ops
}

/** Association adds and changes (phase `associations`) and default moves (phase `defaults`). */
export function planAssociations(desired: AccountingState, live: AccountingState, protectedUsers: ReadonlySet<string>): Operation[] {
  const cluster = desired.cluster
  const missing = [...desired.associations.entries()].filter(([k]) => !live.associations.has(k)).map(([, a]) => a)
  const isFirst = (a: AssociationState): boolean => !live.users.has(a.user) && desired.users.get(a.user)?.defaultAccount === a.account
  const ops = [...addOps(missing.filter(isFirst), cluster, true), ...addOps(missing.filter((a) => !isFirst(a)), cluster, false)]

  const changed: Array<[AssociationState, string[]]> = []
  for (const [key, a] of desired.associations) {
    const current = live.associations.get(key)
    const s = current ? changeSettings(a, current) : []
    if (s.length > 0) changed.push([a, s])
  }
  for (const group of groupBy(changed, ([a, s]) => `${a.account}\u0000${s.join(' ')}`).values()) {
    const [first, s] = group[0] as [AssociationState, string[]]
    for (const batch of chunks(group.map(([a]) => a.user).sort())) {
      ops.push({
        phase: 'associations', action: 'modify', kind: 'association', targets: batch,
        argv: sacctmgr('modify', 'user', 'where', `name=${batch.join(',')}`, `account=${first.account}`, `cluster=${cluster}`, 'set', ...s),
        summary: `change ${nameList(batch)} in account ${first.account}: ${s.join(' ')}`,
      })
    }
  }

  const moves = [...desired.users.values()].filter((u) => {
    const current = live.users.get(u.name)
    return current !== undefined && current.defaultAccount !== u.defaultAccount && !protectedUsers.has(u.name)
  })
  for (const [account, users] of groupBy(moves, (u) => u.defaultAccount)) {
    for (const batch of chunks(users.map((u) => u.name).sort())) {
      ops.push({
        phase: 'defaults', action: 'modify', kind: 'user', targets: batch,
        argv: sacctmgr('modify', 'user', 'where', `name=${batch.join(',')}`, `cluster=${cluster}`, 'set', `DefaultAccount=${account}`),
        summary: `make ${account} the default account of ${nameList(batch)}`,
      })
    }
  }
  return ops
}

/** True when removals may delete this live association. */
export function removable(a: AssociationState, desired: AccountingState, scope: AssociationScope): boolean {
  if (desired.associations.has(associationKey(a.user, a.account))) return false
  if (scope.protectedUsers.has(a.user) || scope.protectedAccounts.has(a.account) || a.account === 'root') return false
  if (scope.prune) return true
  // Without --prune only what the spec owns changes: a spec user in a spec account.
  return scope.specUsers.has(a.user) && desired.accounts.has(a.account)
}

/**
 * Association removals (phase `removals`), before any account removal. A user's
 * default association goes last: sacctmgr 22.05 refuses `delete user where name=bob`
 * for a user with several associations ("You can not remove the default account of a
 * user", and it discards the whole batch), but accepts removing the other ones first
 * and then the last one, which removes the user record with it.
 */
export function planAssociationRemovals(desired: AccountingState, live: AccountingState, scope: AssociationScope): Operation[] {
  const cluster = desired.cluster
  const gone = [...live.associations.values()].filter((a) => removable(a, desired, scope))
  const isDefault = (a: AssociationState): boolean => live.users.get(a.user)?.defaultAccount === a.account && !desired.users.has(a.user)
  const ops: Operation[] = []
  for (const last of [false, true]) {
    for (const [account, assocs] of groupBy(gone.filter((a) => isDefault(a) === last), (a) => a.account)) {
      for (const batch of chunks(assocs.map((a) => a.user).sort())) {
        const leaving = last ? ' (their last association: the user record goes too)' : ''
        ops.push({
          phase: 'removals', action: 'delete', kind: 'association', targets: batch,
          argv: sacctmgr('delete', 'user', 'where', `name=${batch.join(',')}`, `account=${account}`, `cluster=${cluster}`),
          summary: `remove ${nameList(batch)} from account ${account}${leaving}`,
        })
      }
    }
  }
  return ops
}

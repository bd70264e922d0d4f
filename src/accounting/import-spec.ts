/**
 * Turning a live accounting tree into a spec, so an existing site can adopt HPC Steward:
 * `root -> department -> supervisor account -> users`. What the format cannot express
 * (deeper trees, users on a department account, per-association QoS that differ from
 * the department's) is left out with a warning; left out means unmanaged, not removed.
 */
import type { ClusterSpec, Department, Qos, Supervisor, User } from '../spec/schema.js'
import { FREE_TEXT_RE, TRES_NAMES, isName, isUserName, type TresMap } from '../spec/names.js'
import { tresToMap } from '../slurm/sacctmgr.js'
import { sameList, type AccountingState, type AssociationState, type PosixEntry, type QosState } from './model.js'
import type { PlanWarning } from './operations.js'

/** What import needs besides accounting. */
export interface ImportContext {
  slurmVersion: string
  controllerHost: string
  /** passwd entries of the users found in accounting, by name. */
  passwd: ReadonlyMap<string, PosixEntry>
  protectedAccounts?: readonly string[]
  protectedUsers?: readonly string[]
}

export interface ImportResult {
  spec: ClusterSpec
  warnings: PlanWarning[]
}

const SLURM_TO_SPEC = new Map(TRES_NAMES.map(([spec, slurm]) => [slurm, spec]))

function tresMap(value: string, where: string, warnings: PlanWarning[]): TresMap | undefined {
  if (value === '') return undefined
  const out: TresMap = {}
  for (const [name, n] of tresToMap(value)) {
    const key = SLURM_TO_SPEC.get(name)
    if (key) out[key] = n
    else warnings.push({ subject: where, message: `TRES ${name}=${n} has no spec key (cpu, mem, gpu, node, shard); left out` })
  }
  return Object.keys(out).length > 0 ? out : undefined
}

function text(value: string | undefined, fallback: string, where: string, warnings: PlanWarning[]): string | undefined {
  if (value === undefined || value === fallback) return undefined
  if (FREE_TEXT_RE.test(value)) return value
  warnings.push({ subject: where, message: `"${value}" is not allowed as spec free text; left out (unmanaged)` })
  return undefined
}

function importQos(q: QosState, warnings: PlanWarning[]): Qos {
  const where = `QoS ${q.name}`
  const out: Qos = { name: q.name }
  const assign = <K extends keyof Qos>(key: K, value: Qos[K] | undefined): void => {
    if (value !== undefined) out[key] = value
  }
  assign('description', text(q.description, q.name, where, warnings))
  assign('priority', q.priority !== 0 ? q.priority : undefined)
  assign('maxTresPerUser', tresMap(q.maxTresPerUser, where, warnings))
  assign('maxTresPerJob', tresMap(q.maxTresPerJob, where, warnings))
  assign('grpTres', tresMap(q.grpTres, where, warnings))
  assign('maxWallDurationPerJob', q.maxWall || undefined)
  assign('maxJobsPerUser', q.maxJobsPerUser)
  assign('maxSubmitJobsPerUser', q.maxSubmitJobsPerUser)
  assign('preempt', q.preempt.length > 0 ? q.preempt : undefined)
  assign('preemptMode', q.preemptMode !== 'cluster' ? (q.preemptMode as Qos['preemptMode']) : undefined)
  assign('usageFactor', Math.abs(q.usageFactor - 1) > 1e-6 ? q.usageFactor : undefined)
  assign('flags', q.flags.length > 0 ? q.flags : undefined)
  return out
}

function fairshare(value: number | 'parent', where: string, warnings: PlanWarning[]): number | undefined {
  if (typeof value === 'number' && value >= 1) return value === 1 ? undefined : value
  warnings.push({ subject: where, message: `Fairshare=${value} has no spec form; it will be planned to 1` })
  return undefined
}

/** Builds a spec from live accounting; every simplification is a warning. */
export function buildImportedSpec(live: AccountingState, ctx: ImportContext): ImportResult {
  const warnings: PlanWarning[] = []
  const protectedAccounts = new Set(['root', ...(ctx.protectedAccounts ?? [])])
  const protectedUsers = new Set(['root', ...(ctx.protectedUsers ?? [])])
  const children = new Map<string, string[]>()
  for (const a of live.accounts.values()) children.set(a.parent, [...(children.get(a.parent) ?? []), a.name])
  const assocsOf = new Map<string, AssociationState[]>()
  for (const a of live.associations.values()) {
    if (!protectedUsers.has(a.user)) assocsOf.set(a.account, [...(assocsOf.get(a.account) ?? []), a])
  }
  const userAssocs = new Map<string, AssociationState[]>()
  const userDept = new Map<string, string[]>()
  const departments: Department[] = []
  for (const name of (children.get('root') ?? []).sort()) {
    const acct = live.accounts.get(name)
    if (!acct || protectedAccounts.has(name) || !isName(name)) continue
    if ((assocsOf.get(name) ?? []).length > 0) warnings.push({ subject: `account ${name}`, message: 'has users directly on the department account; the spec puts users under supervisors, so they are left out (unmanaged)' })
    const dept: Department = { name, qos: acct.qos.length > 0 ? acct.qos : ['normal'] }
    const description = text(acct.description, name, `account ${name}`, warnings)
    const organization = text(acct.organization, 'root', `account ${name}`, warnings)
    if (description) dept.description = description
    if (organization) dept.organization = organization
    const fs = fairshare(acct.fairshare, `account ${name}`, warnings)
    if (fs) dept.fairshare = fs
    if (acct.defaultQos) dept.defaultQos = acct.defaultQos
    const supervisors: Supervisor[] = []
    for (const child of (children.get(name) ?? []).sort()) {
      const sup = live.accounts.get(child)
      if (!sup || protectedAccounts.has(child) || !isName(child)) continue
      if ((children.get(child) ?? []).length > 0) warnings.push({ subject: `account ${child}`, message: `has sub-accounts (${children.get(child)?.join(', ')}); the spec stops at supervisors, they are left out (unmanaged)` })
      if (!sameList(sup.qos, [...dept.qos].sort()) || sup.defaultQos !== dept.defaultQos) {
        warnings.push({ subject: `account ${child}`, message: `QOS ${sup.qos.join(',')} / DefaultQOS ${sup.defaultQos ?? '-'} differ from its department's; the plan will align them` })
      }
      const short = child.startsWith(`${name}-`) ? child.slice(name.length + 1) : ''
      const s: Supervisor = isName(short) ? { name: short, users: [] } : { name: child, account: child, users: [] }
      const sfs = fairshare(sup.fairshare, `account ${child}`, warnings)
      if (sfs) s.fairshare = sfs
      for (const a of (assocsOf.get(child) ?? []).sort((x, y) => (x.user < y.user ? -1 : 1))) {
        if (!isUserName(a.user)) continue
        s.users.push(a.user)
        userAssocs.set(a.user, [...(userAssocs.get(a.user) ?? []), a])
        userDept.set(a.user, [...(userDept.get(a.user) ?? []), name])
      }
      supervisors.push(s)
    }
    if (supervisors.length > 0) dept.supervisors = supervisors
    departments.push(dept)
  }
  const users = importUsers(live, ctx, departments, userAssocs, warnings)
  const kept = new Set(users.map((u) => u.name))
  for (const d of departments) for (const s of d.supervisors ?? []) s.users = s.users.filter((u) => kept.has(u))
  const spec: ClusterSpec = {
    apiVersion: 'steward/v1',
    cluster: { name: live.cluster, slurmVersion: ctx.slurmVersion, controller: { host: ctx.controllerHost }, accounting: { host: ctx.controllerHost } },
    nodeGroups: [],
    qos: [...live.qos.values()].map((q) => importQos(q, warnings)),
    departments,
    users,
  }
  return { spec, warnings }
}

function importUsers(live: AccountingState, ctx: ImportContext, departments: Department[], userAssocs: Map<string, AssociationState[]>, warnings: PlanWarning[]): User[] {
  const deptQos = new Map<string, Department>()
  for (const d of departments) for (const s of d.supervisors ?? []) deptQos.set(s.account ?? `${d.name}-${s.name}`, d)
  const users: User[] = []
  for (const [name, assocs] of [...userAssocs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const pw = ctx.passwd.get(name)
    if (!pw || pw.id < 1000 || (pw.id >= 61_184 && pw.id <= 65_535)) {
      warnings.push({ subject: `user ${name}`, message: pw ? `uid ${pw.id} is outside the spec's range; left out (unmanaged)` : 'has no POSIX account on the controller (getent passwd); left out (unmanaged)' })
      continue
    }
    const u: User = { name, uid: pw.id }
    if (pw.gid !== undefined && pw.gid !== pw.id && pw.gid >= 1000) u.gid = pw.gid
    if (pw.home && pw.home !== `/home/${name}`) u.home = pw.home
    const extra = new Set<string>()
    for (const a of assocs) {
      const d = deptQos.get(a.account)
      for (const q of a.qos) if (!d?.qos.includes(q)) extra.add(q)
      if (a.defaultQos !== d?.defaultQos) warnings.push({ subject: `user ${name}`, message: `DefaultQOS ${a.defaultQos ?? '-'} in ${a.account} differs from its department's; the plan will align it` })
    }
    if (extra.size > 0) u.qos = [...extra].sort()
    const def = live.users.get(name)?.defaultAccount
    if (def && def !== assocs[0]?.account && assocs.some((a) => a.account === def)) u.defaultAccount = def
    users.push(u)
  }
  return users
}

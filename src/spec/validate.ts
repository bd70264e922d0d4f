/**
 * Validation of a cluster spec: the schema first, then the semantic rules of
 * spec-format.md. Every problem is reported at once with its path, so an admin fixes a
 * spec in one round. The semantic rules run even when the structure has errors (they
 * read the raw value defensively), so a bad name and a bad reference are both reported.
 */
import { ClusterSpec } from './schema.js'
import type { ClusterSpec as Spec, NodeGroup } from './schema.js'
import { Problems, type Problem, type ValidationResult } from './problems.js'
import { structuralReport } from './structure.js'
import { resolvePartitions, supervisorAccount } from './model.js'
import { countHostlist, expandHostlist, hostsAreDistinct, HostlistError } from '../slurm/hostlist.js'
import { timeToSeconds } from '../slurm/time.js'
import { expandDevices } from '../slurm/view-model.js'
import { NAME_RE } from './names.js'
import { LIMITS } from './limits.js'
import type { ResolvedPartition } from './model.js'
import { hyperpodRules } from './hyperpod-rules.js'
import { loginNodeRules } from './login-rules.js'
import { identityRules } from './identity-rules.js'
import { budgetRules } from './budget-rules.js'

/** Slurm refuses more nodes than this (the hostlist and node-table limit). */
export const MAX_NODES = LIMITS.nodes
/** Most problems one validation reports: enough to fix a spec, bounded for an answer. */
export const MAX_PROBLEMS = 1_000
const RESERVED_IDS = new Set([65_534, 65_535, 4_294_967_295])
const DYNAMIC_IDS = { from: 61_184, to: 65_519 }
/**
 * Names the spec may not manage: Slurm's root account, and system users of the
 * controller and nodes (the daemons' own accounts). A spec user with one of these names
 * would clash with the live POSIX user and block every apply.
 */
export const RESERVED_ACCOUNTS = new Set(['root'])
export const RESERVED_USERS = new Set([
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy', 'www-data', 'backup',
  'list', 'irc', 'gnats', 'nobody', 'messagebus', 'sshd', 'slurm', 'munge', 'mysql', 'postgres', 'ssm-user', 'ec2-user', 'ubuntu', 'admin',
])

/** What a supervisor's reference to a user the spec lacks is told (one wording for every caller). */
export function unknownUser(name: string): string {
  return `unknown user "${name}": add them under users with a uid`
}

/** Validates a parsed spec; `ok` is true when there is no error (warnings allowed). */
export function validateSpec(value: unknown): ValidationResult {
  const problems = new Problems()
  const structure = structuralReport(ClusterSpec, value, MAX_PROBLEMS)
  problems.list.push(...structure.problems)
  // A list over its limit: the semantic rules would only spend time on it.
  if (!structure.overLimit && typeof value === 'object' && value !== null) {
    try {
      semanticRules(value as Spec, problems)
    } catch {
      // The structure is too broken for the semantic rules; the structural errors say why.
    }
  }
  const ok = !problems.list.some((p) => p.severity === 'error')
  return { ok, errors: capped(problems.list, ok) }
}

/** The first `MAX_PROBLEMS` problems, and one more that says how many were left out. */
function capped(list: Problem[], ok: boolean): Problem[] {
  if (list.length <= MAX_PROBLEMS) return list
  const kept = list.slice(0, MAX_PROBLEMS)
  const left = list.length - MAX_PROBLEMS
  kept.push({ path: '', message: `${left} more problem(s) not shown: fix these first`, severity: ok ? 'warning' : 'error' })
  return kept
}

function semanticRules(spec: Spec, problems: Problems): void {
  const groups = list(spec.nodeGroups)
  const qos = list(spec.qos)
  const departments = list(spec.departments)
  const shared = list(spec.sharedPartitions)
  const users = list(spec.users)

  uniqueNames(problems, groups.map((g, i) => [g?.name, `/nodeGroups/${i}/name`]), 'node group')
  uniqueNames(problems, qos.map((q, i) => [q?.name, `/qos/${i}/name`]), 'QoS')
  uniqueNames(problems, users.map((u, i) => [u?.name, `/users/${i}/name`]), 'user')
  uniqueNames(problems, [
    ...departments.flatMap((d, i) => list(d?.partitions).map((p, j): Entry => [p?.name, `/departments/${i}/partitions/${j}/name`])),
    ...shared.map((p, i): Entry => [p?.name, `/sharedPartitions/${i}/name`]),
  ], 'partition')
  uniqueNames(problems, [
    ...departments.map((d, i): Entry => [d?.name, `/departments/${i}/name`]),
    ...departments.flatMap((d, i) => list(d?.supervisors).map((s, j): Entry => [s && d ? supervisorAccount(d, s) : undefined, `/departments/${i}/supervisors/${j}/${s?.account ? 'account' : 'name'}`])),
  ], 'account')

  // Counted before anything is expanded: a short expression can name millions of nodes.
  const total = groups.reduce((sum, g) => sum + countNodes(g?.nodes), 0)
  const expandable = total <= MAX_NODES
  if (!expandable) problems.error('/nodeGroups', `the node groups name ${total} nodes in all; Slurm allows at most ${MAX_NODES}`)
  nodeRules(groups, problems, expandable)
  reservedNames(spec, problems)
  accountCount(departments, problems)
  const qosNames = new Set(qos.map((q) => q?.name))
  qosRules(qos, qosNames, problems)
  departmentRules(spec, qosNames, problems)
  const partitions = resolvePartitions(spec)
  partitionRules(spec, partitions, new Set(groups.map((g) => g?.name)), qosNames, problems)
  partitionText(groups, partitions, problems)
  userRules(spec, qosNames, problems)
  if (expandable) gpuLimitWarnings(spec, partitions, problems)
  versionRules(spec, problems)
  hyperpodRules(spec, problems)
  loginNodeRules(spec, problems)
  identityRules(spec, problems)
  budgetRules(spec, problems)
}

type Entry = [string | undefined, string]

/** The array, or none when a malformed spec has something else there. */
function list<T>(value: T[] | undefined): T[] {
  return Array.isArray(value) ? value : []
}

function uniqueNames(problems: Problems, entries: Entry[], kind: string): void {
  const first = new Map<string, string>()
  for (const [name, path] of entries) {
    if (typeof name !== 'string') continue
    const seen = first.get(name)
    if (seen) problems.error(path, `duplicate ${kind} name "${name}" (first defined at ${seen}): ${kind} names must be unique`)
    else first.set(name, path)
  }
}

function expand(expr: unknown, path: string, problems: Problems): string[] {
  if (typeof expr !== 'string') return []
  // Slurm 22.05 rejects text after the last range of a name (`node[1-3]-ib`).
  if (/\][^,[\]]+(?:,|$)/.test(expr)) {
    problems.error(path, `"${expr}": Slurm does not accept text after the last [range] of a name; put the range last (e.g. ib-node[1-3])`)
    return []
  }
  try {
    return expandHostlist(expr)
  } catch (err) {
    if (err instanceof HostlistError) problems.error(path, `${err.message}`)
    else throw err
    return []
  }
}

function expandDeviceList(expr: string, path: string, problems: Problems): string[] {
  try {
    return expandDevices(expr)
  } catch (err) {
    if (err instanceof HostlistError) problems.error(path, err.message)
    else throw err
    return []
  }
}

function reservedNames(spec: Spec, problems: Problems): void {
  list(spec.departments).forEach((d, i) => {
    if (RESERVED_ACCOUNTS.has(d?.name)) problems.error(`/departments/${i}/name`, `"${d.name}" is Slurm's own account: pick another department name`)
    list(d?.supervisors).forEach((sup, j) => {
      if (sup?.account && RESERVED_ACCOUNTS.has(sup.account)) problems.error(`/departments/${i}/supervisors/${j}/account`, `"${sup.account}" is Slurm's own account: pick another account name`)
    })
  })
  list(spec.users).forEach((u, i) => {
    if (RESERVED_USERS.has(u?.name)) problems.error(`/users/${i}/name`, `"${u.name}" is a system user: HPC Steward does not manage it; pick another name`)
    if (hasDotSegment(u?.home)) problems.error(`/users/${i}/home`, `home "${u.home}" has a . or .. segment: give a plain absolute path`)
  })
  const root = spec.cluster?.homeRoot
  if (hasDotSegment(root)) problems.error('/cluster/homeRoot', `homeRoot "${root}" has a . or .. segment: give a plain absolute path`)
}

function hasDotSegment(path: unknown): path is string {
  return typeof path === 'string' && path.split('/').some((part) => part === '.' || part === '..')
}

/** Nodes a hostlist names, without expanding it; 0 when it does not parse (reported later). */
function countNodes(expr: unknown): number {
  if (typeof expr !== 'string') return 0
  try {
    return countHostlist(expr)
  } catch {
    return 0
  }
}

function nodeRules(groups: NodeGroup[], problems: Problems, expandable: boolean): void {
  const owner = new Map<string, string>()
  // Names are compared one by one only when the hostlists alone do not prove them distinct.
  const compareNames = expandable && !hostsAreDistinct(groups.map((g) => g?.nodes))
  groups.forEach((g, i) => {
    const path = `/nodeGroups/${i}`
    const nodes = compareNames ? expand(g?.nodes, `${path}/nodes`, problems) : []
    for (const node of nodes) {
      const other = owner.get(node)
      if (other && other !== g.name) {
        problems.error(`${path}/nodes`, `node "${node}" is already in node group "${other}": node names must be unique across groups`)
        break
      }
      owner.set(node, g.name)
    }
    if (new Set(nodes).size !== nodes.length) problems.error(`${path}/nodes`, 'the hostlist names a node twice: list every node once')
    const { sockets, coresPerSocket, threadsPerCore, cpus } = g ?? {}
    if (sockets && coresPerSocket && threadsPerCore && sockets * coresPerSocket * threadsPerCore !== cpus) {
      problems.error(`${path}/cpus`, `cpus is ${cpus} but sockets x coresPerSocket x threadsPerCore is ${sockets * coresPerSocket * threadsPerCore}: make them agree`)
    }
    if (g?.gpus?.devices) {
      const devices = expandDeviceList(g.gpus.devices, `${path}/gpus/devices`, problems)
      if (devices.length > 0 && devices.length !== g.gpus.count) {
        problems.error(`${path}/gpus/devices`, `names ${devices.length} device file(s) but gpus.count is ${g.gpus.count}: give one device per GPU`)
      }
    }
  })
}

function qosRules(qos: Spec['qos'], names: Set<string | undefined>, problems: Problems): void {
  qos.forEach((q, i) => {
    list(q?.preempt).forEach((p, j) => {
      if (p === q.name) problems.error(`/qos/${i}/preempt/${j}`, `QoS "${q.name}" cannot preempt itself`)
      else if (!names.has(p)) problems.error(`/qos/${i}/preempt/${j}`, `unknown QoS "${p}": define it under qos or remove it`)
    })
  })
}

function departmentRules(spec: Spec, qosNames: Set<string | undefined>, problems: Problems): void {
  list(spec.departments).forEach((d, i) => {
    const path = `/departments/${i}`
    list(d?.qos).forEach((q, j) => {
      if (!qosNames.has(q)) problems.error(`${path}/qos/${j}`, `unknown QoS "${q}": define it under qos or remove it`)
    })
    list(d?.allowedQos).forEach((q, j) => {
      if (!qosNames.has(q)) problems.error(`${path}/allowedQos/${j}`, `unknown QoS "${q}": define it under qos or remove it`)
    })
    if (d?.defaultQos && !list(d.qos).includes(d.defaultQos)) {
      problems.error(`${path}/defaultQos`, `defaultQos "${d.defaultQos}" is not in the department's qos list: add it there or pick one of ${JSON.stringify(d.qos)}`)
    }
    list(d?.supervisors).forEach((s, j) => {
      if (!s?.account && typeof s?.name === 'string' && typeof d.name === 'string' && !NAME_RE.test(`${d.name}-${s.name}`)) {
        problems.error(`${path}/supervisors/${j}/name`, `the account name "${d.name}-${s.name}" is longer than 40 characters: give the supervisor a shorter name or an explicit account`)
      }
      const seen = new Set<string>()
      list(s?.users).forEach((u, k) => {
        if (seen.has(u)) problems.error(`${path}/supervisors/${j}/users/${k}`, `user "${u}" is listed twice under this supervisor`)
        seen.add(u)
      })
    })
  })
}

/** Department and supervisor accounts together stay within `LIMITS.accounts`. */
function accountCount(departments: Spec['departments'], problems: Problems): void {
  const accounts = departments.reduce((n, d) => n + 1 + list(d?.supervisors).length, 0)
  if (accounts > LIMITS.accounts) {
    problems.error('/departments', `the departments and supervisors make ${accounts} Slurm accounts; at most ${LIMITS.accounts} are allowed`)
  }
}

/**
 * The partition lines' `Nodes=`, `AllowAccounts=` and `AllowQos=` values stay within
 * `LIMITS.partitionText` characters: a partition open to every department repeats every
 * account and QoS, and each partition repeats its node groups' hostlists.
 */
function partitionText(groups: NodeGroup[], partitions: ResolvedPartition[], problems: Problems): void {
  const hostlistLength = new Map<string, number>()
  for (const g of groups) if (typeof g?.name === 'string' && typeof g.nodes === 'string') hostlistLength.set(g.name, g.nodes.length)
  const joined = (names: string[]) => names.reduce((n, name) => n + name.length + 1, 0)
  let total = 0
  for (const r of partitions) {
    for (const g of list(r.partition?.nodeGroups)) total += (hostlistLength.get(g) ?? 0) + 1
    total += joined(r.allowAccounts) + joined(r.allowQos)
  }
  if (total > LIMITS.partitionText) {
    problems.error('/sharedPartitions', `the partitions' Nodes, AllowAccounts and AllowQos lists come to ${total} characters in slurm.conf; at most ${LIMITS.partitionText} are allowed: open fewer partitions to every department or merge node groups`)
  }
}

function partitionRules(spec: Spec, partitions: ResolvedPartition[], groupNames: Set<string | undefined>, qosNames: Set<string | undefined>, problems: Problems): void {
  const departmentNames = new Set(list(spec.departments).map((d) => d?.name))
  list(spec.sharedPartitions).forEach((p, i) => {
    if (Array.isArray(p?.departments)) {
      (p.departments as string[]).forEach((d, j) => {
        if (!departmentNames.has(d)) problems.error(`/sharedPartitions/${i}/departments/${j}`, `unknown department "${d}": define it under departments or use "all"`)
      })
    }
  })
  const defaults: string[] = []
  for (const r of partitions) {
    const p = r.partition
    list(p?.nodeGroups).forEach((g, j) => {
      if (!groupNames.has(g)) problems.error(`${r.path}/nodeGroups/${j}`, `unknown node group "${g}": define it under nodeGroups or remove it`)
    })
    if (p?.qos && !qosNames.has(p.qos)) problems.error(`${r.path}/qos`, `unknown QoS "${p.qos}": define it under qos or remove it`)
    if (p?.default) defaults.push(r.path)
    if (p?.maxTime !== undefined && p.defaultTime !== undefined) {
      const max = safeSeconds(p.maxTime)
      const def = safeSeconds(p.defaultTime)
      if (def !== undefined && max !== undefined && max !== null && (def === null || def > max)) {
        problems.error(`${r.path}/defaultTime`, `defaultTime ${String(p.defaultTime)} is longer than maxTime ${String(p.maxTime)}: Slurm would refuse the partition`)
      }
    }
  }
  for (const path of defaults.slice(1)) {
    problems.error(`${path}/default`, `only one partition may be the default; ${defaults[0]} already is`)
  }
  const used = new Set(partitions.flatMap((r) => list(r.partition?.nodeGroups)))
  list(spec.nodeGroups).forEach((g, i) => {
    if (g?.name && !used.has(g.name)) problems.warning(`/nodeGroups/${i}`, `node group "${g.name}" is in no partition: its nodes will never run a job`)
  })
}

function safeSeconds(t: string | number): number | null | undefined {
  try {
    return timeToSeconds(t)
  } catch {
    return undefined
  }
}

function idProblems(id: number | undefined, what: string): string | undefined {
  if (typeof id !== 'number') return undefined
  if (RESERVED_IDS.has(id)) return `${what} ${id} is reserved (nobody/invalid): pick another`
  if (id >= DYNAMIC_IDS.from && id <= DYNAMIC_IDS.to) return `${what} ${id} is in systemd's dynamic range ${DYNAMIC_IDS.from}-${DYNAMIC_IDS.to}: pick another`
  return undefined
}

function userRules(spec: Spec, qosNames: Set<string | undefined>, problems: Problems): void {
  const accountsOf = new Map<string, string[]>()
  list(spec.departments).forEach((d) => {
    list(d?.supervisors).forEach((s) => {
      const account = supervisorAccount(d, s)
      for (const u of list(s?.users)) {
        const accounts = accountsOf.get(u)
        if (accounts) accounts.push(account)
        else accountsOf.set(u, [account])
      }
    })
  })
  const users = list(spec.users)
  const known = new Set(users.map((u) => u?.name))
  list(spec.departments).forEach((d, i) => {
    list(d?.supervisors).forEach((s, j) => {
      list(s?.users).forEach((u, k) => {
        if (!known.has(u)) problems.error(`/departments/${i}/supervisors/${j}/users/${k}`, unknownUser(u))
      })
    })
  })
  const uids = new Map<number, string>()
  const privateGids = new Map<number, string>()
  users.forEach((u) => { if (u && u.gid === undefined && typeof u.uid === 'number') privateGids.set(u.uid, u.name) })
  departmentGidRules(spec, privateGids, problems)
  users.forEach((u, i) => {
    const path = `/users/${i}`
    if (!u) return
    const uidProblem = idProblems(u.uid, 'uid')
    if (uidProblem) problems.error(`${path}/uid`, uidProblem)
    const other = uids.get(u.uid)
    if (other !== undefined) problems.error(`${path}/uid`, `uid ${u.uid} is already used by "${other}": uids must be unique`)
    else if (typeof u.uid === 'number') uids.set(u.uid, u.name)
    const gidProblem = idProblems(u.gid, 'gid')
    if (gidProblem) problems.error(`${path}/gid`, gidProblem)
    const owner = u.gid !== undefined ? privateGids.get(u.gid) : undefined
    if (owner !== undefined && owner !== u.name) problems.error(`${path}/gid`, `gid ${u.gid} is the private group of user "${owner}": pick another gid`)
    const accounts = accountsOf.get(u.name) ?? []
    if (accounts.length === 0 && u.disabled !== true) problems.warning(path, `user "${u.name}" is under no supervisor: they get no Slurm association`)
    if (u.defaultAccount && !accounts.includes(u.defaultAccount)) {
      problems.error(`${path}/defaultAccount`, `"${u.defaultAccount}" is not an account of a supervisor listing "${u.name}"; use one of ${JSON.stringify(accounts)}`)
    }
    list(u.qos).forEach((q, j) => {
      if (!qosNames.has(q)) problems.error(`${path}/qos/${j}`, `unknown QoS "${q}": define it under qos or remove it`)
    })
  })
}

/** A department's gid is checked like a user's, is no user's private group, and is the department's own. */
function departmentGidRules(spec: Spec, privateGids: Map<number, string>, problems: Problems): void {
  const owners = new Map<number, string>()
  list(spec.departments).forEach((d, i) => {
    if (typeof d?.gid !== 'number') return
    const path = `/departments/${i}/gid`
    const problem = idProblems(d.gid, 'gid')
    if (problem) problems.error(path, problem)
    const user = privateGids.get(d.gid)
    if (user !== undefined) problems.error(path, `gid ${d.gid} is the private group of user "${user}": pick another gid`)
    const other = owners.get(d.gid)
    if (other !== undefined) problems.error(path, `gid ${d.gid} is already the group of department "${other}": each department has its own`)
    else owners.set(d.gid, d.name)
  })
}

/**
 * Warns when a per-user GPU limit can never be reached through the partitions allowing
 * the QoS. Near-linear: node groups with GPUs are bits; each source of QoS (a department
 * with its own partitions, or a shared partition) ORs its bits into the QoS it allows.
 */
function gpuLimitWarnings(spec: Spec, partitions: ResolvedPartition[], problems: Problems): void {
  const limited = new Map<string, Uint32Array>()
  const gpuGroups = new Map<string, number>()
  const gpus: number[] = []
  for (const g of list(spec.nodeGroups)) {
    if (!g?.gpus || typeof g.nodes !== 'string' || gpuGroups.has(g.name)) continue
    gpuGroups.set(g.name, gpus.length)
    gpus.push(countNodes(g.nodes) * g.gpus.count)
  }
  const words = Math.ceil(gpus.length / 32)
  for (const q of list(spec.qos)) if (q?.maxTresPerUser?.gpu !== undefined) limited.set(q.name, new Uint32Array(words))
  if (limited.size === 0) return
  // Partitions of one department allow the same QoS: OR their groups first.
  const sources = new Map<string, { bits: Uint32Array; qos: string[] }>()
  for (const r of partitions) {
    const key = r.kind === 'department' ? `department:${r.departments[0] ?? ''}` : r.path
    let source = sources.get(key)
    if (!source) sources.set(key, source = { bits: new Uint32Array(words), qos: r.allowQos })
    for (const g of list(r.partition.nodeGroups)) {
      const i = gpuGroups.get(g)
      if (i !== undefined) source.bits[i >>> 5]! |= 1 << (i & 31)
    }
  }
  for (const { bits, qos } of sources.values()) {
    const nonzero: number[] = []
    bits.forEach((word, w) => { if (word !== 0) nonzero.push(w) })
    if (nonzero.length === 0) continue
    for (const q of qos) {
      const acc = limited.get(q)
      if (acc) for (const w of nonzero) acc[w]! |= bits[w]!
    }
  }
  list(spec.qos).forEach((q, i) => {
    const limit = q?.maxTresPerUser?.gpu
    const acc = limited.get(q?.name)
    if (limit === undefined || !acc) return
    let reachable = 0
    acc.forEach((word, w) => {
      for (let b = word; b !== 0; b &= b - 1) reachable += gpus[w * 32 + (31 - Math.clz32(b & -b))] ?? 0
    })
    if (limit > reachable) {
      problems.warning(`/qos/${i}/maxTresPerUser/gpu`, `the limit of ${limit} GPUs per user is above the ${reachable} GPUs in partitions allowing QoS "${q.name}"`)
    }
  })
}

function versionRules(spec: Spec, problems: Problems): void {
  const version = spec.cluster?.slurmVersion
  if (typeof version !== 'string') return
  const [major] = version.split('.').map(Number)
  if (major !== undefined && major < 21) problems.error('/cluster/slurmVersion', `Slurm ${version} is too old: HPC Steward renders files for Slurm 21.08 and later`)
}

/**
 * The researcher's view (`GET /v1/me`, `steward whoami`, /ui/me): who the token is, from
 * the cluster's spec. Usage and budgets come from another capability: a provider may be
 * given; without one the answer says they are not available in this version.
 */
import type { ClusterSpec, Qos } from '../spec/schema.js'
import { desiredAccounting } from '../accounting/desired.js'
import { homeOf, supervisorAccount } from '../spec/model.js'
import { visibleDepartments, visiblePartitions, type Principal } from '../auth/policy.js'
import { timeToSeconds } from '../slurm/time.js'

export interface MeQos { name: string; limits: string[] }
export interface MeAccount { name: string; department: string; default: boolean }
export interface MeLogin {
  pools: Array<{ name: string; address: string; port: number; how: string }>
  sessionManager: { runAs: string; maxDurationMinutes: number | null } | null
}

/** What a usage/budget provider (issue 10) gives for a principal; shown as-is. */
export interface UsageSection { available: true; [key: string]: unknown }
export type UsageProvider = (p: Principal, spec: ClusterSpec) => Promise<UsageSection>

export interface Me {
  cluster: string
  role: string
  departments: string[]
  user: { name: string; uid: number; email: string | null; home: string } | null
  accounts: MeAccount[]
  qos: MeQos[]
  partitions: Array<{ name: string; maxTime: string | null; shared: boolean }>
  login: MeLogin
  /** `{available: false, message}` until a usage provider is registered. */
  usage: UsageSection | { available: false; message: string }
}

export const USAGE_NOT_AVAILABLE = 'usage and budgets are not available in this version'

/** A duration in plain words: 172800 s -> "2 days", 14400 -> "4 hours". */
export function plainDuration(seconds: number): string {
  const units: Array<[number, string]> = [[86_400, 'day'], [3_600, 'hour'], [60, 'minute']]
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size
      return `${n} ${name}${n === 1 ? '' : 's'}`
    }
  }
  return seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} hours` : `${Math.round(seconds / 60)} minutes`
}

const TRES_WORDS: Record<string, [string, string]> = { gpu: ['GPU', 'GPUs'], cpu: ['CPU', 'CPUs'], node: ['node', 'nodes'], mem: ['MiB of memory', 'MiB of memory'] }
const tresWord = (name: string, n: number): string => {
  const words = TRES_WORDS[name]
  return words ? (n === 1 ? words[0] : words[1]) : name
}

/** A QoS's limits in plain words ("at most 8 GPUs at once", "jobs up to 2 days"). */
export function qosInWords(q: Qos): string[] {
  const words: string[] = []
  for (const [name, n] of Object.entries(q.maxTresPerUser ?? {})) if (typeof n === 'number') words.push(`at most ${n} ${tresWord(name, n)} at once`)
  for (const [name, n] of Object.entries(q.maxTresPerJob ?? {})) if (typeof n === 'number') words.push(`at most ${n} ${tresWord(name, n)} per job`)
  if (q.maxWallDurationPerJob !== undefined) {
    const s = timeToSeconds(q.maxWallDurationPerJob)
    if (s !== null) words.push(`jobs up to ${plainDuration(s)}`)
  }
  if (q.maxJobsPerUser !== undefined) words.push(`at most ${q.maxJobsPerUser} running job${q.maxJobsPerUser === 1 ? '' : 's'}`)
  if (q.maxSubmitJobsPerUser !== undefined) words.push(`at most ${q.maxSubmitJobsPerUser} jobs queued`)
  if (q.usageFactor === 0) words.push('usage is not charged')
  if (q.preemptMode === 'requeue' || q.preemptMode === 'cancel') words.push(`jobs may be preempted (${q.preemptMode})`)
  if (words.length === 0) words.push('no limits of its own')
  return words
}

/** How to log in: each login pool's address (HAProxy's listen address; an NLB by its target group) and Session Manager. */
export function loginOf(spec: ClusterSpec, user: string | null): MeLogin {
  const pools = (spec.loginNodes?.pools ?? []).map((pool) => {
    if (pool.balancer.type === 'haproxy') {
      const at = pool.balancer.listen.lastIndexOf(':')
      const address = pool.balancer.listen.slice(0, at)
      const port = Number(pool.balancer.listen.slice(at + 1))
      return { name: pool.name, address, port, how: `ssh ${port === 22 ? '' : `-p ${port} `}${user ?? 'USER'}@${address}` }
    }
    return { name: pool.name, address: pool.balancer.targetGroupArn, port: pool.sshPort ?? 22, how: 'ssh to the NLB of this target group (its DNS name is in the AWS console)' }
  })
  const ssm = spec.sessions?.ssm
  return {
    pools,
    sessionManager: ssm && user ? { runAs: user, maxDurationMinutes: ssm.maxDurationMinutes ?? null } : null,
  }
}

/** The view of `p` on `spec` (no usage; see {@link withUsage}). */
export function whoAmI(p: Principal, spec: ClusterSpec): Me {
  const departments = [...visibleDepartments(p, spec)].sort()
  const user = p.role === 'researcher' && p.user ? spec.users.find((u) => u.name === p.user) : undefined
  const accounts: MeAccount[] = []
  let qosNames: string[] = []
  if (user) {
    const accounting = desiredAccounting(spec)
    const defaultAccount = accounting.users.get(user.name)?.defaultAccount
    for (const d of spec.departments) {
      for (const s of d.supervisors ?? []) {
        if (!s.users.includes(user.name)) continue
        const name = supervisorAccount(d, s)
        accounts.push({ name, department: d.name, default: name === defaultAccount })
      }
    }
    qosNames = [...new Set([...accounting.associations.values()].filter((a) => a.user === user.name).flatMap((a) => a.qos))].sort()
  } else {
    qosNames = [...new Set(spec.departments.filter((d) => departments.includes(d.name)).flatMap((d) => d.qos))].sort()
  }
  const qosByName = new Map(spec.qos.map((q) => [q.name, q]))
  const partitionNames = visiblePartitions(p, spec)
  const partitions = [
    ...spec.departments.flatMap((d) => (d.partitions ?? []).map((x) => ({ name: x.name, maxTime: x.maxTime, shared: false }))),
    ...(spec.sharedPartitions ?? []).map((x) => ({ name: x.name, maxTime: x.maxTime, shared: true })),
  ].filter((x) => partitionNames.has(x.name)).map((x) => {
    const s = x.maxTime === undefined ? null : timeToSeconds(x.maxTime)
    return { name: x.name, maxTime: s === null ? null : plainDuration(s), shared: x.shared }
  })
  return {
    cluster: spec.cluster.name,
    role: p.role,
    departments,
    user: user ? { name: user.name, uid: user.uid, email: user.email ?? null, home: homeOf(spec, user) } : null,
    accounts,
    qos: qosNames.map((name) => ({ name, limits: qosByName.get(name) ? qosInWords(qosByName.get(name) as Qos) : [] })),
    partitions,
    login: loginOf(spec, user?.name ?? null),
    usage: { available: false, message: USAGE_NOT_AVAILABLE },
  }
}

/** Adds the usage provider's section (issue 10's budgets) when one is registered. */
export async function withUsage(me: Me, p: Principal, spec: ClusterSpec, provider: UsageProvider | undefined): Promise<Me> {
  if (!provider) return me
  return { ...me, usage: await provider(p, spec) }
}

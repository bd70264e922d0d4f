/**
 * Facts derived from a valid spec that rendering, accounting and validation all need:
 * supervisor account names, the accounts and QoS a partition allows, node names. One
 * place computes them so the slurm.conf and the accounting tree can never disagree.
 */
import type { ClusterSpec, Department, Partition, SharedPartition, Supervisor, User } from './schema.js'

/** Where home directories live when the spec does not say: `/home`. */
export const DEFAULT_HOME_ROOT = '/home'

/** The home a user gets when the spec gives none: `<cluster.homeRoot>/<name>`. */
export function defaultHome(spec: Pick<ClusterSpec, 'cluster'>, user: string): string {
  return `${spec.cluster.homeRoot ?? DEFAULT_HOME_ROOT}/${user}`
}

/** A user's home directory: `home`, or the default under the cluster's home root. */
export function homeOf(spec: Pick<ClusterSpec, 'cluster'>, user: Pick<User, 'name' | 'home'>): string {
  return user.home ?? defaultHome(spec, user.name)
}

/** The Slurm account of a supervisor: `account`, or `<department>-<supervisor>`. */
export function supervisorAccount(department: Pick<Department, 'name'>, supervisor: Pick<Supervisor, 'name' | 'account'>): string {
  return supervisor.account ?? `${department.name}-${supervisor.name}`
}

/** The department account and every supervisor account under it, department first. */
export function departmentAccounts(department: Department): string[] {
  return [department.name, ...(department.supervisors ?? []).map((s) => supervisorAccount(department, s))]
}

/** A partition of either kind with what Slurm needs to know about who may use it. */
export interface ResolvedPartition {
  kind: 'department' | 'shared'
  /** Index path of the partition in the spec, for error messages. */
  path: string
  partition: Partition | SharedPartition
  /** Departments whose accounts may use it. */
  departments: string[]
  /** `AllowAccounts`: every department account and every supervisor account (not hierarchical in Slurm). */
  allowAccounts: string[]
  /** `AllowQos`: the union of the departments' QoS lists, in spec order. */
  allowQos: string[]
}

/** Departments a shared partition is open to, in spec order. */
export function sharedDepartments(spec: ClusterSpec, partition: SharedPartition): Department[] {
  if (partition.departments === 'all') return spec.departments
  const named = new Set(partition.departments as string[])
  return spec.departments.filter((d) => named.has(d.name))
}

/**
 * Unions of department QoS lists, in order of first appearance. A shared partition may
 * list 2,000 departments of up to 64 QoS each, so the union runs over small integer
 * indexes with a generation stamp instead of building a Set of strings each time.
 */
class QosUnion {
  private readonly index = new Map<string, number>()
  private readonly names: string[] = []
  private readonly byDepartment = new Map<Department, number[]>()
  private stamp = new Uint32Array(0)
  private generation = 0

  of(departments: Department[]): string[] {
    this.generation += 1
    const out: string[] = []
    for (const d of departments) {
      for (const i of this.indexes(d)) {
        if (this.stamp[i] === this.generation) continue
        this.stamp[i] = this.generation
        out.push(this.names[i] as string)
      }
    }
    return out
  }

  private indexes(d: Department): number[] {
    let found = this.byDepartment.get(d)
    if (!found) {
      found = d.qos.map((q) => {
        let i = this.index.get(q)
        if (i === undefined) {
          i = this.names.push(q) - 1
          this.index.set(q, i)
        }
        return i
      })
      this.byDepartment.set(d, found)
      if (this.stamp.length < this.names.length) {
        const grown = new Uint32Array(Math.max(this.names.length, this.stamp.length * 2))
        grown.set(this.stamp)
        this.stamp = grown
      }
    }
    return found
  }
}

function resolve(kind: ResolvedPartition['kind'], path: string, partition: Partition | SharedPartition, departments: Department[], qos: QosUnion): ResolvedPartition {
  return {
    kind,
    path,
    partition,
    departments: departments.map((d) => d.name),
    allowAccounts: unique(departments.flatMap(departmentAccounts)),
    allowQos: qos.of(departments),
  }
}

/** Every partition of the cluster, department partitions first, in spec order. */
export function resolvePartitions(spec: ClusterSpec): ResolvedPartition[] {
  const qos = new QosUnion()
  const own = spec.departments.flatMap((d, i) =>
    (d.partitions ?? []).map((p, j) => resolve('department', `/departments/${i}/partitions/${j}`, p, [d], qos)),
  )
  // Every partition open to all departments allows the same accounts and QoS: compute once.
  let all: Pick<ResolvedPartition, 'departments' | 'allowAccounts' | 'allowQos'> | undefined
  const shared = (spec.sharedPartitions ?? []).map((p, i) => {
    if (p.departments !== 'all') return resolve('shared', `/sharedPartitions/${i}`, p, sharedDepartments(spec, p), qos)
    all ??= resolve('shared', '', p, spec.departments, qos)
    return { kind: 'shared' as const, path: `/sharedPartitions/${i}`, partition: p, departments: all.departments, allowAccounts: all.allowAccounts, allowQos: all.allowQos }
  })
  return [...own, ...shared]
}

/** Keeps the first occurrence of each value, in order. */
export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)]
}

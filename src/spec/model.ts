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

/** Departments a shared partition is open to. */
export function sharedDepartments(spec: ClusterSpec, partition: SharedPartition): Department[] {
  return partition.departments === 'all'
    ? spec.departments
    : spec.departments.filter((d) => (partition.departments as string[]).includes(d.name))
}

function resolve(kind: ResolvedPartition['kind'], path: string, partition: Partition | SharedPartition, departments: Department[]): ResolvedPartition {
  return {
    kind,
    path,
    partition,
    departments: departments.map((d) => d.name),
    allowAccounts: unique(departments.flatMap(departmentAccounts)),
    allowQos: unique(departments.flatMap((d) => d.qos)),
  }
}

/** Every partition of the cluster, department partitions first, in spec order. */
export function resolvePartitions(spec: ClusterSpec): ResolvedPartition[] {
  const own = spec.departments.flatMap((d, i) =>
    (d.partitions ?? []).map((p, j) => resolve('department', `/departments/${i}/partitions/${j}`, p, [d])),
  )
  const shared = (spec.sharedPartitions ?? []).map((p, i) =>
    resolve('shared', `/sharedPartitions/${i}`, p, sharedDepartments(spec, p)),
  )
  return [...own, ...shared]
}

/** Keeps the first occurrence of each value, in order. */
export function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)]
}

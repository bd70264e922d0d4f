/**
 * Fine-grained changes to a spec (a department, a supervisor, a user, a QoS, a partition,
 * a node group): pure functions from a spec to a new spec. The caller validates the
 * result as a whole and stores it as a new revision, so every edit is all-or-nothing.
 */
import type { ClusterSpec, Department, NodeGroup, Partition, Qos, SharedPartition, Supervisor, User } from './schema.js'

/** Thrown when the named item does not exist (HTTP 404). */
export class SpecItemNotFoundError extends Error {
  override name = 'SpecItemNotFoundError'
}

/** Thrown when creating an item whose name is taken (HTTP 409). */
export class SpecItemExistsError extends Error {
  override name = 'SpecItemExistsError'
}

interface Named { name: string }

/** The error for a missing item; also what a token is told of an item it may not see, word for word. */
export function itemNotFound(kind: string, name: string): SpecItemNotFoundError {
  return new SpecItemNotFoundError(`no ${kind} "${name}"`)
}

function findIn<T extends Named>(items: readonly T[] | undefined, name: string, kind: string): T {
  const item = (items ?? []).find((i) => i.name === name)
  if (!item) throw itemNotFound(kind, name)
  return item
}

/** How the supervisors of `department` are named in messages. */
export function supervisorKind(department: string): string {
  return `supervisor in department "${department}"`
}

/** Returns `items` with `item` added (create), replacing `name` (replace) or without `name` (remove). */
function change<T extends Named>(items: readonly T[] | undefined, op: Op<T>, kind: string): T[] {
  const list = [...(items ?? [])]
  const index = op.name === undefined ? -1 : list.findIndex((i) => i.name === op.name)
  if (op.kind === 'create') {
    if (list.some((i) => i.name === op.item.name)) throw new SpecItemExistsError(`${kind} "${op.item.name}" already exists`)
    return [...list, op.item]
  }
  if (index === -1) throw itemNotFound(kind, op.name)
  if (op.kind === 'remove') return list.filter((_, i) => i !== index)
  list[index] = op.item
  return list
}

export type Op<T> =
  | { kind: 'create'; item: T; name?: undefined }
  | { kind: 'replace'; name: string; item: T }
  | { kind: 'remove'; name: string; item?: undefined }

const clone = (spec: ClusterSpec): ClusterSpec => structuredClone(spec)

export function findDepartment(spec: ClusterSpec, name: string): Department {
  return findIn(spec.departments, name, 'department')
}

export function editDepartments(spec: ClusterSpec, op: Op<Department>): ClusterSpec {
  return { ...clone(spec), departments: change(spec.departments, op, 'department') }
}

export function findSupervisor(spec: ClusterSpec, department: string, name: string): Supervisor {
  return findIn(findDepartment(spec, department).supervisors, name, supervisorKind(department))
}

export function editSupervisors(spec: ClusterSpec, department: string, op: Op<Supervisor>): ClusterSpec {
  const next = clone(spec)
  const d = findDepartment(next, department)
  d.supervisors = change(d.supervisors, op, supervisorKind(department))
  return next
}

export function findUser(spec: ClusterSpec, name: string): User {
  return findIn(spec.users, name, 'user')
}

export function editUsers(spec: ClusterSpec, op: Op<User>): ClusterSpec {
  return { ...clone(spec), users: change(spec.users, op, 'user') }
}

export function findQos(spec: ClusterSpec, name: string): Qos {
  return findIn(spec.qos, name, 'QoS')
}

export function editQos(spec: ClusterSpec, op: Op<Qos>): ClusterSpec {
  return { ...clone(spec), qos: change(spec.qos, op, 'QoS') }
}

export function findNodeGroup(spec: ClusterSpec, name: string): NodeGroup {
  return findIn(spec.nodeGroups, name, 'node group')
}

export function editNodeGroups(spec: ClusterSpec, op: Op<NodeGroup>): ClusterSpec {
  return { ...clone(spec), nodeGroups: change(spec.nodeGroups, op, 'node group') }
}

/** A partition as the API shows it: a department's (with `department`) or a shared one. */
export type PartitionResource =
  | (Partition & { department: string })
  | SharedPartition

/** Every partition of the spec as a resource, department partitions first. */
export function listPartitions(spec: ClusterSpec): PartitionResource[] {
  return [
    ...spec.departments.flatMap((d) => (d.partitions ?? []).map((p) => ({ ...p, department: d.name }))),
    ...(spec.sharedPartitions ?? []),
  ]
}

export function findPartition(spec: ClusterSpec, name: string): PartitionResource {
  return findIn(listPartitions(spec), name, 'partition')
}

/** Creates, replaces or removes a partition wherever it lives (it may move between owners). */
export function editPartitions(spec: ClusterSpec, op: Op<PartitionResource>): ClusterSpec {
  if (op.kind === 'replace') {
    const inPlace = replaceInPlace(spec, op.name, op.item)
    if (inPlace) return inPlace
  }
  const next = clone(spec)
  if (op.kind !== 'create') {
    const existing = findPartition(spec, op.name)
    if ('department' in existing) {
      const d = findDepartment(next, existing.department)
      d.partitions = (d.partitions ?? []).filter((p) => p.name !== op.name)
    } else {
      next.sharedPartitions = (next.sharedPartitions ?? []).filter((p) => p.name !== op.name)
    }
  } else if (listPartitions(spec).some((p) => p.name === op.item.name)) {
    throw new SpecItemExistsError(`partition "${op.item.name}" already exists`)
  }
  if (op.kind === 'remove') return next
  const item = op.item
  if ('department' in item) {
    const { department, ...partition } = item
    const d = findDepartment(next, department)
    d.partitions = [...(d.partitions ?? []), partition]
  } else {
    next.sharedPartitions = [...(next.sharedPartitions ?? []), item]
  }
  return next
}

/** Replaces a partition at its position when its owner does not change (keeps slurm.conf diffs small). */
function replaceInPlace(spec: ClusterSpec, name: string, item: PartitionResource): ClusterSpec | undefined {
  const existing = findPartition(spec, name)
  const next = clone(spec)
  if ('department' in existing && 'department' in item && existing.department === item.department) {
    const { department, ...partition } = item
    const d = findDepartment(next, department)
    d.partitions = (d.partitions ?? []).map((p) => (p.name === name ? partition : p))
    return next
  }
  if (!('department' in existing) && !('department' in item)) {
    next.sharedPartitions = (next.sharedPartitions ?? []).map((p) => (p.name === name ? item : p))
    return next
  }
  return undefined
}

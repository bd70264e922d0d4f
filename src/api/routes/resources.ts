/**
 * The six fine-grained resources of a cluster spec and who may touch them:
 * cluster admins everything; department admins their departments, supervisors and users
 * (and the QoS choices the admin allowed); researchers only their own user.
 */
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@sinclair/typebox'
import { Department, NodeGroup, Partition, Qos, SharedPartition, Supervisor, User } from '../../spec/schema.js'
import { Name } from '../../spec/names.js'
import type { ClusterSpec, User as UserType } from '../../spec/schema.js'
import {
  editDepartments, editNodeGroups, editPartitions, editQos, editSupervisors, editUsers,
  findDepartment, findNodeGroup, findPartition, findQos, findSupervisor, findUser, itemNotFound, listPartitions, supervisorKind,
  type PartitionResource,
} from '../../spec/edit.js'
import { supervisorAccount } from '../../spec/model.js'
import {
  ForbiddenError, canEditUser, canManageDepartment, canSeeUser, isAdmin, requireAdmin, type Principal,
} from '../../auth/policy.js'
import type { RevisionService } from '../../revisions/service.js'
import { ClusterParams, NamedParams, UserParams } from '../schemas.js'
import { registerCollection, type PrepareContext } from './collection.js'

const adminOnly = (what: string) => ({
  authorizeRead: (p: Principal) => requireAdmin(p, `read ${what}`),
  visible: () => true,
  authorizeWrite: (p: Principal) => requireAdmin(p, `change ${what}`),
})

const noResearchers = (p: Principal): void => {
  if (p.role === 'researcher') throw new ForbiddenError('researchers may read only their own user')
}

/**
 * A user with the associations and limits that follow from the spec. A department admin
 * sees only the associations in their departments (and those QoS); a researcher all of
 * their own.
 */
export function presentUser(user: UserType, spec: ClusterSpec, p: Principal) {
  const associations = spec.departments
    .filter((d) => p.role !== 'department-admin' || canManageDepartment(p, d.name))
    .flatMap((d) => (d.supervisors ?? [])
    .filter((s) => s.users.includes(user.name))
    .map((s) => ({ account: supervisorAccount(d, s), department: d.name, supervisor: s.name, qos: [...new Set([...d.qos, ...(user.qos ?? [])])], defaultQos: d.defaultQos ?? null })))
  const qosNames = new Set(associations.flatMap((a) => a.qos))
  return {
    ...user,
    defaultAccount: user.defaultAccount ?? associations[0]?.account ?? null,
    associations,
    limits: spec.qos.filter((q) => qosNames.has(q.name)),
  }
}

/**
 * A user body on the spec it goes into: without a uid it keeps the one it had; a new
 * user of a department admin without a gid gets the gid of the token's department when
 * exactly one of its departments has one.
 */
function prepareUser(user: UserType, { principal, spec, before }: PrepareContext<UserType>): UserType {
  let next = user
  if (next.uid === undefined && before) next = { ...next, uid: before.uid }
  if (next.gid === undefined && !before && !isAdmin(principal)) {
    const gids = spec.departments.filter((d) => d.gid !== undefined && canManageDepartment(principal, d.name)).map((d) => d.gid as number)
    if (gids.length === 1) next = { ...next, gid: gids[0] }
  }
  return next
}

const UserCreate = Type.Composite([Type.Omit(User, ['uid']), Type.Object({ uid: Type.Optional(User.properties.uid) })], { additionalProperties: false })
const PartitionBody = Type.Union([
  Type.Composite([Partition, Type.Object({ department: Name })], { additionalProperties: false }),
  SharedPartition,
])

export function resourceRoutes(deps: { revisions: RevisionService }): FastifyPluginAsync {
  const { revisions } = deps
  return async (app) => {
    // What a department admin may change in a department, a supervisor or a user is
    // checked on the whole change by the revision service (auth/spec-change.ts).
    registerCollection(app, revisions, {
      kind: 'department', path: '/clusters/:cluster/departments', listParams: ClusterParams, itemParams: NamedParams, body: Department,
      list: (spec) => spec.departments,
      find: (spec, name) => findDepartment(spec, name),
      edit: (spec, op) => editDepartments(spec, op),
      authorizeRead: (p) => noResearchers(p),
      visible: (p, _spec, d) => canManageDepartment(p, d.name),
      authorizeWrite: (p, _spec, _params, before, after) => {
        if (!after) requireAdmin(p, 'delete departments')
        else if (!before) requireAdmin(p, 'create departments')
      },
      resource: (params, name) => `clusters/${params.cluster}/departments/${name}`,
    })

    const SupervisorParams = Type.Object({ cluster: Name, department: Name }, { additionalProperties: false })
    const SupervisorItemParams = Type.Object({ cluster: Name, department: Name, name: Name }, { additionalProperties: false })
    registerCollection(app, revisions, {
      kind: 'supervisor', itemKind: (params) => supervisorKind(params.department as string),
      path: '/clusters/:cluster/departments/:department/supervisors', listParams: SupervisorParams, itemParams: SupervisorItemParams, body: Supervisor,
      list: (spec, params) => findDepartment(spec, params.department as string).supervisors ?? [],
      find: (spec, name, params) => findSupervisor(spec, params.department as string, name),
      edit: (spec, op, params) => editSupervisors(spec, params.department as string, op),
      // Another department's supervisors: as if the department did not exist.
      authorizeRead: (p, spec, params) => {
        noResearchers(p)
        const department = findDepartment(spec, params.department as string)
        if (!canManageDepartment(p, department.name)) throw itemNotFound('department', department.name)
      },
      visible: () => true,
      authorizeWrite: () => undefined,
      resource: (params, name) => `clusters/${params.cluster}/departments/${params.department}/supervisors/${name}`,
    })

    registerCollection<UserType>(app, revisions, {
      kind: 'user', path: '/clusters/:cluster/users', listParams: ClusterParams, itemParams: UserParams, body: UserCreate,
      list: (spec) => spec.users,
      find: (spec, name) => findUser(spec, name),
      edit: (spec, op) => editUsers(spec, op),
      // Every role lists users: a researcher's list holds only themselves.
      authorizeRead: () => undefined,
      visible: (p, spec, u) => canSeeUser(p, spec, u.name),
      authorizeWrite: (p, spec, _params, before) => {
        if (p.role === 'researcher') throw new ForbiddenError('researchers cannot change users')
        if (before && !canEditUser(p, spec, before.name)) throw new ForbiddenError(`user "${before.name}" also belongs to a department outside this token's scope`)
      },
      prepare: prepareUser,
      // A user without a uid keeps theirs, or gets one once the whole change is accepted.
      allocateUids: (user) => [user.name],
      present: presentUser,
      resource: (params, name) => `clusters/${params.cluster}/users/${name}`,
    })

    registerCollection(app, revisions, {
      kind: 'QoS', path: '/clusters/:cluster/qos', listParams: ClusterParams, itemParams: NamedParams, body: Qos,
      list: (spec) => spec.qos, find: (spec, name) => findQos(spec, name), edit: (spec, op) => editQos(spec, op),
      ...adminOnly('QoS definitions'),
      resource: (params, name) => `clusters/${params.cluster}/qos/${name}`,
    })

    registerCollection(app, revisions, {
      kind: 'node group', path: '/clusters/:cluster/node-groups', listParams: ClusterParams, itemParams: NamedParams, body: NodeGroup,
      list: (spec) => spec.nodeGroups, find: (spec, name) => findNodeGroup(spec, name), edit: (spec, op) => editNodeGroups(spec, op),
      ...adminOnly('node groups'),
      resource: (params, name) => `clusters/${params.cluster}/node-groups/${name}`,
    })

    registerCollection<PartitionResource>(app, revisions, {
      kind: 'partition', path: '/clusters/:cluster/partitions', listParams: ClusterParams, itemParams: NamedParams, body: PartitionBody,
      list: (spec) => listPartitions(spec), find: (spec, name) => findPartition(spec, name), edit: (spec, op) => editPartitions(spec, op),
      authorizeRead: (p) => noResearchers(p),
      visible: (p, spec, item) => partitionVisible(p, spec, item),
      authorizeWrite: (p) => requireAdmin(p, 'change partitions'),
      resource: (params, name) => `clusters/${params.cluster}/partitions/${name}`,
    })
  }
}

/** Department admins see their departments' partitions and shared ones open to them. */
function partitionVisible(p: Principal, spec: ClusterSpec, item: PartitionResource): boolean {
  if ('department' in item) return canManageDepartment(p, item.department)
  const open = item.departments === 'all' ? spec.departments.map((d) => d.name) : item.departments
  return open.some((d) => canManageDepartment(p, d))
}


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
  findDepartment, findNodeGroup, findPartition, findQos, findSupervisor, findUser, listPartitions,
  type PartitionResource,
} from '../../spec/edit.js'
import { supervisorAccount } from '../../spec/model.js'
import {
  ForbiddenError, canManageDepartment, canSeeUser, checkDepartmentChange, checkSupervisorChange, checkUserChange, requireAdmin, requireDepartment,
  type Principal,
} from '../../auth/policy.js'
import type { RevisionService } from '../../revisions/service.js'
import type { Store } from '../../store/types.js'
import { ClusterParams, NamedParams, UserParams } from '../schemas.js'
import { registerCollection } from './collection.js'

const adminOnly = (what: string) => ({
  authorizeRead: (p: Principal) => requireAdmin(p, `read ${what}`),
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

const UserCreate = Type.Composite([Type.Omit(User, ['uid']), Type.Object({ uid: Type.Optional(User.properties.uid) })], { additionalProperties: false })
const PartitionBody = Type.Union([
  Type.Composite([Partition, Type.Object({ department: Name })], { additionalProperties: false }),
  SharedPartition,
])

export function resourceRoutes(deps: { store: Store; revisions: RevisionService; uidBase: number }): FastifyPluginAsync {
  const { store, revisions } = deps
  return async (app) => {
    registerCollection(app, revisions, {
      kind: 'department', path: '/clusters/:cluster/departments', listParams: ClusterParams, itemParams: NamedParams, body: Department,
      list: (spec) => spec.departments,
      find: (spec, name) => findDepartment(spec, name),
      edit: (spec, op) => editDepartments(spec, op),
      authorizeRead: (p, _spec, _params, item) => { noResearchers(p); if (item) requireDepartment(p, item.name) },
      visible: (p, _spec, d) => canManageDepartment(p, d.name),
      authorizeWrite: (p, _spec, _params, before, after) => {
        if (!after) requireAdmin(p, 'delete departments')
        else checkDepartmentChange(p, before, after)
      },
      resource: (params, name) => `clusters/${params.cluster}/departments/${name}`,
    })

    const SupervisorParams = Type.Object({ cluster: Name, department: Name }, { additionalProperties: false })
    const SupervisorItemParams = Type.Object({ cluster: Name, department: Name, name: Name }, { additionalProperties: false })
    registerCollection(app, revisions, {
      kind: 'supervisor', path: '/clusters/:cluster/departments/:department/supervisors', listParams: SupervisorParams, itemParams: SupervisorItemParams, body: Supervisor,
      list: (spec, params) => findDepartment(spec, params.department as string).supervisors ?? [],
      find: (spec, name, params) => findSupervisor(spec, params.department as string, name),
      edit: (spec, op, params) => editSupervisors(spec, params.department as string, op),
      authorizeRead: (p, _spec, params) => { noResearchers(p); requireDepartment(p, params.department as string) },
      authorizeWrite: (p, spec, params, before, after) => checkSupervisorChange(p, spec, params.department as string, before, after),
      resource: (params, name) => `clusters/${params.cluster}/departments/${params.department}/supervisors/${name}`,
    })

    registerCollection<UserType>(app, revisions, {
      kind: 'user', path: '/clusters/:cluster/users', listParams: ClusterParams, itemParams: UserParams, body: UserCreate,
      list: (spec) => spec.users,
      find: (spec, name) => findUser(spec, name),
      edit: (spec, op) => editUsers(spec, op),
      // The list is filtered by `visible`: a researcher's list holds only themselves.
      authorizeRead: (p, spec, _params, item) => {
        if (item && !canSeeUser(p, spec, item.name)) throw new ForbiddenError(`user "${item.name}" is outside this token's scope`)
      },
      visible: (p, spec, u) => canSeeUser(p, spec, u.name),
      authorizeWrite: (p, spec, _params, before, after) => checkUserChange(p, spec, before, after),
      // A user without a uid keeps theirs, or gets one from the allocator (never reused).
      // An explicit uid is recorded by the revision service once the spec is valid.
      prepare: async (user, _params, before) => (user.uid !== undefined ? user : { ...user, uid: before?.uid ?? await store.allocateUid(user.name, deps.uidBase) }),
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
      authorizeRead: (p, spec, _params, item) => {
        noResearchers(p)
        if (item && !partitionVisible(p, spec, item)) throw new ForbiddenError(`partition "${item.name}" is outside this token's scope`)
      },
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


/**
 * The cluster spec (`apiVersion: steward/v1`) as TypeBox schemas: the structural contract
 * of spec-format.md. Semantic rules (references, uniqueness, ranges across fields) live
 * in `validate.ts`. Unknown fields are rejected everywhere so a typo is an error, not a
 * silently ignored setting.
 */
import { Type, type Static, type TSchema, type TObject, type TProperties } from '@sinclair/typebox'
import {
  ADDRESS_RE, Count, DEVICE_RE, EMAIL_RE, FreeText, HOME_RE, HOME_ROOT_PATTERN, INSTANCE_GROUP_RE, QOS_FLAG_RE, SLURM_VERSION_RE, HostName, Hostlist, Name, PositiveCount, PosixId, SlurmTime, TresMap, UserName,
} from './names.js'
import { LIMITS } from './limits.js'
import { LoginNodes, LoginPool, Sessions } from './login-schema.js'
import { EXTERNAL_ID_RE, Identity, IdentitySourceKind } from './identity-schema.js'
import { Budgets, Pricing } from './budget-schema.js'

const strict = <T extends TProperties>(properties: T, description?: string): TObject<T> =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) })

export const PreemptMode = Type.Union(
  [Type.Literal('off'), Type.Literal('cancel'), Type.Literal('requeue'), Type.Literal('suspend')],
  { description: 'off, cancel, requeue or suspend' },
)
export type PreemptMode = Static<typeof PreemptMode>

export const Oversubscribe = Type.Union(
  [Type.Literal('no'), Type.Literal('yes'), Type.Literal('force'), Type.Literal('exclusive')],
  { description: 'no, yes, force or exclusive' },
)

export const Weights = strict({
  fairshare: Count,
  qos: Count,
  age: Count,
  jobSize: Count,
  partition: Count,
})

export const Cluster = strict({
  name: Name,
  slurmVersion: Type.String({ pattern: SLURM_VERSION_RE.source, maxLength: 16, description: 'Slurm release, e.g. "22.05" or "24.11"' }),
  controller: strict({
    host: HostName,
    addr: Type.Optional(Type.String({ pattern: ADDRESS_RE.source, maxLength: 253, description: 'IPv4, IPv6 or host name' })),
  }),
  accounting: Type.Optional(strict({ host: HostName })),
  priority: Type.Optional(strict({
    weights: Weights,
    decayHalfLife: Type.Optional(SlurmTime),
    maxAge: Type.Optional(SlurmTime),
  })),
  render: Type.Optional(strict({
    mode: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('include')])),
  })),
  /** Where users' home directories live: a user without `home` gets `<homeRoot>/<name>`. */
  homeRoot: Type.Optional(Type.String({ pattern: HOME_ROOT_PATTERN, maxLength: 200, description: 'absolute directory of home directories, e.g. /fsx (default /home)' })),
})
export type Cluster = Static<typeof Cluster>

export const GpuSharing = strict({
  mode: Type.Union([Type.Literal('shard'), Type.Literal('mps')]),
  perGpu: Type.Integer({ minimum: 1, maximum: 1024 }),
})

export const Gpus = strict({
  type: Name,
  count: Type.Integer({ minimum: 1, maximum: 64 }),
  devices: Type.Optional(Type.String({ pattern: DEVICE_RE.source, maxLength: 255, description: 'device hostlist such as /dev/nvidia[0-7]' })),
  sharing: Type.Optional(GpuSharing),
})
export type Gpus = Static<typeof Gpus>

export const NodeGroup = strict({
  name: Name,
  instanceGroup: Type.Optional(Type.String({ pattern: INSTANCE_GROUP_RE.source, maxLength: 63, description: 'HyperPod instance group name' })),
  nodes: Hostlist,
  cpus: PositiveCount,
  sockets: Type.Optional(PositiveCount),
  coresPerSocket: Type.Optional(PositiveCount),
  threadsPerCore: Type.Optional(PositiveCount),
  realMemoryMiB: PositiveCount,
  gpus: Type.Optional(Gpus),
  features: Type.Optional(Type.Array(Name, { maxItems: LIMITS.featuresPerGroup })),
  weight: Type.Optional(Count),
})
export type NodeGroup = Static<typeof NodeGroup>

export const Qos = strict({
  name: Name,
  description: Type.Optional(FreeText),
  priority: Type.Optional(Count),
  maxTresPerUser: Type.Optional(TresMap),
  maxTresPerJob: Type.Optional(TresMap),
  grpTres: Type.Optional(TresMap),
  maxWallDurationPerJob: Type.Optional(SlurmTime),
  maxJobsPerUser: Type.Optional(Count),
  maxSubmitJobsPerUser: Type.Optional(Count),
  preempt: Type.Optional(Type.Array(Name, { maxItems: LIMITS.preemptPerQos })),
  preemptMode: Type.Optional(PreemptMode),
  usageFactor: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
  flags: Type.Optional(Type.Array(Type.String({ pattern: QOS_FLAG_RE.source, maxLength: 40, description: 'a QoS flag such as DenyOnLimit' }), { maxItems: LIMITS.flagsPerQos })),
})
export type Qos = Static<typeof Qos>

const partitionFields = {
  name: Name,
  nodeGroups: Type.Array(Name, { minItems: 1, maxItems: LIMITS.nodeGroupsPerPartition }),
  default: Type.Optional(Type.Boolean()),
  maxTime: Type.Optional(SlurmTime),
  defaultTime: Type.Optional(SlurmTime),
  priorityTier: Type.Optional(Type.Integer({ minimum: 0, maximum: 65533 })),
  qos: Type.Optional(Name),
  preemptMode: Type.Optional(PreemptMode),
  oversubscribe: Type.Optional(Oversubscribe),
}

export const Partition = strict(partitionFields)
export type Partition = Static<typeof Partition>

export const SharedPartition = strict({
  ...partitionFields,
  departments: Type.Union([Type.Literal('all'), Type.Array(Name, { minItems: 1, maxItems: LIMITS.departments })]),
})
export type SharedPartition = Static<typeof SharedPartition>

export const Supervisor = strict({
  name: Name,
  account: Type.Optional(Name),
  fairshare: Type.Optional(PositiveCount),
  users: Type.Array(UserName, { maxItems: LIMITS.usersPerSupervisor }),
})
export type Supervisor = Static<typeof Supervisor>

export const Department = strict({
  name: Name,
  description: Type.Optional(FreeText),
  organization: Type.Optional(FreeText),
  fairshare: Type.Optional(PositiveCount),
  qos: Type.Array(Name, { minItems: 1, maxItems: LIMITS.qosPerDepartment }),
  defaultQos: Type.Optional(Name),
  /** QoS a department admin may choose from for `qos`/`defaultQos` (set by a cluster admin). */
  allowedQos: Type.Optional(Type.Array(Name, { maxItems: LIMITS.qosPerDepartment, description: 'QoS names a department admin may choose from' })),
  partitions: Type.Optional(Type.Array(Partition, { maxItems: LIMITS.partitionsPerDepartment })),
  supervisors: Type.Optional(Type.Array(Supervisor, { maxItems: LIMITS.supervisorsPerDepartment })),
  /** The primary group of users a department admin creates (set by a cluster admin). */
  gid: Type.Optional(PosixId('the primary gid of users a department admin creates')),
})
export type Department = Static<typeof Department>

export const User = strict({
  name: UserName,
  uid: PosixId('POSIX uid'),
  gid: Type.Optional(PosixId('primary gid (default: a group of the user\'s own with gid = uid)')),
  email: Type.Optional(Type.String({ pattern: EMAIL_RE.source, maxLength: 254, description: 'e-mail address' })),
  home: Type.Optional(Type.String({ pattern: HOME_RE.source, maxLength: 255, description: 'absolute path of letters, digits, ., _, - and /' })),
  defaultAccount: Type.Optional(Name),
  qos: Type.Optional(Type.Array(Name, { maxItems: LIMITS.qosPerUser })),
  /** Where the user comes from (absent: written by hand); set by `steward identity sync`. */
  source: Type.Optional(IdentitySourceKind),
  /** The source's id of the user (Identity Store UserId or LDAP DN): a rename keeps the uid. */
  externalId: Type.Optional(Type.String({ pattern: EXTERNAL_ID_RE.source, maxLength: 1024, description: 'Identity Store UserId or LDAP DN' })),
  /** A user who left every mapped group: POSIX account locked, uid kept, no association. */
  disabled: Type.Optional(Type.Boolean()),
})
export type User = Static<typeof User>

/** A SageMaker HyperPod instance group name (`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`). */
export const INSTANCE_GROUP_PATTERN = INSTANCE_GROUP_RE.source
const InstanceGroupName = Type.String({ pattern: INSTANCE_GROUP_PATTERN, maxLength: 63, description: 'HyperPod instance group name: letters, digits and - (not first or last), at most 63' })

export const HyperPodInstanceGroup = strict({
  name: InstanceGroupName,
  instanceType: Type.String({ pattern: '^ml\\.[a-z0-9]{1,12}\\.[a-z0-9]{1,16}$', maxLength: 31, description: 'SageMaker instance type such as ml.p5.48xlarge' }),
  count: Type.Integer({ minimum: 0, maximum: 10_000 }),
})

/** HyperPod's side of the cluster: what `cluster-config.json` and `provisioning_parameters.json` hold. */
export const HyperPod = strict({
  clusterName: Type.String({ pattern: INSTANCE_GROUP_PATTERN, maxLength: 63, description: 'HyperPod cluster name' }),
  controllerGroup: InstanceGroupName,
  loginGroup: Type.Optional(InstanceGroupName),
  fsx: Type.Optional(strict({
    dnsName: Type.String({ pattern: '^fs-[0-9a-f]{8,17}\\.fsx\\.[a-z]{2}(?:-[a-z]+)+-[0-9]\\.amazonaws\\.com$', maxLength: 80, description: 'FSx for Lustre DNS name such as fs-0123456789abcdef0.fsx.us-west-2.amazonaws.com' }),
    mountName: Type.String({ pattern: '^[A-Za-z0-9]{1,8}$', maxLength: 8, description: 'FSx for Lustre mount name (up to 8 letters and digits)' }),
  })),
  instanceGroups: Type.Array(HyperPodInstanceGroup, { minItems: 1, maxItems: 100 }),
})
export type HyperPod = Static<typeof HyperPod>

export const ClusterSpec = strict({
  apiVersion: Type.Literal('steward/v1'),
  cluster: Cluster,
  nodeGroups: Type.Array(NodeGroup, { maxItems: LIMITS.nodeGroups }),
  qos: Type.Array(Qos, { maxItems: LIMITS.qos }),
  departments: Type.Array(Department, { maxItems: LIMITS.departments }),
  sharedPartitions: Type.Optional(Type.Array(SharedPartition, { maxItems: LIMITS.sharedPartitions })),
  users: Type.Array(User, { maxItems: LIMITS.users }),
  hyperpod: Type.Optional(HyperPod),
  loginNodes: Type.Optional(LoginNodes),
  sessions: Type.Optional(Sessions),
  identity: Type.Optional(Identity),
  pricing: Type.Optional(Pricing),
  budgets: Type.Optional(Budgets),
}, 'The desired state of one Slurm cluster (spec-format.md)')
export type ClusterSpec = Static<typeof ClusterSpec>

/** The schemas by name, for the API's OpenAPI document and body validation. */
export const schemas: Record<string, TSchema> = {
  ClusterSpec, Cluster, NodeGroup, Qos, Department, Supervisor, Partition, SharedPartition, User, HyperPod,
  LoginNodes, LoginPool, Sessions, Identity, Pricing, Budgets,
}

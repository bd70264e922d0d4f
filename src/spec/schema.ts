/**
 * The cluster spec (`apiVersion: steward/v1`) as TypeBox schemas: the structural contract
 * of spec-format.md. Semantic rules (references, uniqueness, ranges across fields) live
 * in `validate.ts`. Unknown fields are rejected everywhere so a typo is an error, not a
 * silently ignored setting.
 */
import { Type, type Static, type TSchema, type TObject, type TProperties } from '@sinclair/typebox'
import {
  Count, DEVICE_PATTERN, FreeText, HostName, Hostlist, Name, PositiveCount, SlurmTime, TresMap, UserName,
} from './names.js'
import { LoginNodes, LoginPool, Sessions } from './login-schema.js'

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
  slurmVersion: Type.String({ pattern: '^[0-9]{2}\\.[0-9]{2}(?:\\.[0-9]+)?$', description: 'Slurm release, e.g. "22.05" or "24.11"' }),
  controller: strict({
    host: HostName,
    addr: Type.Optional(Type.String({ pattern: '^(?:[0-9]{1,3}\\.){3}[0-9]{1,3}$|^[0-9a-fA-F:]{2,39}$|^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$', description: 'IPv4, IPv6 or host name' })),
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
})
export type Cluster = Static<typeof Cluster>

export const GpuSharing = strict({
  mode: Type.Union([Type.Literal('shard'), Type.Literal('mps')]),
  perGpu: Type.Integer({ minimum: 1, maximum: 1024 }),
})

export const Gpus = strict({
  type: Name,
  count: Type.Integer({ minimum: 1, maximum: 64 }),
  devices: Type.Optional(Type.String({ pattern: DEVICE_PATTERN, description: 'device hostlist such as /dev/nvidia[0-7]' })),
  sharing: Type.Optional(GpuSharing),
})
export type Gpus = Static<typeof Gpus>

export const NodeGroup = strict({
  name: Name,
  instanceGroup: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,62}$', description: 'HyperPod instance group name' })),
  nodes: Hostlist,
  cpus: PositiveCount,
  sockets: Type.Optional(PositiveCount),
  coresPerSocket: Type.Optional(PositiveCount),
  threadsPerCore: Type.Optional(PositiveCount),
  realMemoryMiB: PositiveCount,
  gpus: Type.Optional(Gpus),
  features: Type.Optional(Type.Array(Name)),
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
  preempt: Type.Optional(Type.Array(Name)),
  preemptMode: Type.Optional(PreemptMode),
  usageFactor: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
  flags: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z]{1,40}$', description: 'a QoS flag such as DenyOnLimit' }))),
})
export type Qos = Static<typeof Qos>

const partitionFields = {
  name: Name,
  nodeGroups: Type.Array(Name, { minItems: 1 }),
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
  departments: Type.Union([Type.Literal('all'), Type.Array(Name, { minItems: 1 })]),
})
export type SharedPartition = Static<typeof SharedPartition>

export const Supervisor = strict({
  name: Name,
  account: Type.Optional(Name),
  fairshare: Type.Optional(PositiveCount),
  users: Type.Array(UserName),
})
export type Supervisor = Static<typeof Supervisor>

export const Department = strict({
  name: Name,
  description: Type.Optional(FreeText),
  organization: Type.Optional(FreeText),
  fairshare: Type.Optional(PositiveCount),
  qos: Type.Array(Name, { minItems: 1 }),
  defaultQos: Type.Optional(Name),
  /** QoS a department admin may choose from for `qos`/`defaultQos` (set by a cluster admin). */
  allowedQos: Type.Optional(Type.Array(Name, { description: 'QoS names a department admin may choose from' })),
  partitions: Type.Optional(Type.Array(Partition)),
  supervisors: Type.Optional(Type.Array(Supervisor)),
})
export type Department = Static<typeof Department>

export const User = strict({
  name: UserName,
  uid: Type.Integer({ minimum: 1000, maximum: 4_294_967_294 }),
  gid: Type.Optional(Type.Integer({ minimum: 1000, maximum: 4_294_967_294 })),
  email: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\\.[A-Za-z]{2,63}$', description: 'e-mail address' })),
  home: Type.Optional(Type.String({ pattern: '^/(?:[A-Za-z0-9._-]+/?)*$', maxLength: 255, description: 'absolute path of letters, digits, ., _, - and /' })),
  defaultAccount: Type.Optional(Name),
  qos: Type.Optional(Type.Array(Name)),
})
export type User = Static<typeof User>

export const ClusterSpec = strict({
  apiVersion: Type.Literal('steward/v1'),
  cluster: Cluster,
  nodeGroups: Type.Array(NodeGroup),
  qos: Type.Array(Qos),
  departments: Type.Array(Department),
  sharedPartitions: Type.Optional(Type.Array(SharedPartition)),
  users: Type.Array(User),
  loginNodes: Type.Optional(LoginNodes),
  sessions: Type.Optional(Sessions),
}, 'The desired state of one Slurm cluster (spec-format.md)')
export type ClusterSpec = Static<typeof ClusterSpec>

/** The schemas by name, for the API's OpenAPI document and body validation. */
export const schemas: Record<string, TSchema> = {
  ClusterSpec, Cluster, NodeGroup, Qos, Department, Supervisor, Partition, SharedPartition, User,
  LoginNodes, LoginPool, Sessions,
}

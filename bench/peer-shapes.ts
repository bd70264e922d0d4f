/**
 * The same cluster shape written twice: as an HPC Steward spec and as an AWS
 * ParallelCluster cluster config (with the instance-type data its Slurm generator reads),
 * so the two tools render equivalent Slurm configurations side by side.
 *
 * Each queue becomes a shared partition; each compute resource a node group with the
 * node names ParallelCluster gives static nodes (`<queue>-st-<resource>-[1-N]`). Even
 * queues use a GPU instance type (8 NVIDIA A100), odd ones a CPU type.
 */
import type { ClusterSpec, NodeGroup, SharedPartition } from '../src/spec/schema.js'

/** A ParallelCluster cluster shape: queues of compute resources of static nodes. */
export interface PeerShape {
  name: string
  queues: number
  computeResources: number
  nodesPerResource: number
}

/** ParallelCluster's own largest shape (50 queues of one 1,310-node resource) and an everyday one. */
export const PEER_SHAPES: PeerShape[] = [
  { name: 'largest: 50 queues x 1 resource x 1,310 nodes', queues: 50, computeResources: 1, nodesPerResource: 1310 },
  { name: 'everyday: 10 queues x 5 resources x 16 nodes', queues: 10, computeResources: 5, nodesPerResource: 16 },
]

/** ParallelCluster's RealMemory is the EC2 memory times this ratio (its --realmemory-to-ec2memory-ratio). */
export const MEMORY_RATIO = 0.95

interface InstanceType { name: string; vcpus: number; threadsPerCore: number; memoryMiB: number; gpus: number }
const GPU_TYPE: InstanceType = { name: 'p4d.24xlarge', vcpus: 96, threadsPerCore: 2, memoryMiB: 1_179_648, gpus: 8 }
const CPU_TYPE: InstanceType = { name: 'c5n.18xlarge', vcpus: 72, threadsPerCore: 2, memoryMiB: 196_608, gpus: 0 }

function queueName(q: number): string {
  return `q${q + 1}`
}
function resourceName(c: number): string {
  return `cr${c + 1}`
}
function instanceType(q: number): InstanceType {
  return q % 2 === 0 ? GPU_TYPE : CPU_TYPE
}
function staticNodes(q: number, c: number, n: number): string {
  return `${queueName(q)}-st-${resourceName(c)}-[1-${n}]`
}
function each<T>(count: number, fn: (i: number) => T): T[] {
  return Array.from({ length: count }, (_, i) => fn(i))
}

/** The HPC Steward spec of a shape: one node group per compute resource, one shared partition per queue. */
export function stewardSpecForShape(shape: PeerShape): ClusterSpec {
  const nodeGroups: NodeGroup[] = []
  const sharedPartitions: SharedPartition[] = each(shape.queues, (q) => {
    const groups = each(shape.computeResources, (c) => {
      const type = instanceType(q)
      nodeGroups.push({
        name: `${queueName(q)}-${resourceName(c)}`,
        nodes: staticNodes(q, c, shape.nodesPerResource),
        cpus: type.vcpus,
        threadsPerCore: type.threadsPerCore,
        realMemoryMiB: Math.floor(type.memoryMiB * MEMORY_RATIO),
        ...(type.gpus > 0 ? { gpus: { type: 'a100', count: type.gpus } } : {}),
        features: ['static', resourceName(c)],
        weight: 1,
      })
      return `${queueName(q)}-${resourceName(c)}`
    })
    return { name: queueName(q), nodeGroups: groups, departments: 'all' as const, maxTime: 'UNLIMITED', ...(q === 0 ? { default: true } : {}) }
  })
  return {
    apiVersion: 'steward/v1',
    cluster: { name: 'peer', slurmVersion: '23.11', controller: { host: 'head-node', addr: '10.0.0.10' } },
    nodeGroups,
    qos: [{ name: 'normal' }],
    departments: [{ name: 'research', qos: ['normal'], defaultQos: 'normal', supervisors: [{ name: 'lead', users: ['alice'] }] }],
    sharedPartitions,
    users: [{ name: 'alice', uid: 100_000 }],
  }
}

/** The ParallelCluster cluster config of a shape (the part its Slurm generator reads). */
export function pclusterConfigForShape(shape: PeerShape): Record<string, unknown> {
  return {
    Scheduling: {
      Scheduler: 'slurm',
      SlurmSettings: { ScaledownIdletime: 10, Database: null, ExternalSlurmdbd: null },
      SlurmQueues: each(shape.queues, (q) => ({
        Name: queueName(q),
        CapacityType: 'ONDEMAND',
        ComputeSettings: null,
        CustomActions: null,
        Iam: { AdditionalIamPolicies: [], InstanceRole: null, S3Access: null },
        ComputeResources: each(shape.computeResources, (c) => ({
          Name: resourceName(c),
          InstanceType: instanceType(q).name,
          MinCount: shape.nodesPerResource,
          MaxCount: shape.nodesPerResource,
          DisableSimultaneousMultithreading: false,
          Efa: { Enabled: false, GdrSupport: false },
          SpotPrice: null,
          StaticNodePriority: 1,
          DynamicNodePriority: 1000,
        })),
      })),
    },
  }
}

/** The instance-type data (as `aws ec2 describe-instance-types` prints it) the generator reads. */
export function pclusterInstanceTypes(): Record<string, unknown> {
  return Object.fromEntries([GPU_TYPE, CPU_TYPE].map((t) => [t.name, {
    InstanceType: t.name,
    VCpuInfo: { DefaultVCpus: t.vcpus, DefaultCores: t.vcpus / t.threadsPerCore, DefaultThreadsPerCore: t.threadsPerCore },
    MemoryInfo: { SizeInMiB: t.memoryMiB },
    ProcessorInfo: { SupportedArchitectures: ['x86_64'] },
    ...(t.gpus > 0 ? { GpuInfo: { Gpus: [{ Name: 'A100', Manufacturer: 'NVIDIA', Count: t.gpus, MemoryInfo: { SizeInMiB: 40_960 } }] } } : {}),
  }]))
}

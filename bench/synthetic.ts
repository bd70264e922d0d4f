/** Synthetic specs for benchmarks: large, valid, and deterministic. */
import type { ClusterSpec, Department, NodeGroup } from '../src/spec/schema.js'

/**
 * A cluster of `groups` node groups of `nodesPerGroup` nodes, with `departments`
 * departments of `partitionsPerDepartment` partitions each (every partition takes three
 * node groups), and `usersPerSupervisor` users under each of `supervisorsPerDepartment`.
 */
export function syntheticSpec(options: {
  groups: number
  nodesPerGroup: number
  departments: number
  partitionsPerDepartment: number
  supervisorsPerDepartment: number
  usersPerSupervisor: number
}): ClusterSpec {
  const width = String(options.nodesPerGroup).length
  const nodeGroups: NodeGroup[] = Array.from({ length: options.groups }, (_, g) => ({
    name: `g${g}`,
    nodes: `r${g}n[${'1'.padStart(width, '0')}-${options.nodesPerGroup}]`,
    cpus: 64,
    realMemoryMiB: 256_000,
    ...(g % 2 === 0 ? { gpus: { type: 'h100', count: 8, sharing: { mode: 'shard' as const, perGpu: 2 } } } : {}),
  }))
  let uid = 100_000
  const users: ClusterSpec['users'] = []
  const departments: Department[] = Array.from({ length: options.departments }, (_, d) => ({
    name: `dept${d}`,
    description: `Department ${d}`,
    fairshare: 10,
    qos: ['normal'],
    defaultQos: 'normal',
    partitions: Array.from({ length: options.partitionsPerDepartment }, (_, p) => {
      const first = (d * options.partitionsPerDepartment + p) % options.groups
      return {
        name: `d${d}p${p}`,
        nodeGroups: [0, 1, 2].map((k) => `g${(first + k) % options.groups}`),
        maxTime: '1-00:00:00',
        priorityTier: 10,
      }
    }),
    supervisors: Array.from({ length: options.supervisorsPerDepartment }, (_, s) => ({
      name: `s${s}`,
      fairshare: 1,
      users: Array.from({ length: options.usersPerSupervisor }, () => {
        const name = `u${uid}`
        users.push({ name, uid })
        uid += 1
        return name
      }),
    })),
  }))
  return {
    apiVersion: 'steward/v1',
    cluster: { name: 'bench', slurmVersion: '24.11', controller: { host: 'ctl' }, accounting: { host: 'ctl' } },
    nodeGroups,
    qos: [{ name: 'normal', maxTresPerUser: { gpu: 8 } }],
    departments,
    users,
  }
}

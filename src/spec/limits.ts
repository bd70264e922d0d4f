/**
 * Size limits of a spec: generous for real clusters (Slurm's 65,536 nodes, 50,000 users,
 * 2,000 accounts), small enough that one request cannot make validation or rendering
 * run for long or answer with far more than it sent. The schema carries them as
 * `maxItems`/`maxLength`; the rules that span lists are in validate.ts. The README's
 * "Limits" section lists them; change both together.
 */
export const LIMITS = {
  /** Slurm refuses more nodes than this (the hostlist and node-table limit). */
  nodes: 65_536,
  nodeGroups: 4_096,
  /** Characters of one node group's hostlist expression. */
  hostlistLength: 4_096,
  featuresPerGroup: 32,
  qos: 1_000,
  preemptPerQos: 64,
  flagsPerQos: 32,
  departments: 2_000,
  /** Department and supervisor accounts together. */
  accounts: 2_000,
  qosPerDepartment: 128,
  partitionsPerDepartment: 64,
  supervisorsPerDepartment: 2_000,
  usersPerSupervisor: 50_000,
  sharedPartitions: 256,
  nodeGroupsPerPartition: 4_096,
  users: 50_000,
  qosPerUser: 128,
  loginPools: 64,
  loginNodesPerPool: 4_096,
  /**
   * Characters of all partition lines' `Nodes=`, `AllowAccounts=` and `AllowQos=` values
   * together: what a spec can make slurm.conf grow by beyond its own size. A partition
   * open to every department repeats every account, so this bounds the rendered answer.
   */
  partitionText: 2 * 1024 * 1024,
} as const

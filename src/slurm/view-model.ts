/**
 * View models: the values of each rendered file, computed from a valid spec. All logic
 * (hostlists, GRES strings, lists, version rules) is here; templates only lay lines out.
 * Every value placed in a line comes from an allowlisted spec field or from code.
 */
import type { ClusterSpec, NodeGroup, PreemptMode } from '../spec/schema.js'
import { resolvePartitions, type ResolvedPartition } from '../spec/model.js'
import { compressHostlist, expandHostlist } from './hostlist.js'
import { formatTime } from './time.js'
import type { NodeAddress, RenderOptions, SiteSettings } from './render-options.js'
import { defaultSiteSettings } from './render-options.js'
import { partitionBillingWeights } from '../usage/billing-weights.js'

/** Slurm release as a comparable number: "22.05" or "slurm-wlm 22.05.8" -> 2205 (NaN when absent). */
export function slurmRelease(version: string): number {
  const m = /(?<!\d)(\d+)\.(\d+)/.exec(version)
  return m ? Number(m[1]) * 100 + Number(m[2]) : Number.NaN
}

/** `Gres=` of a node group: `gpu:<type>:<count>` plus `shard:`/`mps:` when shared. */
export function nodeGres(group: NodeGroup): string | undefined {
  const gpus = group.gpus
  if (!gpus) return undefined
  const gres = [`gpu:${gpus.type}:${gpus.count}`]
  if (gpus.sharing) gres.push(`${gpus.sharing.mode}:${gpus.count * gpus.sharing.perGpu}`)
  return gres.join(',')
}

/** Device files of a group's GPUs: the spec's `devices`, or `/dev/nvidia[0-<count-1>]`. */
export function gpuDevices(group: NodeGroup): string {
  const count = group.gpus?.count ?? 0
  return group.gpus?.devices ?? (count === 1 ? '/dev/nvidia0' : `/dev/nvidia[0-${count - 1}]`)
}

/** Device files of a device hostlist such as `/dev/nvidia[0-3]` (the range is in the last path part). */
export function expandDevices(expr: string): string[] {
  const slash = expr.lastIndexOf('/', expr.indexOf('[') === -1 ? undefined : expr.indexOf('['))
  const dir = expr.slice(0, slash + 1)
  return expandHostlist(expr.slice(slash + 1)).map((name) => `${dir}${name}`)
}

/** Default memory per CPU of a set of node groups: fits the smallest share among them. */
export function defMemPerCpu(groups: NodeGroup[]): number {
  const shares = groups.map((g) => Math.floor(g.realMemoryMiB / g.cpus))
  return Math.max(1, Math.min(...shares))
}

function hardware(group: NodeGroup): string[] {
  const fields = [`CPUs=${group.cpus}`]
  if (group.sockets) fields.push(`Sockets=${group.sockets}`)
  if (group.coresPerSocket) fields.push(`CoresPerSocket=${group.coresPerSocket}`)
  if (group.threadsPerCore) fields.push(`ThreadsPerCore=${group.threadsPerCore}`)
  fields.push(`RealMemory=${group.realMemoryMiB}`)
  const gres = nodeGres(group)
  if (gres) fields.push(`Gres=${gres}`)
  if (group.features?.length) fields.push(`Features=${group.features.join(',')}`)
  if (group.weight !== undefined) fields.push(`Weight=${group.weight}`)
  return fields
}

/** `NodeName` lines: one per group, or per emulated node when the sandbox gives addresses. */
export function nodeLines(groups: NodeGroup[], addresses?: ReadonlyMap<string, NodeAddress>): string[] {
  if (!addresses) return groups.map((g) => [`NodeName=${g.nodes}`, ...hardware(g)].join(' '))
  const any = addresses.values().next().value as NodeAddress | undefined
  return groups.flatMap((g) => {
    const nodes = expandHostlist(g.nodes)
    const emulated = nodes.filter((n) => addresses.has(n))
    const down = nodes.filter((n) => !addresses.has(n))
    const lines = emulated.map((n) => {
      const a = addresses.get(n) as NodeAddress
      return [`NodeName=${n}`, `NodeHostname=${a.nodeHostname}`, `NodeAddr=${a.nodeAddr}`, `Port=${a.port}`, ...hardware(g)].join(' ')
    })
    // Nodes nobody emulates still get an address: without one slurmctld spends seconds
    // resolving each name at start.
    if (down.length > 0) {
      const host = any ? [`NodeHostname=${any.nodeHostname}`] : []
      lines.push([`NodeName=${compressHostlist(down)}`, ...host, `NodeAddr=${any?.nodeAddr ?? '127.0.0.1'}`, ...hardware(g), 'State=DOWN', 'Reason=not_emulated'].join(' '))
    }
    return lines
  })
}

interface Preemption {
  type: string
  mode: string
  /** Whether partitions must state their PreemptMode (partition-priority preemption). */
  perPartition: boolean
}

function slurmPreemptMode(mode: PreemptMode): string {
  return mode === 'suspend' ? 'SUSPEND,GANG' : mode.toUpperCase()
}

/**
 * Cluster-wide preemption: by QoS when a QoS lists others to preempt, else by partition
 * priority tier when a partition sets a preempt mode, else none. Slurm refuses a global
 * `PreemptMode=OFF` with preemption on, so the first mode in use becomes the global one.
 */
export function preemption(spec: ClusterSpec, partitions: ResolvedPartition[]): Preemption {
  const qosModes = spec.qos.filter((q) => q.preempt?.length)
  if (qosModes.length > 0) {
    const mode = spec.qos.find((q) => q.preemptMode && q.preemptMode !== 'off')?.preemptMode ?? 'requeue'
    return { type: 'preempt/qos', mode: slurmPreemptMode(mode), perPartition: false }
  }
  const mode = partitions.find((r) => r.partition.preemptMode && r.partition.preemptMode !== 'off')?.partition.preemptMode
  if (mode) return { type: 'preempt/partition_prio', mode: slurmPreemptMode(mode), perPartition: true }
  return { type: 'preempt/none', mode: 'OFF', perPartition: false }
}

/** One `PartitionName` line. */
export function partitionLine(r: ResolvedPartition, groups: Map<string, NodeGroup>, preempt: Preemption, pricing?: Pick<ClusterSpec, 'pricing'>): string {
  const p = r.partition
  const members = p.nodeGroups.map((name) => groups.get(name)).filter((g): g is NodeGroup => g !== undefined)
  const fields = [
    `PartitionName=${p.name}`,
    `Nodes=${members.map((g) => g.nodes).join(',')}`,
    `AllowAccounts=${r.allowAccounts.join(',')}`,
    `AllowQos=${r.allowQos.join(',')}`,
  ]
  if (p.qos) fields.push(`QOS=${p.qos}`)
  fields.push(`Default=${p.default ? 'YES' : 'NO'}`)
  if (p.maxTime !== undefined) fields.push(`MaxTime=${formatTime(p.maxTime)}`)
  if (p.defaultTime !== undefined) fields.push(`DefaultTime=${formatTime(p.defaultTime)}`)
  if (p.priorityTier !== undefined) fields.push(`PriorityTier=${p.priorityTier}`)
  if (p.preemptMode) fields.push(`PreemptMode=${slurmPreemptMode(p.preemptMode)}`)
  else if (preempt.perPartition) fields.push('PreemptMode=OFF')
  if (p.oversubscribe) fields.push(`OverSubscribe=${p.oversubscribe.toUpperCase()}`)
  const billing = pricing ? partitionBillingWeights(pricing, r, groups) : undefined
  if (billing) fields.push(`TRESBillingWeights=${billing}`)
  fields.push(`DefMemPerCPU=${defMemPerCpu(members)}`, 'State=UP')
  return fields.join(' ')
}

/**
 * cgroup.conf's `CgroupPlugin`: the site's, else `autodetect` from 22.05 (cgroup v1 or
 * v2, whichever the node runs), else none (older releases automount v1 instead).
 */
export function cgroupPlugin(spec: ClusterSpec, options: RenderOptions): string | undefined {
  if (options.site?.cgroupPlugin) return options.site.cgroupPlugin
  return slurmRelease(spec.cluster.slurmVersion) >= 2205 ? 'autodetect' : undefined
}

/** `GresTypes` and `AccountingStorageTRES` follow the GRES the node groups use. */
export function gresTypes(spec: ClusterSpec): string[] {
  const types = new Set<string>()
  for (const g of spec.nodeGroups) {
    if (!g.gpus) continue
    types.add('gpu')
    if (g.gpus.sharing) types.add(g.gpus.sharing.mode)
  }
  return ['gpu', 'shard', 'mps'].filter((t) => types.has(t))
}

/** `gres.conf` lines: the GPU devices of each group, and the shard/MPS counts. */
export function gresLines(spec: ClusterSpec): string[] {
  return spec.nodeGroups.flatMap((g) => {
    if (!g.gpus) return []
    const devices = gpuDevices(g)
    const lines = [`NodeName=${g.nodes} Name=gpu Type=${g.gpus.type} File=${devices}`]
    const sharing = g.gpus.sharing
    if (sharing?.mode === 'shard') lines.push(`NodeName=${g.nodes} Name=shard Count=${g.gpus.count * sharing.perGpu}`)
    // MPS shares are bound to the GPU files so Slurm splits them evenly per GPU.
    if (sharing?.mode === 'mps') lines.push(`NodeName=${g.nodes} Name=mps Count=${g.gpus.count * sharing.perGpu} File=${devices}`)
    return lines
  })
}

/** Everything the slurm.conf templates need. */
export function slurmConfModel(spec: ClusterSpec, options: RenderOptions) {
  // Optional keys are present (as undefined) because the templates run in strict mode.
  const site: SiteSettings = { authInfo: undefined, slurmdParameters: undefined, accountingStoragePass: undefined, ...defaultSiteSettings, ...options.site }
  const groups = new Map(spec.nodeGroups.map((g) => [g.name, g]))
  const partitions = resolvePartitions(spec)
  const preempt = preemption(spec, partitions)
  const types = gresTypes(spec)
  const { host, addr } = { host: site.controllerHost ?? spec.cluster.controller.host, addr: site.controllerAddr ?? spec.cluster.controller.addr }
  const weights = spec.cluster.priority?.weights
  const priority = [
    spec.cluster.priority?.decayHalfLife !== undefined ? `PriorityDecayHalfLife=${formatTime(spec.cluster.priority.decayHalfLife)}` : undefined,
    spec.cluster.priority?.maxAge !== undefined ? `PriorityMaxAge=${formatTime(spec.cluster.priority.maxAge)}` : undefined,
    ...(weights
      ? [`PriorityWeightFairshare=${weights.fairshare}`, `PriorityWeightQOS=${weights.qos}`, `PriorityWeightAge=${weights.age}`,
          `PriorityWeightJobSize=${weights.jobSize}`, `PriorityWeightPartition=${weights.partition}`]
      : []),
    // Billing is the larger of a job's weighted TRES: the chargeback's max(CPU, memory) share.
    spec.pricing ? 'PriorityFlags=MAX_TRES' : undefined,
  ].filter((l): l is string => l !== undefined)
  const accountingHost = site.accountingStorageHost ?? spec.cluster.accounting?.host
  return {
    clusterName: spec.cluster.name,
    controller: addr ? `${host}(${addr})` : host,
    site,
    defMemPerCpu: spec.nodeGroups.length > 0 ? defMemPerCpu(spec.nodeGroups) : 1024,
    gresTypes: types.join(','),
    accounting: accountingHost
      ? { host: accountingHost, port: site.accountingStoragePort, tres: types.map((t) => `gres/${t}`).join(',') }
      : undefined,
    priority,
    preempt,
    nodeLines: nodeLines(spec.nodeGroups, options.nodeAddresses),
    partitionLines: partitions.map((r) => partitionLine(r, groups, preempt, spec)),
  }
}

/**
 * HyperPod's `worker_groups`: each instance group joins the first partition that uses its
 * nodes; an instance group shared by several node groups is listed once (its first).
 */
export function workerGroups(spec: ClusterSpec): Array<{ instance_group_name: string; partition_name: string }> {
  const partitions = resolvePartitions(spec)
  const seen = new Set<string>()
  return spec.nodeGroups
    .filter((g) => g.instanceGroup !== undefined && !seen.has(g.instanceGroup) && seen.add(g.instanceGroup) !== undefined)
    .map((g) => ({
      instance_group_name: g.instanceGroup as string,
      partition_name: partitions.find((r) => r.partition.nodeGroups.includes(g.name))?.partition.name ?? g.name,
    }))
}

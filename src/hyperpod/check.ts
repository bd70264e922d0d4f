/**
 * `steward hyperpod check`: a HyperPod cluster's `cluster-config.json` (the CreateCluster
 * request: instance groups with their type, count and lifecycle scripts) and its
 * `provisioning_parameters.json` (which group is the controller, the login nodes, which
 * partition each worker group joins), checked against each other and, when given,
 * against the cluster spec. Every problem is reported with its path (`<file>#<JSON
 * pointer>`); one cause gives one error. Pure: the CLI reads the files.
 */
import type { Problem } from '../spec/problems.js'
import type { ClusterSpec } from '../spec/schema.js'
import { INSTANCE_GROUP_PATTERN } from '../spec/schema.js'
import { resolvePartitions } from '../spec/model.js'
import { nodesPerInstanceGroup } from '../spec/hyperpod-rules.js'

/** Thrown when a file is not the kind of document it should be (the CLI exits 2). */
export class HyperPodInputError extends Error {
  override name = 'HyperPodInputError'
}

/** How the files are named in problem paths. */
export interface CheckLabels {
  clusterConfig: string
  provisioning: string
  spec: string
}

const DEFAULT_LABELS: CheckLabels = { clusterConfig: 'cluster-config.json', provisioning: 'provisioning_parameters.json', spec: 'spec' }

/** `s3://bucket[/key...]`: a bucket name as S3 allows (3-63 of a-z 0-9 . -, not an IP) and a key of printable characters. */
export const S3_URI = /^s3:\/\/(?!(?:\d{1,3}\.){3}\d{1,3}(?:\/|$))[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](?:\/[\w!.*'()/=+-]*)?$/
const LIFECYCLE_SCRIPT = /^[\w.-]{1,128}$/
const INSTANCE_TYPE = /^ml\.[a-z0-9]{1,12}\.[a-z0-9]{1,16}$/
const groupName = new RegExp(INSTANCE_GROUP_PATTERN)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

interface Group {
  name: string
  index: number
  count?: number
  type?: string
}

/**
 * Checks the two HyperPod files (parsed JSON) and, with `spec`, the spec against them.
 * Throws `HyperPodInputError` when either is not a JSON object of the right kind at all.
 */
export function checkHyperPod(clusterConfig: unknown, provisioning: unknown, spec?: ClusterSpec, labels: CheckLabels = DEFAULT_LABELS): Problem[] {
  if (!isObject(clusterConfig) || !Array.isArray(clusterConfig.InstanceGroups)) {
    throw new HyperPodInputError(`${labels.clusterConfig} is not a HyperPod cluster configuration (a JSON object with an InstanceGroups array)`)
  }
  if (!isObject(provisioning)) throw new HyperPodInputError(`${labels.provisioning} is not a JSON object`)
  const problems: Problem[] = []
  const cc = (pointer: string) => `${labels.clusterConfig}#${pointer}`
  const pp = (pointer: string) => `${labels.provisioning}#${pointer}`
  const error = (path: string, message: string) => problems.push({ path, message, severity: 'error' })
  const warning = (path: string, message: string) => problems.push({ path, message, severity: 'warning' })

  // cluster-config.json: each instance group's shape and lifecycle scripts.
  const groups = new Map<string, Group>()
  clusterConfig.InstanceGroups.forEach((raw: unknown, i: number) => {
    const at = `/InstanceGroups/${i}`
    if (!isObject(raw)) return error(cc(at), 'an instance group must be an object')
    const name = raw.InstanceGroupName
    if (typeof name !== 'string' || !groupName.test(name)) return error(cc(`${at}/InstanceGroupName`), 'missing or not an instance group name (letters, digits and -, at most 63)')
    if (groups.has(name)) return error(cc(`${at}/InstanceGroupName`), `instance group "${name}" is declared twice (first at /InstanceGroups/${groups.get(name)?.index})`)
    const group: Group = { name, index: i }
    if (typeof raw.InstanceType === 'string' && INSTANCE_TYPE.test(raw.InstanceType)) group.type = raw.InstanceType
    else error(cc(`${at}/InstanceType`), 'missing or not a SageMaker instance type such as ml.p5.48xlarge')
    if (Number.isInteger(raw.InstanceCount) && (raw.InstanceCount as number) >= 0) group.count = raw.InstanceCount as number
    else error(cc(`${at}/InstanceCount`), 'missing or not a whole number of instances')
    const life = raw.LifeCycleConfig
    if (!isObject(life)) error(cc(`${at}/LifeCycleConfig`), 'missing: every instance group needs its lifecycle scripts (SourceS3Uri, OnCreate)')
    else {
      if (typeof life.SourceS3Uri !== 'string' || !S3_URI.test(life.SourceS3Uri)) {
        error(cc(`${at}/LifeCycleConfig/SourceS3Uri`), `not a well-formed S3 URI (s3://bucket/prefix): ${JSON.stringify(life.SourceS3Uri ?? null)}`)
      }
      if (typeof life.OnCreate !== 'string' || !LIFECYCLE_SCRIPT.test(life.OnCreate)) {
        error(cc(`${at}/LifeCycleConfig/OnCreate`), 'missing or not a script file name (letters, digits, ., _ and -)')
      }
    }
    groups.set(name, group)
  })

  // provisioning_parameters.json: its fields, and every group it names exists.
  const reportedMissing = new Set<string>()
  const exists = (name: string, path: string, role: string): boolean => {
    if (groups.has(name)) return true
    if (!reportedMissing.has(name)) error(path, `${role} "${name}" is not an instance group of ${labels.clusterConfig} (${[...groups.keys()].join(', ') || 'none'})`)
    reportedMissing.add(name)
    return false
  }
  if (provisioning.version !== '1.0.0') error(pp('/version'), `must be "1.0.0", not ${JSON.stringify(provisioning.version ?? null)}`)
  if (provisioning.workload_manager !== 'slurm') error(pp('/workload_manager'), `must be "slurm", not ${JSON.stringify(provisioning.workload_manager ?? null)}`)
  const controller = provisioning.controller_group
  if (typeof controller !== 'string') error(pp('/controller_group'), 'missing: the instance group of the Slurm controller')
  else exists(controller, pp('/controller_group'), 'the controller group')
  const login = provisioning.login_group
  if (login !== undefined && typeof login !== 'string') error(pp('/login_group'), 'must be an instance group name')
  const workers: Array<{ group?: string; partition?: string; index: number }> = []
  if (!Array.isArray(provisioning.worker_groups)) error(pp('/worker_groups'), 'missing: the list of {instance_group_name, partition_name}')
  else {
    provisioning.worker_groups.forEach((raw: unknown, i: number) => {
      const at = `/worker_groups/${i}`
      if (!isObject(raw)) return error(pp(at), 'a worker group must be an object {instance_group_name, partition_name}')
      const w: { group?: string; partition?: string; index: number } = { index: i }
      if (typeof raw.instance_group_name === 'string') {
        w.group = raw.instance_group_name
        exists(w.group, pp(`${at}/instance_group_name`), 'worker group')
        if (w.group === controller || w.group === login) error(pp(`${at}/instance_group_name`), `"${w.group}" is the ${w.group === controller ? 'controller' : 'login'} group, not a worker group`)
      } else error(pp(`${at}/instance_group_name`), 'missing')
      if (typeof raw.partition_name === 'string') w.partition = raw.partition_name
      else error(pp(`${at}/partition_name`), 'missing')
      workers.push(w)
    })
  }
  const hasFsxName = typeof provisioning.fsx_dns_name === 'string'
  if (hasFsxName !== (typeof provisioning.fsx_mountname === 'string')) {
    error(pp(hasFsxName ? '/fsx_mountname' : '/fsx_dns_name'), 'fsx_dns_name and fsx_mountname go together')
  }

  if (!spec) {
    if (typeof login === 'string') exists(login, pp('/login_group'), 'the login group')
    return problems
  }

  // Against the spec.
  const hp = spec.hyperpod
  const sp = (pointer: string) => `${labels.spec}#${pointer}`
  const partitions = new Set(resolvePartitions(spec).map((r) => r.partition.name))
  for (const w of workers) {
    if (w.partition !== undefined && !partitions.has(w.partition)) {
      error(pp(`/worker_groups/${w.index}/partition_name`), `partition "${w.partition}" is not in the spec (${[...partitions].join(', ')})`)
    }
  }
  // The login group: the spec's login nodes need one, and it must exist.
  const specLogin = hp?.loginGroup
  const wantedLogin = specLogin ?? (typeof login === 'string' ? login : undefined)
  if (specLogin !== undefined && typeof login === 'string' && login !== specLogin) {
    error(pp('/login_group'), `is "${login}", but the spec's hyperpod.loginGroup is "${specLogin}"`)
  } else if (wantedLogin === undefined && hasLoginNodes(spec)) {
    error(pp('/login_group'), 'missing: the spec has login nodes, so HyperPod needs a login group')
  } else if (wantedLogin !== undefined && !groups.has(wantedLogin) && !reportedMissing.has(wantedLogin)) {
    error(cc('/InstanceGroups'), `no instance group "${wantedLogin}": the spec's login nodes need it (${specLogin !== undefined ? 'hyperpod.loginGroup' : 'login_group'})`)
    reportedMissing.add(wantedLogin)
  } else if (specLogin !== undefined && login === undefined) {
    error(pp('/login_group'), `missing: the spec's hyperpod.loginGroup is "${specLogin}"`)
  }
  if (hp && typeof controller === 'string' && controller !== hp.controllerGroup) {
    error(pp('/controller_group'), `is "${controller}", but the spec's hyperpod.controllerGroup is "${hp.controllerGroup}"`)
  }
  if (hp && typeof clusterConfig.ClusterName === 'string' && clusterConfig.ClusterName !== hp.clusterName) {
    error(cc('/ClusterName'), `is "${clusterConfig.ClusterName}", but the spec's hyperpod.clusterName is "${hp.clusterName}"`)
  }
  // Every node group's instance group exists, joins a partition, and has instances for all its nodes.
  const workerByGroup = new Map(workers.filter((w) => w.group !== undefined).map((w) => [w.group as string, w]))
  for (const [name, { nodes, groups: names }] of nodesPerInstanceGroup(spec)) {
    const at = sp(`/nodeGroups/${spec.nodeGroups.findIndex((g) => g.instanceGroup === name)}/instanceGroup`)
    const group = groups.get(name)
    if (!group) {
      if (!reportedMissing.has(name)) error(at, `instance group "${name}" (node group ${names.join(', ')}) is not in ${labels.clusterConfig}`)
      reportedMissing.add(name)
      continue
    }
    if (group.count !== undefined && group.count < nodes) {
      error(cc(`/InstanceGroups/${group.index}/InstanceCount`), `${group.count} instance(s), but the spec's node group(s) ${names.join(', ')} have ${nodes} node(s)`)
    }
    if (!workerByGroup.has(name)) warning(pp('/worker_groups'), `instance group "${name}" (node group ${names.join(', ')}) is not a worker group: its nodes join no partition`)
  }
  // The spec's declared instance groups agree with cluster-config.json.
  for (const [i, g] of (hp?.instanceGroups ?? []).entries()) {
    const live = groups.get(g.name)
    if (!live) {
      if (!reportedMissing.has(g.name)) error(sp(`/hyperpod/instanceGroups/${i}`), `instance group "${g.name}" is not in ${labels.clusterConfig}`)
      reportedMissing.add(g.name)
      continue
    }
    if (live.type !== undefined && live.type !== g.instanceType) error(cc(`/InstanceGroups/${live.index}/InstanceType`), `is ${live.type}, but the spec says ${g.instanceType}`)
    if (live.count !== undefined && live.count !== g.count && !problems.some((p) => p.path === cc(`/InstanceGroups/${live.index}/InstanceCount`))) {
      error(cc(`/InstanceGroups/${live.index}/InstanceCount`), `is ${live.count}, but the spec's hyperpod.instanceGroups says ${g.count}`)
    }
  }
  return problems
}

/** Whether the spec has login nodes: a HyperPod login group, or login node pools (the `loginNodes` section). */
export function hasLoginNodes(spec: ClusterSpec): boolean {
  if (spec.hyperpod?.loginGroup !== undefined) return true
  const pools = (spec as { loginNodes?: { pools?: unknown } }).loginNodes?.pools
  return Array.isArray(pools) && pools.length > 0
}

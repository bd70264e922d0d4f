/**
 * HyperPod's own files, rendered from a spec with a `hyperpod` section: the whole
 * `provisioning_parameters.json` that HyperPod's lifecycle scripts read (which instance
 * group is the controller, which the login nodes, which partition each worker group
 * joins, the FSx for Lustre file system) and `shared_users.txt` (`username,uid,home` per
 * line), from which every node creates the same POSIX users. Pure.
 */
import type { ClusterSpec, HyperPod } from '../spec/schema.js'
import { workerGroups } from '../slurm/view-model.js'

/** `provisioning_parameters.json` as HyperPod's lifecycle scripts read it. */
export interface ProvisioningParameters {
  version: string
  workload_manager: 'slurm'
  controller_group: string
  login_group?: string
  worker_groups: Array<{ instance_group_name: string; partition_name: string }>
  fsx_dns_name?: string
  fsx_mountname?: string
}

/** The provisioning parameters of a spec with a `hyperpod` section. */
export function provisioningParameters(spec: ClusterSpec & { hyperpod: HyperPod }): ProvisioningParameters {
  const hp = spec.hyperpod
  return {
    version: '1.0.0',
    workload_manager: 'slurm',
    controller_group: hp.controllerGroup,
    ...(hp.loginGroup ? { login_group: hp.loginGroup } : {}),
    worker_groups: workerGroups(spec),
    ...(hp.fsx ? { fsx_dns_name: hp.fsx.dnsName, fsx_mountname: hp.fsx.mountName } : {}),
  }
}

/** A user's home on HyperPod: the spec's, else under the FSx mount (`/fsx/<name>`), else `/home/<name>`. */
export function hyperpodHome(spec: ClusterSpec, user: ClusterSpec['users'][number]): string {
  return user.home ?? (spec.hyperpod?.fsx ? `/fsx/${user.name}` : `/home/${user.name}`)
}

/**
 * `shared_users.txt`: `username,uid,home` per line, users in spec order, synced users
 * included; disabled users are left out (add_users.sh cannot lock an account, and a node
 * that joins later must not give them a usable one).
 */
export function sharedUsers(spec: ClusterSpec): string {
  return spec.users.filter((u) => u.disabled !== true).map((u) => `${u.name},${u.uid},${hyperpodHome(spec, u)}\n`).join('')
}

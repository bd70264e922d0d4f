/**
 * What a rendering needs besides the spec: the site's paths and daemons (which differ
 * between a production controller and the local sandbox) and, for the sandbox, how each
 * emulated node is reached. The spec says *what* the cluster is; these say *where*.
 */

/** Paths, users and ports of the Slurm daemons written into a `full` slurm.conf. */
export interface SiteSettings {
  slurmUser: string
  slurmdUser: string
  slurmctldPort: number
  slurmdPort: number
  stateSaveLocation: string
  slurmdSpoolDir: string
  slurmctldPidFile: string
  slurmdPidFile: string
  slurmctldLogFile: string
  slurmdLogFile: string
  /** `AuthInfo=` (e.g. `socket=/path/munge.socket`), omitted when undefined. */
  authInfo?: string
  /** `AccountingStorageHost=`; defaults to the spec's `cluster.accounting.host`. */
  accountingStorageHost?: string
  accountingStoragePort: number
  /**
   * `AccountingStoragePass=`: for auth/munge, the MUNGE socket used to reach slurmdbd
   * (needed when munged does not listen on its default socket). Omitted when undefined.
   */
  accountingStoragePass?: string
  proctrackType: string
  /** `TaskPlugin=`; omitted when empty (Slurm 24.11 has no task/none: no plugin is "none"). */
  taskPlugin: string
  /**
   * cgroup.conf's `CgroupPlugin=`; default `autodetect` (22.05 and later). The 24.11
   * sandbox says `disabled`: its slurmd daemons run in a root without a cgroup filesystem,
   * and 24.11's slurmd initialises the cgroup plugin even with proctrack/linuxproc.
   */
  cgroupPlugin?: string
  /** Written as `SlurmdParameters=` when set (the sandbox uses `config_overrides`). */
  slurmdParameters?: string
  /** Directory that holds gres.conf/cgroup.conf, for `Include` in include mode. */
  configDir: string
  /** `SlurmctldHost=` override as `host(addr)` parts; defaults to the spec's controller. */
  controllerHost?: string
  controllerAddr?: string
}

/** How one emulated node is reached (sandbox only). */
export interface NodeAddress {
  port: number
  nodeHostname: string
  nodeAddr: string
}

export interface RenderOptions {
  /** Overrides of the production defaults (`defaultSiteSettings`). */
  site?: Partial<SiteSettings>
  /**
   * Sandbox only: nodes that a local `slurmd -N` emulates, with their addresses. When
   * present, every emulated node gets its own `NodeName` line with `NodeHostname`,
   * `NodeAddr` and `Port`; nodes without an entry are rendered `State=DOWN` with
   * `Reason=not_emulated`, so they stay down and out of the scheduler's way.
   */
  nodeAddresses?: ReadonlyMap<string, NodeAddress>
  /** Spec revision number stamped into headers, when the spec comes from the store. */
  revision?: number
}

/** Defaults of a Debian/RHEL production controller. */
export const defaultSiteSettings: SiteSettings = {
  slurmUser: 'slurm',
  slurmdUser: 'root',
  slurmctldPort: 6817,
  slurmdPort: 6818,
  stateSaveLocation: '/var/spool/slurmctld',
  slurmdSpoolDir: '/var/spool/slurmd',
  slurmctldPidFile: '/run/slurmctld.pid',
  slurmdPidFile: '/run/slurmd.pid',
  slurmctldLogFile: '/var/log/slurm/slurmctld.log',
  slurmdLogFile: '/var/log/slurm/slurmd.log',
  accountingStoragePort: 6819,
  proctrackType: 'proctrack/cgroup',
  taskPlugin: 'task/cgroup,task/affinity',
  configDir: '/etc/slurm',
}

/**
 * A controller profile: everything the apply engine needs to know about one cluster's
 * Slurm controller besides the spec. Where the files live, how to reach it, how to
 * reload Slurm, and the render options of that site (paths, or the sandbox's ports).
 */
import type { Executor } from '../adapters/executor.js'
import type { ClusterSpec } from '../spec/schema.js'
import type { RenderOptions } from '../slurm/render-options.js'

export interface ControllerProfile {
  cluster: string
  executor: Executor
  /** Directory of slurm.conf on the controller. */
  configDir: string
  /** Site paths and, for the sandbox, emulated node addresses for a given spec. */
  renderOptions(spec: ClusterSpec): RenderOptions
  /** Restarts slurmctld (and, where the site needs it, slurmd) with the installed files. */
  restart: readonly string[]
  /** Makes a running slurmctld re-read its files. */
  reconfigure: readonly string[]
  /** An optional site health check run after Slurm reloaded; a failure rolls the apply back. */
  healthCheck?: readonly string[]
  /** Accounts and users the accounting plan never touches. */
  protectedAccounts?: readonly string[]
  protectedUsers?: readonly string[]
  /** Release connections (SSH). */
  close?(): Promise<void>
}

/** Thrown when a cluster has no controller configured (plan and apply are impossible). */
export class NoControllerError extends Error {
  override name = 'NoControllerError'
}

/** Files the engine installs on the controller (the rest of a render is for other hosts). */
export const CONTROLLER_FILES = ['slurm.conf', 'steward.conf', 'gres.conf', 'cgroup.conf'] as const

/** A production controller managed by systemd. */
export function systemdProfile(cluster: string, executor: Executor, configDir = '/etc/slurm'): ControllerProfile {
  return {
    cluster,
    executor,
    configDir,
    renderOptions: () => ({ site: { configDir } }),
    restart: ['systemctl', 'restart', 'slurmctld'],
    reconfigure: ['scontrol', 'reconfigure'],
  }
}

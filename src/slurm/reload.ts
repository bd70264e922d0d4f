/**
 * How a changed slurm.conf takes effect: `scontrol reconfigure`, or a slurmctld restart
 * for the changes a running controller cannot take. Before Slurm 24.11 that includes
 * any change of the node set: on 22.05 a reconfigure with added or removed nodes makes
 * slurmctld exit ("MaxNodeCount has changed ... slurmctld must be restarted").
 */
import { parseSlurmConf } from './conf-parse.js'
import { slurmRelease } from './view-model.js'

/** Settings a reconfigure does not apply (slurm.conf(5), "requires a restart of slurmctld"). */
export const RESTART_SETTINGS = [
  'AuthType', 'AuthInfo', 'SlurmctldHost', 'ControlMachine', 'SlurmctldPort', 'SlurmdPort', 'StateSaveLocation',
  'SlurmUser', 'SelectType', 'SelectTypeParameters', 'GresTypes', 'ProctrackType', 'TaskPlugin', 'PriorityType',
  'AccountingStorageType', 'AccountingStorageHost', 'AccountingStoragePort', 'JobAcctGatherType', 'PreemptType',
  'SwitchType', 'MpiDefault', 'PluginDir', 'SlurmdSpoolDir', 'SlurmctldPidFile', 'SlurmdPidFile', 'PrologFlags',
] as const

export interface ReloadDecision {
  action: 'reconfigure' | 'restart'
  reasons: string[]
}

/** Decides between reconfigure and restart for a change from `before` to `after` (slurm.conf texts). */
export function reloadAction(before: string | undefined, after: string, slurmVersion: string): ReloadDecision {
  if (before === undefined) return { action: 'restart', reasons: ['there was no slurm.conf before'] }
  const old = parseSlurmConf(before)
  const next = parseSlurmConf(after)
  const reasons: string[] = []
  const added = [...next.nodes].filter((n) => !old.nodes.has(n)).length
  const removed = [...old.nodes].filter((n) => !next.nodes.has(n)).length
  if ((added > 0 || removed > 0) && slurmRelease(slurmVersion) < 2411) {
    reasons.push(`the node set changed (${added} added, ${removed} removed) and Slurm ${slurmVersion} needs a restart for that before 24.11`)
  }
  for (const key of RESTART_SETTINGS) {
    if (old.settings.get(key) !== next.settings.get(key)) reasons.push(`${key} changed`)
  }
  return { action: reasons.length > 0 ? 'restart' : 'reconfigure', reasons }
}

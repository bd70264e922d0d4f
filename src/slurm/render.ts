/**
 * Rendering: a valid spec to the text of each managed file. Rendering returns strings;
 * writing them is another step (`writeFilesAtomically`), so a dry run is just a render.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { specHash } from '../spec/load.js'
import type { RenderOptions } from './render-options.js'
import { provisioningParameters, sharedUsers } from '../hyperpod/files.js'
import { cgroupPlugin, slurmConfModel, gresLines, workerGroups } from './view-model.js'
import { template } from './templates.js'

/** One rendered file: its name in the config directory and its content. */
export interface RenderedFile {
  name: string
  content: string
}

/** Renders `templates/<name>.hbs` with the project's one Handlebars instance (other capabilities' files). */
export function renderTemplate(name: string, context: unknown): string {
  return template(name)(context)
}

/** The managed-file header: who owns the file, from which spec, and not to edit it. */
export function managedHeader(spec: ClusterSpec, options: RenderOptions, comment = '#'): string {
  const revision = options.revision !== undefined ? `, revision ${options.revision}` : ''
  return [
    `${comment} Managed by HPC Steward: do not edit, changes are overwritten on the next apply.`,
    `${comment} Cluster ${spec.cluster.name}, spec sha256:${specHash(spec)}${revision}.`,
  ].join('\n')
}

/**
 * Renders every managed file of a valid spec. `full` mode gives a complete slurm.conf;
 * `include` mode gives steward.conf for a slurm.conf owned by HyperPod or the site.
 */
export function renderCluster(spec: ClusterSpec, options: RenderOptions = {}): RenderedFile[] {
  const header = managedHeader(spec, options)
  const model = { header, ...slurmConfModel(spec, options) }
  const mode = spec.cluster.render?.mode ?? 'full'
  const files: RenderedFile[] = [
    mode === 'full'
      ? { name: 'slurm.conf', content: template('slurm.conf')(model) }
      : { name: 'steward.conf', content: template('steward.conf')(model) },
    { name: 'gres.conf', content: template('gres.conf')({ header, clusterName: spec.cluster.name, lines: gresLines(spec) }) },
    { name: 'cgroup.conf', content: template('cgroup.conf')({ header, cgroupPlugin: cgroupPlugin(spec, options) }) },
    { name: 'pam_slurm_adopt.conf', content: template('pam_slurm_adopt')({ header, computeNodes: spec.nodeGroups.map((g) => g.nodes).join(',') || '(none)' }) },
  ]
  if (spec.hyperpod) {
    // The whole of HyperPod's files: the spec says which groups are controller and login.
    const hyperpod = { ...spec, hyperpod: spec.hyperpod }
    files.push({ name: 'provisioning_parameters.json', content: `${JSON.stringify(provisioningParameters(hyperpod), null, 2)}\n` })
    files.push({ name: 'shared_users.txt', content: sharedUsers(spec) })
    return files
  }
  const groups = workerGroups(spec)
  if (groups.length > 0) {
    const document = {
      managed_by: `HPC Steward, cluster ${spec.cluster.name}, spec sha256:${specHash(spec)}; merge worker_groups into the cluster's provisioning_parameters.json`,
      version: '1.0.0',
      workload_manager: 'slurm',
      worker_groups: groups,
    }
    files.push({ name: 'provisioning_parameters.json', content: `${JSON.stringify(document, null, 2)}\n` })
  }
  return files
}

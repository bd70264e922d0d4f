/**
 * Semantic rules of the optional `hyperpod` section: instance group names unique; the
 * controller and login groups and every node group's `instanceGroup` are declared
 * instance groups; a group holds at least as many instances as the spec's node groups
 * in it have nodes. Reads the raw value defensively (it runs even when the structure has
 * errors), like the rest of validate.ts.
 */
import type { ClusterSpec } from './schema.js'
import type { Problems } from './problems.js'
import { countHostlist, HostlistError } from '../slurm/hostlist.js'

function list<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? value : []
}

/** Node counts of the spec's node groups by instance group (node groups without one are left out). */
export function nodesPerInstanceGroup(spec: Pick<ClusterSpec, 'nodeGroups'>): Map<string, { nodes: number; groups: string[] }> {
  const counts = new Map<string, { nodes: number; groups: string[] }>()
  for (const g of list(spec.nodeGroups)) {
    if (typeof g?.instanceGroup !== 'string' || typeof g.nodes !== 'string') continue
    let n: number
    try {
      n = countHostlist(g.nodes)
    } catch (err) {
      if (err instanceof HostlistError) continue
      throw err
    }
    const entry = counts.get(g.instanceGroup) ?? { nodes: 0, groups: [] }
    entry.nodes += n
    entry.groups.push(g.name)
    counts.set(g.instanceGroup, entry)
  }
  return counts
}

export function hyperpodRules(spec: ClusterSpec, problems: Problems): void {
  const hp = spec.hyperpod
  if (typeof hp !== 'object' || hp === null) return
  const groups = list(hp.instanceGroups)
  const index = new Map<string, number>()
  groups.forEach((g, i) => {
    if (typeof g?.name !== 'string') return
    if (index.has(g.name)) problems.error(`/hyperpod/instanceGroups/${i}/name`, `instance group "${g.name}" is declared twice (first at /hyperpod/instanceGroups/${index.get(g.name)})`)
    else index.set(g.name, i)
  })
  const declared = (name: unknown, path: string, what: string): void => {
    if (typeof name === 'string' && !index.has(name)) problems.error(path, `${what} "${name}" is not one of hyperpod.instanceGroups (${[...index.keys()].join(', ') || 'none'})`)
  }
  declared(hp.controllerGroup, '/hyperpod/controllerGroup', 'the controller group')
  declared(hp.loginGroup, '/hyperpod/loginGroup', 'the login group')
  if (typeof hp.loginGroup === 'string' && hp.loginGroup === hp.controllerGroup) problems.error('/hyperpod/loginGroup', 'the login group cannot be the controller group')
  list(spec.nodeGroups).forEach((g, i) => {
    if (g?.instanceGroup === undefined) return
    declared(g.instanceGroup, `/nodeGroups/${i}/instanceGroup`, `node group ${g.name}'s instance group`)
    if (g.instanceGroup === hp.controllerGroup || g.instanceGroup === hp.loginGroup) {
      problems.error(`/nodeGroups/${i}/instanceGroup`, `"${g.instanceGroup}" is the ${g.instanceGroup === hp.controllerGroup ? 'controller' : 'login'} group; compute nodes need a worker group of their own`)
    }
  })
  for (const [name, { nodes, groups: names }] of nodesPerInstanceGroup(spec)) {
    const i = index.get(name)
    const count = i === undefined ? undefined : groups[i]?.count
    if (typeof count === 'number' && count < nodes) {
      problems.error(`/hyperpod/instanceGroups/${i}/count`, `instance group "${name}" has ${count} instance(s), but node group(s) ${names.join(', ')} name ${nodes} node(s); raise count or shrink the node groups`)
    }
  }
  if (typeof hp.controllerGroup === 'string') {
    const i = index.get(hp.controllerGroup)
    if (i !== undefined && groups[i]?.count === 0) problems.error(`/hyperpod/instanceGroups/${i}/count`, 'the controller group needs at least one instance')
  }
}

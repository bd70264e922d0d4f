/**
 * The apply step that brings POSIX users to every node users reach (see node-users.ts), as
 * an `ApplyHook`: `run` reads every node and plans it, and refuses the apply when a
 * reachable node has a clash (a uid or name that is someone else's there); `commit`
 * creates, locks and unlocks users on every node side by side once the controller's files
 * are final, answering one line per node (a node that is down is named and caught up on
 * the next apply); `rollback` only forgets the plans (nothing was changed yet).
 */
import type { ApplyHook } from '../apply/engine.js'
import type { ClusterSpec } from '../spec/schema.js'
import { applyNodePlans, planNodes, type NodePlan, type UserNode } from './node-users.js'

/** The nodes of one apply and how to let go of them. */
export interface NodeSet {
  nodes: UserNode[]
  close(): Promise<void>
}

export interface NodeUsersHookOptions {
  /** The nodes of a spec (controller, login nodes, compute nodes) and how to let go of them. */
  nodes(spec: ClusterSpec): Promise<NodeSet> | NodeSet
  fanOut?: number
}

/** Thrown by `run` when nodes have clashes: the apply stops before anything changes. */
export class NodeUsersClashError extends Error {
  override name = 'NodeUsersClashError'
}

export function nodeUsersHook(options: NodeUsersHookOptions): ApplyHook {
  const staged = new Map<string, { plans: NodePlan[]; access: NodeSet }>()
  async function forget(applyId: string): Promise<void> {
    const stage = staged.get(applyId)
    staged.delete(applyId)
    await stage?.access.close()
  }
  return {
    name: 'node users',
    detail: 'plan POSIX users on every node (controller, login, compute); at commit: create, lock disabled, unlock enabled users, nodes side by side',
    async run({ spec, applyId, checkLock }) {
      const access = await options.nodes(spec)
      if (access.nodes.length === 0) {
        await access.close()
        return 'no nodes'
      }
      // Kept from the start, so that an apply stopped before the plan (its lock lost) lets go of the connections too.
      const stage = { plans: [] as NodePlan[], access }
      staged.set(applyId, stage)
      await checkLock()
      const plans = await planNodes(spec, access.nodes, options.fanOut)
      stage.plans = plans
      const clashes = plans.filter((p) => p.problems.length > 0)
      if (clashes.length > 0) throw new NodeUsersClashError(`POSIX clashes: ${clashes.map((p) => `${p.node}: ${p.problems.join('; ')}`).join(' | ')}`)
      return plans.map((p) => `${p.node}: ${p.error !== undefined ? `unreachable (${p.error})` : `${p.operations.length} change(s)`}`).join('; ')
    },
    async commit({ applyId }) {
      const stage = staged.get(applyId)
      if (!stage) return 'no nodes'
      try {
        const results = await applyNodePlans(stage.plans, stage.access.nodes, options.fanOut)
        return results.map((r) => `${r.node}: ${r.summary}${r.error ? ` (${r.error})` : ''}`).join('; ')
      } finally {
        await forget(applyId)
      }
    },
    async rollback({ applyId }) {
      await forget(applyId)
      return 'nothing changed on the nodes'
    },
    async release({ applyId }) {
      await forget(applyId)
    },
  }
}

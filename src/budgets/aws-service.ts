/**
 * The cluster's AWS side of budgets, driven by its spec: make the AWS Budget of
 * `budgets.cluster` match (idempotent: a second run changes nothing; audited), and
 * reconcile a month's AWS bill (Cost Explorer, by the `ClusterName` tag) with the
 * departments' chargeback from Slurm accounting. The AWS ports are passed in, so this
 * module holds no SDK.
 */
import type { ClusterSpec } from '../spec/schema.js'
import type { Store } from '../store/types.js'
import { monthWindow } from '../usage/read.js'
import type { AwsBudgetInput, BudgetStep } from './aws-budget.js'
import { reconcile, type ClusterCosts } from './aws-reconcile.js'
import type { Reconciliation } from './contract.js'
import type { BudgetService } from './service.js'

/** Thrown when the service has no topic for the budget's notifications (HTTP 409). */
export class AwsBudgetsNotConfiguredError extends Error {
  override name = 'AwsBudgetsNotConfiguredError'
}

/** Thrown when the spec has no `budgets.cluster` to make an AWS Budget of (HTTP 422). */
export class NoClusterBudgetError extends Error {
  override name = 'NoClusterBudgetError'
}

/** What the AWS Budgets adapter does for us (src/adapters/aws/budgets.ts `ensure`). */
export interface AwsBudgetsPort {
  ensure(input: AwsBudgetInput, options?: { dryRun?: boolean }): Promise<{ budgetName: string; steps: BudgetStep[]; lines: string[] }>
}

/** What the Cost Explorer adapter does for us (src/adapters/aws/cost-explorer.ts). */
export interface CostsPort {
  monthlyByCluster(month: string): Promise<ClusterCosts>
}

/** The AWS Budget input of a spec's `budgets.cluster`; throws `NoClusterBudgetError` without one. */
export function clusterBudgetInput(spec: ClusterSpec, topicArn: string): AwsBudgetInput {
  const c = spec.budgets?.cluster
  if (!c) throw new NoClusterBudgetError(`the spec of cluster ${spec.cluster.name} has no budgets.cluster: add one (monthly, thresholds, awsBudgetName) to make its AWS Budget`)
  return {
    clusterName: spec.cluster.name, budgetName: c.awsBudgetName, monthly: c.monthly, currency: spec.pricing?.currency ?? 'USD',
    thresholds: c.thresholds, notify: c.notify ?? [], topicArn,
  }
}

export interface AwsSyncResult {
  cluster: string
  budgetName: string
  dryRun: boolean
  /** The calls planned (dry run) or made; empty when AWS already matched. */
  steps: string[]
}

export interface AwsBudgetServiceDeps {
  store: Store
  budgets: BudgetService
  /** The SNS topic the budget notifies (`STEWARD_BUDGETS_TOPIC_ARN`); without it sync is refused. */
  topicArn: string | undefined
  /** The Budgets port of the topic's account. */
  awsBudgetsFor(topicArn: string): AwsBudgetsPort
  costs: CostsPort
}

export interface AwsBudgetService {
  sync(cluster: string, options: { dryRun: boolean }, actor: { actor: string; source: string }): Promise<AwsSyncResult>
  reconcile(cluster: string, month: string): Promise<Reconciliation>
}

export function createAwsBudgetService(deps: AwsBudgetServiceDeps): AwsBudgetService {
  return {
    async sync(cluster, { dryRun }, { actor, source }) {
      if (!deps.topicArn) throw new AwsBudgetsNotConfiguredError('the service has no topic for AWS Budgets\' notifications: set STEWARD_BUDGETS_TOPIC_ARN (the CDK stack sets it)')
      const spec = await deps.budgets.specOf(cluster)
      const input = clusterBudgetInput(spec, deps.topicArn)
      const result = await deps.awsBudgetsFor(deps.topicArn).ensure(input, { dryRun })
      if (!dryRun) {
        await deps.store.appendAudit({ actor, source, cluster, action: 'budget.aws.sync', resource: `clusters/${cluster}/budgets/aws/${result.budgetName}`, change: { steps: result.lines } })
      }
      return { cluster, budgetName: result.budgetName, dryRun, steps: result.lines }
    },

    async reconcile(cluster, month) {
      const { spec, usage } = await deps.budgets.usage(cluster, monthWindow(month))
      const costs = await deps.costs.monthlyByCluster(month)
      const chargeback = new Map([...usage.departmentCents()].map(([d, cents]) => [d, cents / 100]))
      return reconcile(cluster, costs, chargeback, spec.pricing?.currency ?? costs.currency)
    },
  }
}

/**
 * Cost Explorer through `@aws-sdk/client-cost-explorer`: one month's cost grouped by the
 * `ClusterName` cost-allocation tag (GetCostAndUsage, MONTHLY, every page), as the
 * `ClusterCosts` src/budgets/aws-reconcile.ts reconciles. Each call costs USD 0.01 at AWS:
 * one query a month per reconciliation, not one per cluster.
 */
import { CostExplorerClient, GetCostAndUsageCommand } from '@aws-sdk/client-cost-explorer'
import { CLUSTER_TAG } from '../../budgets/aws-budget.js'
import { clusterCostsOf, monthPeriod, type ClusterCosts } from '../../budgets/aws-reconcile.js'

/** A Cost Explorer call failed. */
export class CostExplorerError extends Error {
  override name = 'CostExplorerError'
}

/** The cost metric: what the invoice shows before credits are shared out. */
export const COST_METRIC = 'UnblendedCost'
const MAX_PAGES = 50

export function createCostExplorer(client: CostExplorerClient = new CostExplorerClient({})) {
  return {
    /** The month's cost per ClusterName tag value (`month` is YYYY-MM). */
    async monthlyByCluster(month: string): Promise<ClusterCosts> {
      const { start, end } = monthPeriod(month)
      const groups: Array<{ key: string; amount: number; unit: string }> = []
      let estimated = false
      let token: string | undefined
      for (let page = 0; ; page++) {
        if (page >= MAX_PAGES) throw new CostExplorerError(`GetCostAndUsage for ${month} returned more than ${MAX_PAGES} pages`)
        let res
        try {
          res = await client.send(new GetCostAndUsageCommand({
            TimePeriod: { Start: start, End: end }, Granularity: 'MONTHLY', Metrics: [COST_METRIC],
            GroupBy: [{ Type: 'TAG', Key: CLUSTER_TAG }], NextPageToken: token,
          }))
        } catch (err) {
          throw new CostExplorerError(`GetCostAndUsage for ${month} failed: ${(err as Error).name}: ${(err as Error).message}`, { cause: err })
        }
        for (const r of res.ResultsByTime ?? []) {
          estimated ||= r.Estimated === true
          for (const g of r.Groups ?? []) {
            const m = g.Metrics?.[COST_METRIC]
            groups.push({ key: g.Keys?.[0] ?? '', amount: Number(m?.Amount ?? Number.NaN), unit: m?.Unit ?? '' })
          }
        }
        token = res.NextPageToken
        if (!token) break
      }
      return clusterCostsOf(month, groups, estimated)
    },
  }
}

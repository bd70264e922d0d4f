/**
 * The CDK app: one `HpcSteward-<cluster>` stack per cluster of the deploy config, checked
 * by cdk-nag's AWS Solutions rules. Config file: context `config`, else
 * `STEWARD_DEPLOY_CONFIG`, else `ops/aws/deploy.yaml`; context `cluster` (comma-separated)
 * picks clusters. A bad config exits 2 with one `field: problem` line each, no stack trace.
 *
 *   npm run synth                      (templates into cdk.out/, offline)
 *   npm run deploy                     (cdk deploy of every stack)
 */
import { join } from 'node:path'
import { App, Aspects } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { projectRoot } from '../../src/project-root.js'
import { clusterTargets, DeployConfigError, type ClusterTarget } from './config.js'
import { StewardStack } from './stack.js'

/** The stack name of a cluster. */
export const stackName = (cluster: string): string => `HpcSteward-${cluster}`

/** Builds the app's stacks for the given clusters (no synthesis). */
export function buildApp(targets: ClusterTarget[], options: { outdir?: string; root?: string } = {}): { app: App; stacks: StewardStack[] } {
  const app = new App({ outdir: options.outdir ?? process.env.CDK_OUTDIR ?? 'cdk.out' })
  const root = options.root ?? projectRoot()
  const stacks = targets.map((t) => new StewardStack(app, stackName(t.cluster.name), {
    target: t,
    root,
    env: { account: t.account, region: t.region },
    description: `HPC Steward for cluster ${t.cluster.name}: service, session-limit and budget-alert Lambdas, login balancers, policy parameter`,
  }))
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }))
  return { app, stacks }
}

async function main(): Promise<void> {
  const probe = new App()
  const file = (probe.node.tryGetContext('config') as string | undefined) ?? process.env.STEWARD_DEPLOY_CONFIG ?? join('ops', 'aws', 'deploy.yaml')
  const only = (probe.node.tryGetContext('cluster') as string | undefined)?.split(',').map((s) => s.trim()).filter(Boolean)
  let targets: ClusterTarget[]
  try {
    targets = await clusterTargets(file, only)
  } catch (err) {
    if (!(err instanceof DeployConfigError)) throw err
    console.error(`deploy config ${err.message}`)
    process.exit(2)
  }
  const { app } = buildApp(targets)
  const assembly = app.synth()
  const problems = assembly.stacks.flatMap((s) => s.messages.filter((m) => m.level === 'error').map((m) => `${s.stackName} ${m.id}: ${String(m.entry.data)}`))
  if (problems.length) {
    console.error(`cdk-nag found ${problems.length} unsuppressed problem(s):\n${problems.join('\n')}`)
    process.exit(1)
  }
  console.error(`synthesized ${assembly.stacks.map((s) => s.stackName).join(', ')} into ${assembly.directory}`)
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) await main()

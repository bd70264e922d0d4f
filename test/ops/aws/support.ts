/**
 * Fixtures for the CDK app's tests: a spec (examples/campus.yaml with a login pool and
 * Session Manager limits) and a deploy config in a temporary directory, the problems a
 * config gives, one synthesis, a Lambda's built bundle, and the least-privilege rules
 * every stack keeps.
 */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { projectRoot } from '../../../src/project-root.js'

export const ROOT = projectRoot()
export const TG_ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/login/0123456789abcdef'

/** The deploy config the tests start from: one cluster, one owned NLB pool, one existing target group. */
export function baseConfig(): Record<string, unknown> {
  return {
    account: '123456789012',
    region: 'eu-west-1',
    clusters: [{
      name: 'campus',
      spec: 'spec.yaml',
      vpc: { id: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'] },
      controller: { host: '10.1.0.10', user: 'root', hostKey: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU', identityParameter: '/hpc-steward/campus/controller-key', securityGroupId: 'sg-0123456789abcdef0' },
      service: { instanceType: 't3.small', store: { type: 'ebs', sizeGiB: 20 } },
      sessionManager: { runAsDefaultUser: 'ssm-user' },
      sessionLimit: { scheduleMinutes: 5 },
      loginPools: [
        { name: 'cloud', nlb: { subnetIds: ['subnet-0123456789abcdef0'], targetType: 'ip', sshPort: 22, drainGraceMinutes: 7 } },
        { name: 'legacy', targetGroupArn: TG_ARN },
      ],
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:hpc-alarms',
      logRetentionDays: 30,
    }],
  }
}

/** The spec: campus plus two NLB login pools and sessions.ssm limits. */
export function fixtureSpec(): Record<string, unknown> {
  const spec = parse(readFileSync(join(ROOT, 'examples', 'campus.yaml'), 'utf8')) as Record<string, unknown>
  spec.loginNodes = {
    pools: [
      { name: 'cloud', nodes: 'cloud-login-[1-2]', balancer: { type: 'nlb', targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/cloud/00000000000000aa', targetType: 'ip' }, targets: { 'cloud-login-1': '10.1.0.31', 'cloud-login-2': '10.1.0.32' } },
      { name: 'legacy', nodes: 'old-login-1', balancer: { type: 'nlb', targetGroupArn: TG_ARN, targetType: 'instance' }, targets: { 'old-login-1': 'i-0123456789abcdef0' } },
    ],
  }
  spec.sessions = { ssm: { maxPerUser: 2, maxDurationMinutes: 720, idleTimeoutMinutes: 15 } }
  return spec
}

/** Writes the spec and the config (changed by `edit`) into a new directory; returns the config's path. */
export function writeFixture(edit: (config: Record<string, unknown>, spec: Record<string, unknown>) => void = () => {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'steward-cdk-'))
  const config = baseConfig()
  const spec = fixtureSpec()
  edit(config, spec)
  writeFileSync(join(dir, 'spec.yaml'), stringify(spec))
  writeFileSync(join(dir, 'deploy.yaml'), stringify(config))
  return join(dir, 'deploy.yaml')
}

/** The problems a config (the fixture changed by `edit`) gives, or [] when it is accepted. */
export async function problemsOf(edit: Parameters<typeof writeFixture>[0], only?: string[]): Promise<string[]> {
  const { clusterTargets, DeployConfigError } = await import('../../../ops/aws/config.js')
  try {
    await clusterTargets(writeFixture(edit), only)
    return []
  } catch (err) {
    if (err instanceof DeployConfigError) return err.problems
    throw err
  }
}

/** The first cluster of a config (for edits). */
export const firstCluster = (config: Record<string, unknown>): Record<string, unknown> => (config.clusters as Record<string, unknown>[])[0] as Record<string, unknown>

export interface Statement { Effect: string; Action: string | string[]; Resource: unknown; Sid?: string; Principal?: unknown; Condition?: unknown }

/**
 * One synthesis of a config's first stack (into `outdir`, a new directory by default), with
 * the views the tests read: resources by type and every policy statement.
 */
export async function synthesized(configPath: string, outdir = mkdtempSync(join(tmpdir(), 'steward-cdk-out-'))) {
  const { buildApp } = await import('../../../ops/aws/app.js')
  const { clusterTargets } = await import('../../../ops/aws/config.js')
  const { Template } = await import('aws-cdk-lib/assertions')
  const { stacks } = buildApp(await clusterTargets(configPath), { outdir })
  const stack = stacks[0]!
  const template = Template.fromStack(stack)
  const json = template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }
  const resources = Object.entries(json.Resources)
  const ofType = (type: string) => resources.filter(([, r]) => r.Type === type)
  const statements: Statement[] = resources.flatMap(([, r]) => ((r.Properties?.PolicyDocument ?? undefined) as { Statement: Statement[] } | undefined)?.Statement ?? [])
  return { stack, template, resources, ofType, statements }
}

/** A statement's actions as a list. */
export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action])

/** A file's sha256, hex. */
export const sha256Of = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex')

/** Lambda `name`'s bundle as `npm run build` makes it, its sha256, and the hash CDK names its asset by. */
export function lambdaBundle(name: string): { path: string; sha256: string; assetHash: string } {
  const path = join(ROOT, 'dist', 'lambdas', name, 'index.mjs')
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build first (npm test does)`)
  const sha256 = sha256Of(path)
  // The stack hands CDK the bundle's sha256 as a custom asset hash; CDK names the asset by the sha256 of that.
  return { path, sha256, assetHash: createHash('sha256').update(sha256).digest('hex') }
}

/**
 * The least-privilege rules of a stack: no Allow statement with a wildcard action, Resource
 * "*" only for `unscoped` (actions AWS cannot scope), every allowed action in the permissions
 * table of docs/deploy-aws.md, and no managed policy on any role.
 */
export function checkLeastPrivilege(t: Test, synth: Awaited<ReturnType<typeof synthesized>>, unscoped: string[]): void {
  const allowed = synth.statements.filter((s) => s.Effect === 'Allow')
  for (const s of allowed) for (const a of actionsOf(s)) t.notMatch(a, /\*/, `${s.Sid ?? '?'}: ${a}`)
  t.same(allowed.filter((s) => s.Resource === '*').flatMap(actionsOf).sort(), unscoped, 'each is in the permissions table of docs/deploy-aws.md')
  const docs = readFileSync(join(ROOT, 'docs', 'deploy-aws.md'), 'utf8')
  for (const a of new Set(allowed.flatMap(actionsOf))) t.match(docs, a, `${a} is in the permissions table`)
  t.equal(synth.ofType('AWS::IAM::ManagedPolicy').length, 0)
  for (const [id, r] of synth.ofType('AWS::IAM::Role')) t.notOk(r.Properties?.ManagedPolicyArns, `${id}: no managed policies (not even Lambda's VPC policy): every action is listed`)
}

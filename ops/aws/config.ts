/**
 * The deployment config of the CDK app (`ops/aws/deploy.yaml`): the AWS account and region,
 * and per cluster its VPC, controller, service instance, Session Manager and login pools.
 * Read and checked once at synth time; every problem is reported with its field's path
 * (`clusters[0].vpc.id: ...`), all at once, before any construct is made.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value'
import { parse } from 'yaml'
import { ADDRESS_RE, Name, UserName } from '../../src/spec/names.js'
import { TARGET_GROUP_ARN_PATTERN } from '../../src/spec/login-schema.js'
import { loadSpecFile } from '../../src/spec/load.js'
import { HOST_KEY_PATTERN } from '../../src/adapters/ssh-executor.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const strict = <T extends Parameters<typeof Type.Object>[0]>(p: T, description?: string) =>
  Type.Object(p, { additionalProperties: false, ...(description ? { description } : {}) })
const pattern = (re: string, description: string, maxLength = 200) => Type.String({ pattern: re, maxLength, description })

const SubnetId = pattern('^subnet-[0-9a-f]{8,17}$', 'a subnet id, subnet-...')
/** CloudWatch Logs retention values (days) that AWS accepts. */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const

const OwnedPool = strict({
  name: Name,
  /** The stack makes the NLB (TCP 22 listener) and its target group. */
  nlb: strict({
    subnetIds: Type.Array(SubnetId, { minItems: 1, maxItems: 6 }),
    internetFacing: Type.Optional(Type.Boolean()),
    targetType: Type.Union([Type.Literal('ip'), Type.Literal('instance')], { description: 'ip or instance' }),
    sshPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
    drainGraceMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 60 })),
  }),
})
const ExistingPool = strict({
  name: Name,
  /** A target group made elsewhere (e.g. by ParallelCluster); the stack only grants the service access to it. */
  targetGroupArn: pattern(TARGET_GROUP_ARN_PATTERN, 'a target group ARN: arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/16-HEX'),
})

const Cluster = strict({
  name: Name,
  /** The cluster's spec file (relative to this config): sessions.ssm and the login pools are read from it. */
  spec: pattern('^[\\w./-]+$', 'a path to the cluster spec (YAML or JSON)', 1024),
  vpc: strict({
    id: pattern('^vpc-[0-9a-f]{8,17}$', 'a VPC id, vpc-...'),
    availabilityZones: Type.Array(pattern('^[a-z]{2}(?:-[a-z]+)+-\\d[a-z]$', 'an availability zone, e.g. eu-west-1a'), { minItems: 1, maxItems: 6 }),
    privateSubnetIds: Type.Array(SubnetId, { minItems: 1, maxItems: 6 }),
  }),
  controller: strict({
    host: pattern(ADDRESS_RE.source, 'the controller address or host name', 253),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
    user: Type.Optional(UserName),
    hostKey: pattern(HOST_KEY_PATTERN, 'the controller host key fingerprint, SHA256:... as ssh-keygen -lf prints it'),
    /** A SecureString parameter holding the SSH private key (made by the admin, never by the stack). */
    identityParameter: pattern('^(?:/[\\w.-]+)+$', 'an SSM parameter name, /a/b/c', 1011),
    /** The controller's security group: the stack adds an ingress rule for SSH from the service. */
    securityGroupId: Type.Optional(pattern('^sg-[0-9a-f]{8,17}$', 'a security group id, sg-...')),
  }),
  service: Type.Optional(strict({
    /** Pin the AMI (recommended): without it the latest Amazon Linux 2023 is resolved at each deploy, and a new release replaces the instance. */
    imageId: Type.Optional(pattern('^ami-[0-9a-f]{8,17}$', 'an AMI id, ami-...')),
    instanceType: Type.Optional(pattern('^[a-z][a-z0-9-]*\\.[a-z0-9]+$', 'an EC2 instance type, e.g. t3.small', 40)),
    store: Type.Optional(Type.Union([
      strict({ type: Type.Literal('ebs'), sizeGiB: Type.Optional(Type.Integer({ minimum: 8, maximum: 1024 })) }),
      strict({ type: Type.Literal('rds'), instanceClass: Type.Optional(pattern('^[a-z][a-z0-9]*\\.[a-z0-9]+$', 'an RDS class without db., e.g. t4g.micro', 40)), allocatedStorageGiB: Type.Optional(Type.Integer({ minimum: 20, maximum: 1024 })) }),
    ], { description: '{type: ebs} or {type: rds}' })),
  })),
  sessionManager: strict({
    runAsDefaultUser: UserName,
    /** Name the document SSM-SessionManagerRunShell (the account's default preferences; fails if one exists). */
    defaultPreferences: Type.Optional(Type.Boolean()),
  }),
  sessionLimit: Type.Optional(strict({ scheduleMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 60 })) })),
  loginPools: Type.Optional(Type.Array(Type.Union([OwnedPool, ExistingPool], { description: '{name, nlb: {...}} or {name, targetGroupArn}' }), { maxItems: 20 })),
  /**
   * AWS Budgets alerts: the SNS topic Budgets notifies, the budget-alert Lambda (in the VPC,
   * calling the service's API), the notices topic. Left out: no budget resources.
   */
  budgetAlerts: Type.Optional(strict({
    /** The AWS budgets the service manages for this cluster (the spec's budget names): IAM and the topic policy are scoped to them. */
    budgetNames: Type.Array(pattern('^[^:\\\\]{1,100}$', 'an AWS budget name: 1-100 characters without : or \\', 100), { minItems: 1, maxItems: 50 }),
    /** The SecureString with the service API token the Lambda sends (the admin makes it; default /hpc-steward/<cluster>/api-token). */
    tokenParameter: Type.Optional(pattern('^(?:/[\\w.-]+)+$', 'an SSM parameter name, /a/b/c', 1011)),
    /** The customer-managed KMS key of that SecureString; without it, the AWS-managed alias/aws/ssm. */
    tokenKeyArn: Type.Optional(pattern('^arn:aws(?:-cn|-us-gov)?:kms:[a-z]{2}(?:-[a-z]+)+-\\d:\\d{12}:key/[\\w-]{1,100}$', 'a KMS key ARN: arn:aws:kms:REGION:ACCOUNT:key/ID', 300)),
  })),
  /** An SNS topic the alarms notify. */
  alarmTopicArn: Type.Optional(pattern('^arn:aws(?:-cn|-us-gov)?:sns:[a-z]{2}(?:-[a-z]+)+-\\d:\\d{12}:[\\w-]{1,256}$', 'an SNS topic ARN: arn:aws:sns:REGION:ACCOUNT:NAME', 400)),
  logRetentionDays: Type.Optional(Type.Union(RETENTION_DAYS.map((d) => Type.Literal(d)), { description: `one of ${RETENTION_DAYS.join(', ')}` })),
})

export const DeployConfig = strict({
  account: pattern('^\\d{12}$', 'a 12-digit AWS account id', 12),
  region: pattern('^[a-z]{2}(?:-[a-z]+)+-\\d$', 'an AWS region, e.g. eu-west-1', 30),
  clusters: Type.Array(Cluster, { minItems: 1, maxItems: 50 }),
})
export type DeployConfig = Static<typeof DeployConfig>
export type ClusterDeploy = Static<typeof Cluster>
export type OwnedPool = Static<typeof OwnedPool>

/** A cluster's deploy settings with its validated spec. */
export interface ClusterTarget {
  account: string
  region: string
  cluster: ClusterDeploy
  spec: ClusterSpec
}

/** Thrown for a config that cannot be deployed; `problems` are `field: message` lines. */
export class DeployConfigError extends Error {
  override name = 'DeployConfigError'
  constructor(readonly file: string, readonly problems: string[], options?: ErrorOptions) {
    super(`${file}:\n${problems.map((p) => `  ${p}`).join('\n')}`, options)
  }
}

/** `/clusters/0/vpc/id` -> `clusters[0].vpc.id`. */
function fieldOf(pointer: string): string {
  return pointer.split('/').slice(1).map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '(top level)'
}

/**
 * The errors to report: a union's error is replaced by the errors of the variant it came
 * closest to (the fewest errors) when they are inside the value, so the message
 * names the exact field (`loginPools[1].targetGroupArn`), not the union.
 */
function leafErrors(errors: Iterable<ValueError>): ValueError[] {
  const out: ValueError[] = []
  for (const e of errors) {
    if (e.type !== ValueErrorType.Union || e.errors.length === 0) {
      out.push(e)
      continue
    }
    const variants = e.errors.map((it) => leafErrors(it))
    const best = variants.reduce((a, b) => (b.length < a.length ? b : a))
    // Only an object variant says more (its fields); a union of literals keeps its own message.
    out.push(...(best.length && best.every((v) => v.path.length > e.path.length) ? best : [e]))
  }
  return out
}

/** Schema problems as `field: message`, one per field. */
function schemaProblems(schema: TSchema, value: unknown): string[] {
  const byField = new Map<string, string>()
  for (const e of leafErrors(Value.Errors(schema, value))) {
    const field = fieldOf(e.path)
    let message = e.schema.description ? `must be ${e.schema.description}` : e.message.toLowerCase()
    if (e.value === undefined) message = `is required (${e.schema.description ?? e.message})`
    if (e.type === ValueErrorType.ObjectAdditionalProperties) message = 'is not a known field'
    if (!byField.has(field)) byField.set(field, message)
  }
  return [...byField].map(([f, m]) => `${f}: ${m}`)
}

/** Reads and checks the config file; throws `DeployConfigError` naming each bad field. */
export function readDeployConfig(file: string): DeployConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new DeployConfigError(file, [`(file): cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`], { cause: err })
  }
  let value: unknown
  try {
    value = parse(text, { maxAliasCount: 100 })
  } catch (err) {
    throw new DeployConfigError(file, [`(file): not YAML/JSON: ${(err as Error).message.split('\n')[0]}`], { cause: err })
  }
  const problems = schemaProblems(DeployConfig, value ?? {})
  if (problems.length) throw new DeployConfigError(file, problems)
  const config = value as DeployConfig
  const seen = new Set<string>()
  config.clusters.forEach((c, i) => {
    if (seen.has(c.name)) problems.push(`clusters[${i}].name: cluster "${c.name}" is listed twice`)
    seen.add(c.name)
    for (const [j, name] of (c.budgetAlerts?.budgetNames ?? []).entries()) {
      if (name.includes('/action/')) problems.push(`clusters[${i}].budgetAlerts.budgetNames[${j}]: "${name}" contains "/action/", which AWS Budgets refuses`)
      if (c.budgetAlerts?.budgetNames.indexOf(name) !== j) problems.push(`clusters[${i}].budgetAlerts.budgetNames[${j}]: "${name}" is listed twice`)
    }
    const key = c.budgetAlerts?.tokenKeyArn
    if (key && (key.split(':')[4] !== config.account || key.split(':')[3] !== config.region)) problems.push(`clusters[${i}].budgetAlerts.tokenKeyArn: must be a key of account ${config.account} in ${config.region}`)
    for (const [j, p] of (c.loginPools ?? []).entries()) {
      if ('targetGroupArn' in p && p.targetGroupArn.split(':')[4] !== config.account) problems.push(`clusters[${i}].loginPools[${j}].targetGroupArn: belongs to account ${p.targetGroupArn.split(':')[4]}, not ${config.account}`)
    }
  })
  if (problems.length) throw new DeployConfigError(file, problems)
  return config
}

/**
 * The clusters to synthesize (all, or those named), each with its spec read and validated
 * with the project's spec rules. A name not in the config, a spec of another cluster, or a
 * pool that is not an NLB pool of the spec is a `DeployConfigError`.
 */
export async function clusterTargets(file: string, only?: string[]): Promise<ClusterTarget[]> {
  const config = readDeployConfig(file)
  const names = config.clusters.map((c) => c.name)
  const unknown = (only ?? []).filter((n) => !names.includes(n))
  if (unknown.length) throw new DeployConfigError(file, unknown.map((n) => `cluster: unknown cluster "${n}" (the config has ${names.join(', ')})`))
  const problems: string[] = []
  const targets: ClusterTarget[] = []
  for (const [i, cluster] of config.clusters.entries()) {
    if (only && !only.includes(cluster.name)) continue
    let spec: ClusterSpec
    try {
      spec = (await loadSpecFile(resolve(dirname(file), cluster.spec))).spec
    } catch (err) {
      problems.push(`clusters[${i}].spec: ${(err as Error).message.split('\n').slice(0, 6).join('; ')}`)
      continue
    }
    if (spec.cluster.name !== cluster.name) problems.push(`clusters[${i}].name: unknown cluster "${cluster.name}": the spec ${cluster.spec} is cluster "${spec.cluster.name}"`)
    for (const [j, p] of (cluster.loginPools ?? []).entries()) {
      const inSpec = spec.loginNodes?.pools.find((s) => s.name === p.name)
      if (!inSpec) continue // a pool the stack makes before the spec can name its target group ARN
      if (inSpec.balancer.type !== 'nlb') problems.push(`clusters[${i}].loginPools[${j}].name: pool "${p.name}" uses ${inSpec.balancer.type} in the spec, not nlb`)
      else if ('targetGroupArn' in p && p.targetGroupArn !== inSpec.balancer.targetGroupArn) problems.push(`clusters[${i}].loginPools[${j}].targetGroupArn: differs from the spec's ${inSpec.balancer.targetGroupArn}`)
      else if ('nlb' in p && p.nlb.targetType !== inSpec.balancer.targetType) problems.push(`clusters[${i}].loginPools[${j}].nlb.targetType: the spec's pool has targetType ${inSpec.balancer.targetType}`)
    }
    targets.push({ account: config.account, region: config.region, cluster, spec })
  }
  if (problems.length) throw new DeployConfigError(file, problems)
  return targets
}

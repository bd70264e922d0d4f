/**
 * One cluster's HPC Steward on AWS: the service on an EC2 instance in the cluster's VPC,
 * the session-limit Lambda with its EventBridge rules, dead-letter queue and alarms, the
 * budget alerts (ops/aws/budget-alert.ts), the
 * login pools' NLBs, the policy parameter, the Session Manager preferences and the log
 * groups. Nothing is looked up at synth time: every id comes from the config.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AssetHashType, Validations, Duration, Size, RemovalPolicy, Stack, type StackProps, CfnOutput, Tags } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as events from 'aws-cdk-lib/aws-events'
import * as targets from 'aws-cdk-lib/aws-events-targets'
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as lambda from 'aws-cdk-lib/aws-lambda'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as rds from 'aws-cdk-lib/aws-rds'
import * as s3assets from 'aws-cdk-lib/aws-s3-assets'
import * as sns from 'aws-cdk-lib/aws-sns'
import * as sqs from 'aws-cdk-lib/aws-sqs'
import * as ssm from 'aws-cdk-lib/aws-ssm'
import { NagSuppressions } from 'cdk-nag'
import type { Construct } from 'constructs'
import { POLICY_VERSION, policyParameterName, policyText, type Policy } from '../../src/sessions/policy.js'
import { sessionPreferencesContent } from '../../src/sessions/preferences.js'
import type { ClusterTarget, OwnedPool } from './config.js'
import { serviceUserData, serviceUserDataParts } from './user-data.js'
import { BudgetAlerts, budgetTopic, noticeTopicArn, SERVICE_PORT, secureStringDecrypt, serviceBudgetStatements, tokenParameterName } from './budget-alert.js'

/** Where the service keeps its state on the instance (the encrypted data volume's mount). */
export const STATE_DIR = '/var/lib/hpc-steward'

export interface StewardStackProps extends StackProps {
  target: ClusterTarget
  /** The installation root: the service's source asset and dist/lambdas/ are under it. */
  root: string
}

/** sha256 of a Lambda bundle (dist/lambdas/<name>/index.mjs): the asset hash of its code. */
export function bundleHash(root: string, name: string): string {
  return createHash('sha256').update(readFileSync(join(root, 'dist', 'lambdas', name, 'index.mjs'))).digest('hex')
}

/** The policy the parameter starts with: no limits, no users, until the service's first apply publishes the spec's. */
export function initialPolicy(cluster: string): Policy {
  return { version: POLICY_VERSION, cluster, sessions: { ssh: {}, ssm: {}, overrides: {} }, users: {}, contacts: {}, budgets: null }
}

export class StewardStack extends Stack {
  private readonly root: string

  constructor(scope: Construct, id: string, props: StewardStackProps) {
    super(scope, id, props)
    this.root = props.root
    const { cluster } = props.target
    const name = cluster.name
    // ClusterName is the cost allocation tag (activate it in Billing). Listeners are left
    // out: cfn-lint's CloudFormation schema has no Tags on AWS::ElasticLoadBalancingV2::Listener.
    const untagged = { excludeResourceTypes: ['AWS::ElasticLoadBalancingV2::Listener'] }
    Tags.of(this).add('ClusterName', name, untagged)
    Tags.of(this).add('hpc-steward:cluster', name, untagged)
    const retention = (cluster.logRetentionDays ?? 90) as logs.RetentionDays
    const alarmTopic = cluster.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', cluster.alarmTopicArn) : undefined

    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: cluster.vpc.id,
      availabilityZones: cluster.vpc.availabilityZones,
      privateSubnetIds: cluster.vpc.privateSubnetIds,
    })

    // The policy parameter: the stack owns it (so removing the stack removes it); the
    // service overwrites its value on every apply (STEWARD_PUBLISH_POLICY=1).
    const policyParameter = new ssm.StringParameter(this, 'PolicyParameter', {
      parameterName: policyParameterName(name),
      stringValue: policyText(initialPolicy(name)),
      description: 'HPC Steward cluster policy (managed by the service: do not edit)',
    })

    // AWS Budgets notifies this topic; the service puts its ARN in the budgets it makes.
    const budgets = cluster.budgetAlerts
    const budgetsTopic = budgets ? budgetTopic(this, name, budgets.budgetNames) : undefined

    // ---- the service -------------------------------------------------------------------
    const serviceLogs = new logs.LogGroup(this, 'ServiceLogs', { logGroupName: `/hpc-steward/${name}/service`, retention, removalPolicy: RemovalPolicy.DESTROY })
    const source = new s3assets.Asset(this, 'ServiceSource', {
      path: props.root,
      exclude: ['node_modules', 'dist', 'cdk.out', '.git', '.tap', 'data', 'coverage', '*.log', 'ops/aws/deploy.yaml'],
    })
    const serviceSg = new ec2.SecurityGroup(this, 'ServiceSg', {
      vpc,
      // What is true of the rules: admins come through Session Manager port forwarding (no
      // rule), and the budget-alert Lambda, when there is one, on the API port (its rule).
      description: budgets
        ? `HPC Steward service of ${name}: inbound only from its budget-alert Lambda (API port); admins through Session Manager port forwarding`
        : `HPC Steward service of ${name}: no inbound; reached through Session Manager port forwarding`,
      allowAllOutbound: true,
    })
    if (cluster.controller.securityGroupId) {
      new ec2.CfnSecurityGroupIngress(this, 'ControllerSshFromService', {
        groupId: cluster.controller.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: cluster.controller.port ?? 22,
        toPort: cluster.controller.port ?? 22,
        sourceSecurityGroupId: serviceSg.securityGroupId,
        description: 'HPC Steward service: SSH to the Slurm controller',
      })
    }
    const role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `HPC Steward service instance of ${name}`,
    })
    const identityParameterArn = this.formatArn({ service: 'ssm', resource: 'parameter', resourceName: cluster.controller.identityParameter.slice(1) })
    const statements: iam.PolicyStatement[] = [
      // The Session Manager agent (admin access with no inbound port). The role cannot name its own instance (a cycle), so: any instance of the account and region.
      new iam.PolicyStatement({ sid: 'SessionManagerAgentRegister', actions: ['ssm:UpdateInstanceInformation'], resources: [this.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })] }),
      new iam.PolicyStatement({ sid: 'SessionManagerAgentChannels', actions: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'], resources: ['*'] }),
      new iam.PolicyStatement({ sid: 'PublishPolicy', actions: ['ssm:GetParameter', 'ssm:PutParameter'], resources: [policyParameter.parameterArn] }),
      new iam.PolicyStatement({ sid: 'ControllerKey', actions: ['ssm:GetParameter'], resources: [identityParameterArn] }),
      secureStringDecrypt(this, 'ControllerKeyDecrypt'),
      new iam.PolicyStatement({ sid: 'ServiceSource', actions: ['s3:GetObject'], resources: [source.bucket.arnForObjects(source.s3ObjectKey)] }),
      new iam.PolicyStatement({ sid: 'ServiceLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [serviceLogs.logGroupArn, `${serviceLogs.logGroupArn}:log-stream:*`] }),
    ]

    // Login pools: the NLBs the stack owns, and the target groups the service manages.
    const targetGroupArns: string[] = []
    for (const pool of cluster.loginPools ?? []) {
      if ('targetGroupArn' in pool) targetGroupArns.push(pool.targetGroupArn)
      else targetGroupArns.push(this.loginBalancer(vpc, pool, name).targetGroupArn)
    }
    if (targetGroupArns.length) {
      statements.push(
        new iam.PolicyStatement({ sid: 'LoginPoolsRead', actions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetGroupAttributes', 'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DescribeTags'], resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'LoginPoolsWrite', actions: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets', 'elasticloadbalancing:ModifyTargetGroup', 'elasticloadbalancing:ModifyTargetGroupAttributes', 'elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'], resources: targetGroupArns }),
      )
    }

    if (budgets) statements.push(...serviceBudgetStatements(this, name, budgets.budgetNames))

    // The store: an encrypted EBS volume (SQLite) or RDS PostgreSQL.
    const store = cluster.service?.store ?? { type: 'ebs' as const }
    let database: { secretArn: string; host: string; port: string } | undefined
    if (store.type === 'rds') {
      // RDS identifiers: letters, digits and single hyphens, no trailing hyphen.
      const dbIdentifier = `hpc-steward-${name.replace(/[^a-z0-9]+/g, '-').replace(/-$/, '')}`
      const dbSg = new ec2.SecurityGroup(this, 'DatabaseSg', { vpc, description: `HPC Steward store of ${name}: PostgreSQL from the service only`, allowAllOutbound: false })
      dbSg.addIngressRule(serviceSg, ec2.Port.tcp(5432), 'PostgreSQL from the HPC Steward service')
      const db = new rds.DatabaseInstance(this, 'Database', {
        engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_9 }),
        instanceType: new ec2.InstanceType(store.instanceClass ?? 't4g.micro'),
        vpc,
        vpcSubnets: { subnets: vpc.privateSubnets },
        securityGroups: [dbSg],
        credentials: rds.Credentials.fromGeneratedSecret('steward', { excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\=,^' }),
        databaseName: 'steward',
        allocatedStorage: store.allocatedStorageGiB ?? 20,
        storageEncrypted: true,
        multiAz: false,
        deletionProtection: true,
        backupRetention: Duration.days(7),
        iamAuthentication: false,
        instanceIdentifier: dbIdentifier,
        cloudwatchLogsExports: ['postgresql'],
        removalPolicy: RemovalPolicy.SNAPSHOT,
      })
      // The exported log's group, made here with a retention (cloudwatchLogsRetention would add a custom-resource Lambda).
      db.node.addDependency(new logs.LogGroup(this, 'DatabaseLogs', { logGroupName: `/aws/rds/instance/${dbIdentifier}/postgresql`, retention, removalPolicy: RemovalPolicy.DESTROY }))
      const secret = db.secret
      if (!secret) throw new Error('RDS did not make a credentials secret')
      statements.push(new iam.PolicyStatement({ sid: 'DatabaseSecret', actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }))
      database = { secretArn: secret.secretArn, host: db.dbInstanceEndpointAddress, port: db.dbInstanceEndpointPort }
      NagSuppressions.addResourceSuppressions(db, [
        { id: 'AwsSolutions-RDS3', reason: 'One small instance for one service; Multi-AZ doubles the cost and the service tolerates a restart. Turn it on in the stack for a stricter availability target.' },
        { id: 'AwsSolutions-RDS11', reason: 'The database is reachable only from the service security group; a non-default port adds nothing.' },
        { id: 'AwsSolutions-SMG4', reason: 'The service reads the password at every start; rotation needs a rotation Lambda in the VPC, left to the admin (docs/deploy-aws.md).' },
      ], true)
    }
    const servicePolicy = new iam.Policy(this, 'ServicePolicy', { statements })
    role.attachInlinePolicy(servicePolicy)
    NagSuppressions.addResourceSuppressions(servicePolicy, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Resource "*" only where AWS has no resource-level permission (ssmmessages channels; ELBv2 Describe* calls); UpdateInstanceInformation cannot name the instance that assumes the role (a dependency cycle); KMS keys are limited to alias/aws/ssm via SSM; log streams are those of the service log group (names made by the agent). See docs/deploy-aws.md.',
      appliesTo: ['Resource::*', { regex: '/^Resource::arn:<AWS::Partition>:kms:.*:key\\/\\*$/' }, { regex: '/^Resource::arn:<AWS::Partition>:ec2:.*:instance\\/\\*$/' }, { regex: '/^Resource::<ServiceLogs[0-9A-F]+\\.Arn>:log-stream:\\*$/' }],
    }])

    const instance = new ec2.Instance(this, 'Service', {
      vpc,
      vpcSubnets: { subnets: vpc.privateSubnets.slice(0, 1) },
      instanceType: new ec2.InstanceType(cluster.service?.instanceType ?? 't3.small'),
      machineImage: cluster.service?.imageId ? ec2.MachineImage.genericLinux({ [props.target.region]: cluster.service.imageId }) : ec2.MachineImage.latestAmazonLinux2023(),
      securityGroup: serviceSg,
      role,
      requireImdsv2: true,
      detailedMonitoring: true,
      blockDevices: [
        { deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(30, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) },
      ],
      userData: serviceUserDataParts(serviceUserData({
        region: this.region, cluster: name, sourceBucket: source.s3BucketName, sourceKey: source.s3ObjectKey,
        logGroup: serviceLogs.logGroupName, stateDir: STATE_DIR, dataVolume: store.type === 'ebs' ? '/dev/xvdb' : undefined,
        controller: cluster.controller, database, loginPools: (cluster.loginPools ?? []).length > 0,
        budgetsTopicArn: budgetsTopic?.topicArn,
        noticesTopicArn: budgets ? noticeTopicArn(this, name) : undefined,
      })),
      // A changed script (a new source asset) is applied by a stop/start, and the script runs at every boot: the instance and its data stay.
      userDataCausesReplacement: false,
    })
    if (store.type === 'ebs') {
      // Its own resource, not a block device of the instance: it outlives the instance and is kept (as a snapshot) when the stack goes.
      const volume = new ec2.Volume(this, 'DataVolume', {
        availabilityZone: cluster.vpc.availabilityZones[0]!,
        size: Size.gibibytes(store.sizeGiB ?? 20),
        volumeType: ec2.EbsDeviceVolumeType.GP3,
        encrypted: true,
        removalPolicy: RemovalPolicy.SNAPSHOT,
      })
      // An EBS volume lives in one zone, which must be the instance's: the first private subnet's, from the config.
      Validations.of(volume).acknowledge({ id: 'CloudFormation-Validate::W3010', reason: 'the zone of the first private subnet, where the instance runs' })
      new ec2.CfnVolumeAttachment(this, 'DataVolumeAttachment', { instanceId: instance.instanceId, volumeId: volume.volumeId, device: '/dev/xvdb' })
    }
    instance.node.addDependency(servicePolicy)
    // The subnet fixes the zone; the zone CDK copies from the config's list would only be a second, possibly wrong, source.
    instance.instance.addPropertyDeletionOverride('AvailabilityZone')
    NagSuppressions.addResourceSuppressions(instance, [
      { id: 'AwsSolutions-EC29', reason: 'A single stateful instance on purpose: its state is on the data volume (kept on termination) or in RDS; an Auto Scaling group would not add a second writer.' },
    ])
    new cloudwatch.Alarm(this, 'ServiceStatusAlarm', {
      metric: new cloudwatch.Metric({ namespace: 'AWS/EC2', metricName: 'StatusCheckFailed', dimensionsMap: { InstanceId: instance.instanceId }, statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: 1, evaluationPeriods: 2, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: `HPC Steward service instance of ${name} fails its status checks`,
    }).addAlarmAction(...(alarmTopic ? [new cwActions.SnsAction(alarmTopic)] : []))

    this.sessionLimit(name, policyParameter, retention, cluster.sessionLimit?.scheduleMinutes ?? 5, alarmTopic)
    if (budgets && budgetsTopic) {
      const alerts = new BudgetAlerts(this, 'BudgetAlerts', {
        cluster, root: this.root, vpc, serviceSg, serviceUrl: `http://${instance.instancePrivateIp}:${SERVICE_PORT}`, policy: policyParameter,
        topic: budgetsTopic, bundleHash: bundleHash(this.root, 'budget-alert'), retention, alarmTopic,
      })
      new CfnOutput(this, 'BudgetTopicArn', { value: budgetsTopic.topicArn, description: 'the SNS topic of the cluster\'s AWS budgets (their notifications\' SNS subscriber)' })
      new CfnOutput(this, 'NoticeTopicArn', { value: alerts.noticeTopic.topicArn, description: 'budget notices to contacts: subscribe each e-mail with a recipients filter policy (docs/deploy-aws.md)' })
      new CfnOutput(this, 'ApiTokenParameter', { value: budgets.tokenParameter ?? tokenParameterName(name), description: 'create it: aws ssm put-parameter --type SecureString (docs/deploy-aws.md)' })
    }
    this.sessionPreferences(props.target, retention)

    new CfnOutput(this, 'ServiceInstanceId', { value: instance.instanceId, description: 'aws ssm start-session --target <id> --document-name AWS-StartPortForwardingSession --parameters portNumber=8080,localPortNumber=8080' })
    new CfnOutput(this, 'PolicyParameterName', { value: policyParameter.parameterName })
  }

  /** An NLB (TCP listener on 22, TCP health check on the pool's SSH port) and its target group. */
  private loginBalancer(vpc: ec2.IVpc, pool: OwnedPool, cluster: string): elbv2.NetworkTargetGroup {
    // Construct ids from the pool name, one to one (names are lower case, so the upper-case stand-ins cannot collide).
    const id = `Login${pool.name.replaceAll('-', 'H').replaceAll('_', 'U')}`
    const subnets = pool.nlb.subnetIds.map((s, i) => ec2.Subnet.fromSubnetId(this, `${id}Subnet${i}`, s))
    const nlb = new elbv2.NetworkLoadBalancer(this, `${id}Nlb`, {
      vpc,
      internetFacing: pool.nlb.internetFacing ?? false,
      vpcSubnets: { subnets },
      crossZoneEnabled: true,
      deletionProtection: false,
    })
    const port = pool.nlb.sshPort ?? 22
    const group = new elbv2.NetworkTargetGroup(this, `${id}TargetGroup`, {
      vpc,
      port,
      protocol: elbv2.Protocol.TCP,
      targetType: pool.nlb.targetType === 'ip' ? elbv2.TargetType.IP : elbv2.TargetType.INSTANCE,
      healthCheck: { protocol: elbv2.Protocol.TCP, port: String(port), interval: Duration.seconds(10), healthyThresholdCount: 3, unhealthyThresholdCount: 3 },
      deregistrationDelay: Duration.minutes(pool.nlb.drainGraceMinutes ?? 10),
      // The same settings the service applies (src/adapters/aws/elbv2.ts), so neither undoes the other.
      connectionTermination: true,
    })
    group.setAttribute('stickiness.enabled', 'true')
    group.setAttribute('stickiness.type', 'source_ip')
    Tags.of(group).add('hpc-steward:pool', pool.name)
    nlb.addListener(`${id}Ssh`, { port: 22, protocol: elbv2.Protocol.TCP, defaultTargetGroups: [group] })
    NagSuppressions.addResourceSuppressions(nlb, [
      { id: 'AwsSolutions-ELB2', reason: 'NLB access logs only record TLS listeners; this NLB has a plain TCP (SSH) listener, and SSH logins are logged on the login nodes.' },
    ])
    new CfnOutput(this, `${id}TargetGroupArn`, { value: group.targetGroupArn, description: `loginNodes pool ${pool.name} of ${cluster}: put this ARN in the spec's balancer.targetGroupArn` })
    new CfnOutput(this, `${id}DnsName`, { value: nlb.loadBalancerDnsName, description: `ssh endpoint of login pool ${pool.name}` })
    return group
  }

  /** The session-limit Lambda, its two rules, its dead-letter queue and the alarms. */
  private sessionLimit(cluster: string, policy: ssm.StringParameter, retention: logs.RetentionDays, everyMinutes: number, alarmTopic: sns.ITopic | undefined): lambda.Function {
    const logGroup = new logs.LogGroup(this, 'SessionLimitLogs', { logGroupName: `/hpc-steward/${cluster}/session-limit`, retention, removalPolicy: RemovalPolicy.DESTROY })
    const dlq = new sqs.Queue(this, 'SessionLimitDlq', { retentionPeriod: Duration.days(14), enforceSSL: true, encryption: sqs.QueueEncryption.SQS_MANAGED })
    NagSuppressions.addResourceSuppressions(dlq, [{ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the session-limit Lambda and its rules.' }])
    const role = new iam.Role(this, 'SessionLimitRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `HPC Steward session-limit Lambda of ${cluster}` })
    const policyDoc = new iam.Policy(this, 'SessionLimitPolicy', {
      statements: [
        new iam.PolicyStatement({ sid: 'ReadPolicy', actions: ['ssm:GetParameter'], resources: [policy.parameterArn] }),
        new iam.PolicyStatement({ sid: 'ListSessions', actions: ['ssm:DescribeSessions'], resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'EndSessions', actions: ['ssm:TerminateSession'], resources: [this.formatArn({ service: 'ssm', resource: 'session', resourceName: '*' })] }),
        new iam.PolicyStatement({ sid: 'Logs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.logGroupArn}:log-stream:*`] }),
      ],
    })
    role.attachInlinePolicy(policyDoc)
    NagSuppressions.addResourceSuppressions(policyDoc, [{
      id: 'AwsSolutions-IAM5',
      reason: 'ssm:DescribeSessions has no resource-level permission (Resource "*" is required); TerminateSession must reach any user\'s session of this account and region (session ids are made by AWS at StartSession); log streams are made by Lambda in its own log group.',
      appliesTo: ['Resource::*', { regex: '/^Resource::arn:<AWS::Partition>:ssm:.*:session\\/\\*$/' }, { regex: '/^Resource::<SessionLimitLogs[0-9A-F]+\\.Arn>:log-stream:\\*$/' }],
    }])
    const bundle = join(this.root, 'dist', 'lambdas', 'session-limit')
    // The function's deadLetterQueue adds sqs:SendMessage on the queue to the role itself.
    const fn = new lambda.Function(this, 'SessionLimit', {
      description: `HPC Steward: ends Session Manager sessions over the limit (cluster ${cluster})`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      // The asset is the bundle `npm run build` makes, hashed by its bytes.
      code: lambda.Code.fromAsset(bundle, { assetHash: bundleHash(this.root, 'session-limit'), assetHashType: AssetHashType.CUSTOM }),
      role,
      logGroup,
      timeout: Duration.seconds(60),
      memorySize: 256,
      deadLetterQueue: dlq,
      retryAttempts: 2,
      environment: { STEWARD_CLUSTER: cluster, STEWARD_POLICY_PARAMETER: policy.parameterName, POLICY_TTL_SECONDS: '60', POWERTOOLS_LOG_LEVEL: 'INFO' },
    })
    fn.node.addDependency(policyDoc)
    NagSuppressions.addResourceSuppressions(fn, [{ id: 'AwsSolutions-L1', reason: 'The bundle is built for and tested on Node.js 20 (esbuild target node20, the project\'s engine); nodejs22.x is the oldest supported Lambda runtime that runs it. Move up with the project\'s Node.js.' }])
    const target = () => new targets.LambdaFunction(fn, { deadLetterQueue: dlq, retryAttempts: 4, maxEventAge: Duration.hours(1) })
    new events.Rule(this, 'SessionStartRule', {
      description: `Session Manager StartSession (CloudTrail) -> session-limit of ${cluster}`,
      eventPattern: { source: ['aws.ssm'], detailType: ['AWS API Call via CloudTrail'], detail: { eventSource: ['ssm.amazonaws.com'], eventName: ['StartSession'] } },
      targets: [target()],
    })
    new events.Rule(this, 'SessionSweepRule', {
      description: `Every ${everyMinutes} min: session-limit sweep of ${cluster}`,
      schedule: events.Schedule.rate(Duration.minutes(everyMinutes)),
      targets: [target()],
    })
    const actions = alarmTopic ? [new cwActions.SnsAction(alarmTopic)] : []
    new cloudwatch.Alarm(this, 'SessionLimitErrors', {
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `session-limit Lambda of ${cluster} failed`,
    }).addAlarmAction(...actions)
    new cloudwatch.Alarm(this, 'SessionLimitDeadLetters', {
      metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `events for the session-limit Lambda of ${cluster} were dead-lettered`,
    }).addAlarmAction(...actions)
    return fn
  }

  /** The Session Manager preferences (SSM-SessionManagerRunShell shape) from the spec's sessions.ssm. */
  private sessionPreferences(target: ClusterTarget, retention: logs.RetentionDays): void {
    const { cluster, spec } = target
    const sessionLogs = new logs.LogGroup(this, 'SessionLogs', { logGroupName: `/hpc-steward/${cluster.name}/sessions`, retention, removalPolicy: RemovalPolicy.RETAIN })
    const content = sessionPreferencesContent({
      cluster: cluster.name,
      runAsDefaultUser: spec.identity?.runAs?.defaultUser ?? cluster.sessionManager.runAsDefaultUser,
      ssm: spec.sessions?.ssm,
      cloudWatchLogGroupName: sessionLogs.logGroupName,
    })
    new ssm.CfnDocument(this, 'SessionPreferences', {
      name: cluster.sessionManager.defaultPreferences ? 'SSM-SessionManagerRunShell' : `HPCSteward-${cluster.name}-Shell`,
      documentType: 'Session',
      documentFormat: 'JSON',
      updateMethod: 'NewVersion',
      content,
    })
  }
}

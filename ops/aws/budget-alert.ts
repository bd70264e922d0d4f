/**
 * AWS Budgets alerts of one cluster: the SNS topic AWS Budgets publishes to (a topic policy
 * that lets only `budgets.amazonaws.com`, for this account's listed budgets, publish), the
 * budget-alert Lambda from its bundle, subscribed to it, in the cluster's VPC so it reaches
 * the service's API, its dead-letter queue and alarms, the notices topic it tells contacts
 * through, and a role that lists each action on the resources it needs.
 */
import { ArnFormat, AssetHashType, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib'
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch'
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions'
import * as ec2 from 'aws-cdk-lib/aws-ec2'
import * as iam from 'aws-cdk-lib/aws-iam'
import * as lambda from 'aws-cdk-lib/aws-lambda'
import * as logs from 'aws-cdk-lib/aws-logs'
import * as sns from 'aws-cdk-lib/aws-sns'
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions'
import * as sqs from 'aws-cdk-lib/aws-sqs'
import type * as ssm from 'aws-cdk-lib/aws-ssm'
import { NagSuppressions } from 'cdk-nag'
import { Construct } from 'constructs'
import { join } from 'node:path'
import type { ClusterDeploy } from './config.js'

/** The port the service listens on (the systemd unit's PORT). */
export const SERVICE_PORT = 8080

/** The budget ARNs IAM and the topic policy are scoped to. */
export function budgetArns(stack: Stack, names: string[]): string[] {
  return names.map((n) => stack.formatArn({ service: 'budgets', region: '', resource: 'budget', resourceName: n }))
}

/** The default SecureString name of the Lambdas' API token. */
export const tokenParameterName = (cluster: string): string => `/hpc-steward/${cluster}/api-token`

/** KMS Decrypt for a SecureString: the given key, or the AWS-managed `alias/aws/ssm` and only through SSM. */
export function secureStringDecrypt(stack: Stack, sid: string, keyArn?: string): iam.PolicyStatement {
  if (keyArn) return new iam.PolicyStatement({ sid, actions: ['kms:Decrypt'], resources: [keyArn], conditions: { StringEquals: { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` } } })
  return new iam.PolicyStatement({
    sid, actions: ['kms:Decrypt'],
    resources: [stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
    conditions: { StringEquals: { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` }, 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/aws/ssm' } },
  })
}

/** The name of the notices topic (budget notices to contacts), the same for the Lambda and the service. */
export const noticeTopicName = (cluster: string): string => `hpc-steward-${cluster}-notices`

/**
 * The notices topic's ARN from its name: the service is made before the BudgetAlerts construct
 * that owns the topic, and is told (and allowed to publish to) the topic by this ARN.
 */
export const noticeTopicArn = (stack: Stack, cluster: string): string =>
  stack.formatArn({ service: 'sns', resource: noticeTopicName(cluster), arnFormat: ArnFormat.NO_RESOURCE_NAME })

/** The service role's Budgets, Cost Explorer and notices statements (make and read the budgets, reconcile the bill, tell contacts). */
export function serviceBudgetStatements(stack: Stack, cluster: string, names: string[]): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({ sid: 'ManageBudgets', actions: ['budgets:ViewBudget', 'budgets:ModifyBudget'], resources: budgetArns(stack, names) }),
    new iam.PolicyStatement({ sid: 'ReconcileCosts', actions: ['ce:GetCostAndUsage'], resources: ['*'] }),
    new iam.PolicyStatement({ sid: 'PublishNotices', actions: ['sns:Publish'], resources: [noticeTopicArn(stack, cluster)] }),
  ]
}

/** The topic AWS Budgets notifies; made before the service so the service is told its ARN. */
export function budgetTopic(scope: Construct, cluster: string, names: string[]): sns.Topic {
  const stack = Stack.of(scope)
  const topic = new sns.Topic(scope, 'BudgetTopic', { topicName: `hpc-steward-${cluster}-budgets`, displayName: `HPC Steward budgets of ${cluster}`, enforceSSL: true })
  topic.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'AwsBudgetsPublish',
    principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
    actions: ['sns:Publish'],
    resources: [topic.topicArn],
    conditions: { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': budgetArns(stack, names) } },
  }))
  NagSuppressions.addResourceSuppressions(topic, [{ id: 'AwsSolutions-SNS2', reason: 'AWS Budgets can publish to an encrypted topic only with a customer-managed key whose policy admits budgets.amazonaws.com (USD 1 a month a key); the messages carry budget names and amounts, no secret, and the topic enforces TLS.' }])
  return topic
}

export interface BudgetAlertsProps {
  cluster: ClusterDeploy
  root: string
  vpc: ec2.IVpc
  serviceSg: ec2.ISecurityGroup
  /** `http://<service private IP>:8080` */
  serviceUrl: string
  policy: ssm.IStringParameter
  topic: sns.Topic
  bundleHash: string
  retention: logs.RetentionDays
  alarmTopic: sns.ITopic | undefined
}

export class BudgetAlerts extends Construct {
  readonly function: lambda.Function
  readonly noticeTopic: sns.Topic

  constructor(scope: Construct, id: string, props: BudgetAlertsProps) {
    super(scope, id)
    const stack = Stack.of(this)
    const { cluster, vpc } = props
    const name = cluster.name
    const config = cluster.budgetAlerts
    if (!config) throw new Error(`cluster ${name} has no budgetAlerts`)
    const tokenParameter = config.tokenParameter ?? tokenParameterName(name)

    this.noticeTopic = new sns.Topic(this, 'NoticeTopic', { topicName: noticeTopicName(name), displayName: `HPC Steward budget notices of ${name}`, enforceSSL: true })
    NagSuppressions.addResourceSuppressions(this.noticeTopic, [{ id: 'AwsSolutions-SNS2', reason: 'Notices go on to e-mail subscriptions, which SNS delivers unencrypted anyway; they carry budget names and amounts, no secret. The topic enforces TLS.' }])
    const logGroup = new logs.LogGroup(this, 'Logs', { logGroupName: `/hpc-steward/${name}/budget-alert`, retention: props.retention, removalPolicy: RemovalPolicy.DESTROY })
    const dlq = new sqs.Queue(this, 'Dlq', { retentionPeriod: Duration.days(14), enforceSSL: true, encryption: sqs.QueueEncryption.SQS_MANAGED })
    NagSuppressions.addResourceSuppressions(dlq, [{ id: 'AwsSolutions-SQS3', reason: 'This queue is itself the dead-letter queue of the budget-alert Lambda and its SNS subscription.' }])

    // The function reaches the service's API in the VPC and AWS APIs through the NAT; nothing reaches it.
    const sg = new ec2.SecurityGroup(this, 'Sg', { vpc, description: `HPC Steward budget-alert Lambda of ${name}: to the service API and AWS APIs`, allowAllOutbound: false })
    sg.addEgressRule(props.serviceSg, ec2.Port.tcp(SERVICE_PORT), 'the service API')
    sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (SSM, Budgets, SNS) through the NAT')
    props.serviceSg.addIngressRule(sg, ec2.Port.tcp(SERVICE_PORT), 'budget-alert Lambda to the service API')

    const subnetArns = vpc.privateSubnets.map((s) => stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: s.subnetId }))
    const eni = stack.formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' })
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `HPC Steward budget-alert Lambda of ${name}` })
    const policy = new iam.Policy(this, 'Policy', {
      statements: [
        new iam.PolicyStatement({ sid: 'ReadPolicyAndToken', actions: ['ssm:GetParameter'], resources: [props.policy.parameterArn, stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: tokenParameter.slice(1) })] }),
        secureStringDecrypt(stack, 'TokenDecrypt', config.tokenKeyArn),
        new iam.PolicyStatement({ sid: 'ReadBudgets', actions: ['budgets:ViewBudget'], resources: budgetArns(stack, config.budgetNames) }),
        new iam.PolicyStatement({ sid: 'Notify', actions: ['sns:Publish'], resources: [this.noticeTopic.topicArn] }),
        new iam.PolicyStatement({ sid: 'DeadLetters', actions: ['sqs:SendMessage'], resources: [dlq.queueArn] }),
        new iam.PolicyStatement({ sid: 'Logs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${logGroup.logGroupArn}:log-stream:*`] }),
        // Lambda's network interfaces in the VPC: created in the private subnets with the function's group only.
        new iam.PolicyStatement({ sid: 'VpcDescribe', actions: ['ec2:DescribeNetworkInterfaces'], resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'VpcCreate', actions: ['ec2:CreateNetworkInterface'], resources: [eni, ...subnetArns, stack.formatArn({ service: 'ec2', resource: 'security-group', resourceName: sg.securityGroupId })] }),
        new iam.PolicyStatement({ sid: 'VpcManage', actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'], resources: [eni] }),
      ],
    })
    role.attachInlinePolicy(policy)
    NagSuppressions.addResourceSuppressions(policy, [{
      id: 'AwsSolutions-IAM5',
      reason: 'ec2:DescribeNetworkInterfaces has no resource-level permission (Resource "*" is required); network interfaces are made by Lambda with ids it picks, so they are named by account and region (network-interface/*) while the subnets and the security group are fixed; KMS keys are limited to alias/aws/ssm through SSM; log streams are those of the function\'s own log group.',
      appliesTo: ['Resource::*', { regex: '/^Resource::arn:<AWS::Partition>:ec2:.*:network-interface\\/\\*$/' }, { regex: '/^Resource::arn:<AWS::Partition>:kms:.*:key\\/\\*$/' }, { regex: '/^Resource::<BudgetAlertsLogs[0-9A-F]+\\.Arn>:log-stream:\\*$/' }],
    }])

    this.function = new lambda.Function(this, 'Function', {
      description: `HPC Steward: AWS Budgets alerts -> the service (cluster ${name})`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(join(props.root, 'dist', 'lambdas', 'budget-alert'), { assetHash: props.bundleHash, assetHashType: AssetHashType.CUSTOM }),
      // Every permission is in the inline policy above: CDK must not add the AWS-managed VPC policy to the role.
      role: role.withoutPolicyUpdates(),
      logGroup,
      timeout: Duration.seconds(30),
      memorySize: 256,
      vpc,
      vpcSubnets: { subnets: vpc.privateSubnets },
      securityGroups: [sg],
      deadLetterQueue: dlq,
      retryAttempts: 2,
      environment: {
        STEWARD_CLUSTER: name, STEWARD_POLICY_PARAMETER: props.policy.parameterName, POLICY_TTL_SECONDS: '60',
        STEWARD_API_URL: props.serviceUrl, STEWARD_API_TOKEN_PARAMETER: tokenParameter,
        STEWARD_NOTICE_TOPIC_ARN: this.noticeTopic.topicArn, POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    })
    this.function.node.addDependency(policy)
    NagSuppressions.addResourceSuppressions(this.function, [{ id: 'AwsSolutions-L1', reason: 'The bundle is built for and tested on Node.js 20 (esbuild target node20, the project\'s engine); nodejs22.x is the oldest supported Lambda runtime that runs it.' }])
    props.topic.addSubscription(new subs.LambdaSubscription(this.function, { deadLetterQueue: dlq }))

    const actions = props.alarmTopic ? [new cwActions.SnsAction(props.alarmTopic)] : []
    new cloudwatch.Alarm(this, 'Errors', {
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `budget-alert Lambda of ${name} failed (the service API unreachable or refusing?)`,
    }).addAlarmAction(...actions)
    new cloudwatch.Alarm(this, 'DeadLetters', {
      metric: dlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1, evaluationPeriods: 1, treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `budget alerts of ${name} were dead-lettered: they reached neither the Lambda nor the service`,
    }).addAlarmAction(...actions)
  }
}

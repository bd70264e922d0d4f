import t from 'tap'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Annotations, Match } from 'aws-cdk-lib/assertions'
import { initialPolicy } from '../../../ops/aws/stack.js'
import { Policy } from '../../../src/sessions/policy.js'
import { Value } from '@sinclair/typebox/value'
import { TG_ARN, actionsOf, checkLeastPrivilege, firstCluster, lambdaBundle, sha256Of, synthesized, writeFixture } from './support.js'

const bundle = lambdaBundle('session-limit')

// One synthesis for the whole file: the EBS store, an owned NLB pool and an existing target group.
const outdir = mkdtempSync(join(tmpdir(), 'steward-cdk-out-'))
const synth = await synthesized(writeFixture(), outdir)
const { stack, template, ofType, statements } = synth

t.test('no Allow statement has a wildcard action; Resource "*" only for actions AWS cannot scope', async (t) => {
  t.ok(statements.length > 5)
  // The only Deny is the queue's "TLS only" guard (sqs:* denied without SecureTransport).
  t.same(statements.filter((s) => s.Effect === 'Deny').flatMap(actionsOf), ['sqs:*'])
  checkLeastPrivilege(t, synth, [
    'elasticloadbalancing:DescribeTags', 'elasticloadbalancing:DescribeTargetGroupAttributes', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth',
    'ssm:DescribeSessions',
    'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
  ])
})

t.test('the session-limit Lambda: the bundle npm run build makes, its rules, DLQ and alarms', async (t) => {
  const { sha256: bundleSha, assetHash: hash } = bundle
  template.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'index.handler',
    Runtime: 'nodejs22.x',
    Code: { S3Key: `${hash}.zip` },
    Environment: { Variables: { STEWARD_CLUSTER: 'campus', STEWARD_POLICY_PARAMETER: { Ref: Match.stringLikeRegexp('^PolicyParameter') } } },
    DeadLetterConfig: { TargetArn: Match.anyValue() },
  })
  // The staged asset is the bundle, byte for byte, and its handler file exports `handler`.
  const staged = join(outdir, `asset.${hash}`, 'index.mjs')
  t.ok(existsSync(staged), 'index.mjs (handler index.handler) is in the asset')
  t.equal(sha256Of(staged), bundleSha, 'the staged bundle is the built one')
  t.match(readFileSync(staged, 'utf8'), /export\s*\{[^}]*\bas handler\b|export\s*\{[^}]*\bhandler\b/)
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { source: ['aws.ssm'], 'detail-type': ['AWS API Call via CloudTrail'], detail: { eventSource: ['ssm.amazonaws.com'], eventName: ['StartSession'] } },
    Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue() })],
  })
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' })
  template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 1_209_600 })
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:hpc-alarms'] })
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible' })
  template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/hpc-steward/campus/session-limit', RetentionInDays: 30 })
})

t.test('the service: encrypted EBS store, SSH to the controller, npm start under systemd', async (t) => {
  template.hasResourceProperties('AWS::EC2::Instance', {
    InstanceType: 't3.small',
    SubnetId: 'subnet-0123456789abcdef0',
    BlockDeviceMappings: [Match.objectLike({ DeviceName: '/dev/xvda', Ebs: Match.objectLike({ Encrypted: true }) })],
  })
  template.hasResource('AWS::EC2::Volume', { Properties: { Encrypted: true, Size: 20, VolumeType: 'gp3', AvailabilityZone: 'eu-west-1a' }, DeletionPolicy: 'Snapshot' })
  template.hasResourceProperties('AWS::EC2::VolumeAttachment', { Device: '/dev/xvdb' })
  template.resourceCountIs('AWS::RDS::DBInstance', 0)
  template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-0123456789abcdef0', FromPort: 22, ToPort: 22, IpProtocol: 'tcp' })
  const serviceSg = ofType('AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('ServiceSg'))?.[1]
  t.match(serviceSg?.Properties?.GroupDescription, /no inbound/, 'without budget alerts nothing comes in')
  t.notOk(serviceSg?.Properties?.SecurityGroupIngress, 'and no rule admits anything')
  const userData = JSON.stringify(ofType('AWS::EC2::Instance')[0]![1].Properties?.UserData)
  t.match(userData, 'ExecStart=/usr/bin/npm start')
  t.match(userData, 'STEWARD_PUBLISH_POLICY=1')
  t.match(userData, '\\"hostKey\\":\\"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\\"')
  t.match(userData, 'ssh://root@10.1.0.10:22')
  t.match(userData, "STEWARD_CONTROLLERS='{", 'single-quoted for systemd')
  t.match(userData, 'mkfs.xfs')
  t.match(userData, 'scripts-user, always', 'the script runs at every boot')
})

t.test('login pools: the owned NLB (TCP 22, TCP health check) and access to the existing target group', async (t) => {
  template.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1)
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Type: 'network', Scheme: 'internal', Subnets: ['subnet-0123456789abcdef0'] })
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 22, Protocol: 'TCP' })
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
    Port: 22, Protocol: 'TCP', TargetType: 'ip', HealthCheckProtocol: 'TCP', HealthCheckPort: '22',
    TargetGroupAttributes: Match.arrayWith([
      { Key: 'deregistration_delay.timeout_seconds', Value: '420' },
      { Key: 'stickiness.enabled', Value: 'true' },
      { Key: 'stickiness.type', Value: 'source_ip' },
    ]),
  })
  const write = statements.find((s) => s.Sid === 'LoginPoolsWrite')
  t.ok(write)
  t.match(JSON.stringify(write?.Resource), TG_ARN)
  t.match(JSON.stringify(write?.Resource), /LogincloudTargetGroup/)
})

t.test('policy parameter and Session Manager preferences', async (t) => {
  const param = ofType('AWS::SSM::Parameter')[0]![1].Properties!
  t.equal(param.Name, '/hpc-steward/campus/policy')
  t.equal(param.Type, 'String')
  const value = JSON.parse(param.Value as string)
  t.ok(Value.Check(Policy, value), 'the initial value is a policy the Lambda accepts')
  t.same(value, initialPolicy('campus'))
  template.hasResourceProperties('AWS::SSM::Document', {
    Name: 'HPCSteward-campus-Shell',
    DocumentType: 'Session',
    Content: Match.objectLike({ sessionType: 'Standard_Stream', inputs: Match.objectLike({ runAsEnabled: true, runAsDefaultUser: 'ssm-user', idleSessionTimeout: '15', maxSessionDuration: '720', cloudWatchLogGroupName: Match.anyValue() }) }),
  })
  for (const [, g] of ofType('AWS::Logs::LogGroup')) t.equal(g.Properties?.RetentionInDays, 30, `${String(g.Properties?.LogGroupName)} has a retention`)
  template.resourceCountIs('AWS::Lambda::Function', 1)
  template.hasResourceProperties('AWS::Lambda::Function', { Tags: Match.arrayWith([{ Key: 'ClusterName', Value: 'campus' }]) })
  template.hasResourceProperties('AWS::EC2::Volume', { Tags: Match.arrayWith([{ Key: 'ClusterName', Value: 'campus' }]) })
  template.resourceCountIs('AWS::SNS::Topic', 0)
  template.resourceCountIs('AWS::Budgets::Budget', 0)
})

t.test('cdk-nag AwsSolutions: no unsuppressed finding', async (t) => {
  t.same(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), [])
  t.same(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')), [])
})

t.test('an RDS store: encrypted PostgreSQL, reachable from the service only; no data volume; two pools', async (t) => {
  const { stack: rdsStack, template: rds } = await synthesized(writeFixture((c) => {
    const nlb = { subnetIds: ['subnet-0123456789abcdef0'], targetType: 'ip' }
    // Pool names that differ only in - and _ get their own constructs.
    Object.assign(firstCluster(c), { name: 'campus', service: { store: { type: 'rds' } }, loginPools: [{ name: 'east-1', nlb }, { name: 'east_1', nlb }] })
    firstCluster(c).sessionManager = { runAsDefaultUser: 'ssm-user', defaultPreferences: true }
  }))
  rds.hasResourceProperties('AWS::RDS::DBInstance', { Engine: 'postgres', StorageEncrypted: true, DeletionProtection: true, PubliclyAccessible: false, DBInstanceIdentifier: 'hpc-steward-campus' })
  rds.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5432, ToPort: 5432 })
  rds.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 2)
  rds.resourceCountIs('AWS::Lambda::Function', 1)
  rds.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/rds/instance/hpc-steward-campus/postgresql', RetentionInDays: 30 })
  for (const r of Object.values(rds.findResources('AWS::IAM::Role')) as { Properties: Record<string, unknown> }[]) t.notOk(r.Properties.ManagedPolicyArns)
  rds.hasResourceProperties('AWS::SSM::Document', { Name: 'SSM-SessionManagerRunShell' })
  const instance = Object.values(rds.findResources('AWS::EC2::Instance'))[0] as { Properties: { BlockDeviceMappings: unknown[]; UserData: unknown } }
  t.equal(instance.Properties.BlockDeviceMappings.length, 1, 'root volume only')
  rds.resourceCountIs('AWS::EC2::Volume', 0)
  t.match(JSON.stringify(instance.Properties.UserData), 'DATABASE_URL=postgres://')
  t.same(Annotations.fromStack(rdsStack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), [])
  t.notOk(JSON.stringify(rds.toJSON()).includes('"Action":"*"'))
})

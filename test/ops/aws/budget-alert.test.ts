/**
 * The stack with budget alerts: the topic AWS Budgets publishes to (only budgets.amazonaws.com,
 * this account, the listed budgets), the budget-alert Lambda from its built bundle, subscribed
 * with a dead-letter queue, in the VPC with a group that reaches only the service API and
 * HTTPS, least-privilege roles, the service told the topic and listening for the Lambda.
 */
import t from 'tap'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Annotations, Match } from 'aws-cdk-lib/assertions'
import { actionsOf, checkLeastPrivilege, firstCluster, lambdaBundle, problemsOf, sha256Of, synthesized, writeFixture, type Statement } from './support.js'

const bundle = lambdaBundle('budget-alert')
const names = ['hpc-steward-campus', 'campus-physics']
const withBudgets = (extra: Record<string, unknown> = {}) => writeFixture((c) => { firstCluster(c).budgetAlerts = { budgetNames: names, ...extra } })
const outdir = mkdtempSync(join(tmpdir(), 'steward-cdk-out-'))
const synth = await synthesized(withBudgets(), outdir)
const { stack, template, ofType, statements } = synth
const budgetArn = (n: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:budgets::123456789012:budget/${n}`]] })

t.test('the budgets topic: only AWS Budgets, of this account, for the listed budgets, may publish; TLS only', async (t) => {
  template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'hpc-steward-campus-budgets' })
  const publish = statements.find((s) => s.Sid === 'AwsBudgetsPublish')
  t.match(publish, { Effect: 'Allow', Principal: { Service: 'budgets.amazonaws.com' }, Action: 'sns:Publish' })
  t.same(publish?.Condition, { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnLike: { 'aws:SourceArn': names.map(budgetArn) } })
  t.ok(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport') && actionsOf(s).includes('sns:Publish')), 'the topic refuses publishing without TLS')
  template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda', RedrivePolicy: { deadLetterTargetArn: Match.anyValue() } })
})

t.test('the budget-alert Lambda: the built bundle, in the VPC, its environment, DLQ, alarms and log group', async (t) => {
  const { sha256: bundleSha, assetHash: hash } = bundle
  template.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'index.handler', Runtime: 'nodejs22.x', Code: { S3Key: `${hash}.zip` },
    VpcConfig: { SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'], SecurityGroupIds: [Match.anyValue()] },
    DeadLetterConfig: { TargetArn: Match.anyValue() },
    Environment: { Variables: {
      STEWARD_CLUSTER: 'campus', STEWARD_API_TOKEN_PARAMETER: '/hpc-steward/campus/api-token',
      STEWARD_API_URL: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [Match.stringLikeRegexp('^Service'), 'PrivateIp'] }, ':8080']] },
      STEWARD_NOTICE_TOPIC_ARN: { Ref: Match.stringLikeRegexp('^BudgetAlertsNoticeTopic') },
      STEWARD_POLICY_PARAMETER: { Ref: Match.stringLikeRegexp('^PolicyParameter') },
    } },
  })
  const staged = join(outdir, `asset.${hash}`, 'index.mjs')
  t.equal(sha256Of(staged), bundleSha, 'the staged bundle is the built one, byte for byte')
  t.match(readFileSync(staged, 'utf8'), /export\s*\{[^}]*\bhandler\b/)
  template.resourceCountIs('AWS::Lambda::Function', 2)
  template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'sns.amazonaws.com', SourceArn: { Ref: Match.stringLikeRegexp('^BudgetTopic') } })
  template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/hpc-steward/campus/budget-alert', RetentionInDays: 30 })
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^BudgetAlertsFunction') } }], AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:hpc-alarms'] })
  t.equal(ofType('AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible').length, 2)
})

t.test('network: the Lambda reaches only the service API and HTTPS; the service admits only the Lambda, on 8080', async (t) => {
  const group = ofType('AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('BudgetAlertsSg'))?.[1]
  t.match(group?.Properties?.SecurityGroupEgress, [{ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }])
  template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { FromPort: 8080, ToPort: 8080, DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ServiceSg'), 'GroupId'] } })
  template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 8080, ToPort: 8080, SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BudgetAlertsSg'), 'GroupId'] } })
  const serviceSg = ofType('AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('ServiceSg'))?.[1]
  t.match(serviceSg?.Properties?.GroupDescription, /inbound only from its budget-alert Lambda/, 'the service group says what its rules admit')
  const userData = JSON.stringify(ofType('AWS::EC2::Instance')[0]![1].Properties?.UserData)
  t.match(userData, 'HOST=0.0.0.0')
  t.match(userData, 'STEWARD_BUDGETS_TOPIC_ARN=')
  t.match(userData, 'STEWARD_BUDGETS_NOTICES_TOPIC_ARN=')
  t.match(userData, ':hpc-steward-campus-notices', 'the notices topic, by the name the BudgetAlerts construct gives it')
})

t.test('least privilege: no * action; Budgets on the budgets ARNs; Resource * only where AWS requires it; every action in the docs', async (t) => {
  const denies = statements.filter((s) => s.Effect === 'Deny').flatMap(actionsOf).sort()
  t.same([...new Set(denies)], ['sns:Publish', 'sqs:*'], 'the only denies are the TLS-only guards of the queues and topics')
  const sid = (id: string) => statements.find((s) => s.Sid === id)
  t.same(sid('ManageBudgets')?.Resource, names.map(budgetArn))
  t.same(actionsOf(sid('ManageBudgets')!), ['budgets:ViewBudget', 'budgets:ModifyBudget'])
  t.same(sid('ReadBudgets')?.Resource, names.map(budgetArn))
  t.match(JSON.stringify(sid('PublishNotices')?.Resource), /:sns:.*:hpc-steward-campus-notices"/, 'the service publishes its own notices to the notices topic only')
  t.same(actionsOf(sid('PublishNotices')!), ['sns:Publish'])
  t.match(JSON.stringify(sid('Notify')?.Resource), /^\{"Ref":"BudgetAlertsNoticeTopic[0-9A-F]+"\}$/, 'Publish to the notices topic only')
  t.match(JSON.stringify(sid('VpcCreate')?.Resource), /subnet\/subnet-0123456789abcdef0.*subnet\/subnet-0fedcba9876543210.*security-group\/",\{"Fn::GetAtt":\["BudgetAlertsSg/)
  t.match(JSON.stringify(sid('ReadPolicyAndToken')?.Resource), ':parameter/hpc-steward/campus/api-token')
  checkLeastPrivilege(t, synth, [
    'ce:GetCostAndUsage', 'ec2:DescribeNetworkInterfaces',
    'elasticloadbalancing:DescribeTags', 'elasticloadbalancing:DescribeTargetGroupAttributes', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth',
    'ssm:DescribeSessions',
    'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel',
  ])
})

t.test('a customer-managed key for the token: Decrypt on that key only', async (t) => {
  const key = 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab'
  const custom = await synthesized(withBudgets({ tokenKeyArn: key, tokenParameter: '/custom/token' }))
  const tpl = custom.template
  const decrypt = custom.ofType('AWS::IAM::Policy').flatMap(([, p]) => (p.Properties?.PolicyDocument as { Statement: Statement[] }).Statement).find((st) => st.Sid === 'TokenDecrypt')
  t.equal(decrypt?.Resource, key)
  tpl.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ STEWARD_API_TOKEN_PARAMETER: '/custom/token' }) } })
  t.same(Annotations.fromStack(custom.stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), [])
})

t.test('cdk-nag AwsSolutions: no unsuppressed finding', async (t) => {
  t.same(Annotations.fromStack(stack).findError('*', Match.stringLikeRegexp('AwsSolutions-.*')), [])
  t.same(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('AwsSolutions-.*')), [])
})

t.test('bad budgetAlerts configs name the field', async (t) => {
  const problems = (extra: Record<string, unknown>) => problemsOf((c) => { firstCluster(c).budgetAlerts = extra })
  t.match(await problems({}), [/^clusters\[0\]\.budgetAlerts\.budgetNames: is required/])
  t.match(await problems({ budgetNames: ['a:b'] }), [/^clusters\[0\]\.budgetAlerts\.budgetNames\[0\]: must be an AWS budget name/])
  t.match(await problems({ budgetNames: ['x/action/y', 'b', 'b'] }), [/budgetNames\[0\]: "x\/action\/y" contains "\/action\/"/, /budgetNames\[2\]: "b" is listed twice/])
  t.match(await problems({ budgetNames: ['b'], tokenKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/abc' }), [/tokenKeyArn: must be a key of account 123456789012 in eu-west-1/])
  t.match(await problems({ budgetNames: ['b'], tokenParameter: 'no-slash' }), [/tokenParameter: must be an SSM parameter name/])
})

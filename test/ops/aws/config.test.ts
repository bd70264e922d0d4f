import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { clusterTargets, readDeployConfig } from '../../../ops/aws/config.js'
import { ROOT, firstCluster, problemsOf, writeFixture } from './support.js'

t.test('the fixture and the example config are accepted', async (t) => {
  t.same(await problemsOf(() => {}), [])
  const example = await clusterTargets(join(ROOT, 'ops', 'aws', 'deploy.example.yaml'))
  t.equal(example[0]?.cluster.name, 'campus')
})

t.test('each bad field is named, all at once', async (t) => {
  t.match(await problemsOf((c) => { delete (firstCluster(c).vpc as Record<string, unknown>).id }), [/^clusters\[0\]\.vpc\.id: is required/])
  t.match(await problemsOf((c) => { delete firstCluster(c).vpc }), [/^clusters\[0\]\.vpc: is required/])
  t.match(await problemsOf((c) => { (firstCluster(c).vpc as Record<string, unknown>).id = 'vpc-xyz' }), [/^clusters\[0\]\.vpc\.id: must be a VPC id/])
  t.match(await problemsOf((c) => {
    ((firstCluster(c).loginPools as Record<string, unknown>[])[1] as Record<string, unknown>).targetGroupArn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/login'
  }), [/^clusters\[0\]\.loginPools\[1\]\.targetGroupArn: must be a target group ARN/])
  t.match(await problemsOf((c) => { firstCluster(c).service = { store: { type: 'rds', instanceClass: 'BAD' } } }), [/^clusters\[0\]\.service\.store\.instanceClass: must be an RDS class/])
  t.match(await problemsOf((c) => { firstCluster(c).alarmTopicArn = 'arn:aws:sns:eu-west-1:12345:x' }), [/^clusters\[0\]\.alarmTopicArn: must be an SNS topic ARN/])
  t.match(await problemsOf((c) => { c.account = '1234' }), [/^account: must be a 12-digit AWS account id/])
  t.match(await problemsOf((c) => { firstCluster(c).logRetentionDays = 31 }), [/^clusters\[0\]\.logRetentionDays: must be one of 1, 3/])
  t.match(await problemsOf((c) => { firstCluster(c).vpcId = 'vpc-0123456789abcdef0' }), [/^clusters\[0\]\.vpcId: is not a known field/])
  const two = await problemsOf((c) => { c.region = 'mars'; (firstCluster(c).controller as Record<string, unknown>).hostKey = 'MD5:aa' })
  t.equal(two.length, 2, two.join('\n'))
})

t.test('unknown clusters: not in the config, or not the spec\'s cluster', async (t) => {
  t.same(await problemsOf(() => {}, ['physics']), ['cluster: unknown cluster "physics" (the config has campus)'])
  t.match(await problemsOf((c) => { firstCluster(c).name = 'physics' }), [/^clusters\[0\]\.name: unknown cluster "physics": the spec spec\.yaml is cluster "campus"/])
  t.match(await problemsOf((c) => { c.clusters = [firstCluster(c), firstCluster(c)] }), [/^clusters\[1\]\.name: cluster "campus" is listed twice/])
})

t.test('pools and the spec agree', async (t) => {
  t.match(await problemsOf((c) => {
    ((firstCluster(c).loginPools as Record<string, unknown>[])[1] as Record<string, unknown>).targetGroupArn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/other/0123456789abcdef'
  }), [/^clusters\[0\]\.loginPools\[1\]\.targetGroupArn: differs from the spec's/])
  t.match(await problemsOf((c) => {
    ((firstCluster(c).loginPools as Record<string, unknown>[])[0] as { nlb: Record<string, unknown> }).nlb.targetType = 'instance'
  }), [/^clusters\[0\]\.loginPools\[0\]\.nlb\.targetType: the spec's pool has targetType ip/])
  t.match(await problemsOf((c) => { firstCluster(c).spec = 'missing.yaml' }), [/^clusters\[0\]\.spec: .*missing\.yaml: no such file/])
  t.match(await problemsOf((_c, s) => { (s.cluster as Record<string, unknown>).name = 'Bad Name' }), [/^clusters\[0\]\.spec: /])
})

t.test('an unreadable or non-YAML file', async (t) => {
  t.throws(() => readDeployConfig('/nonexistent/deploy.yaml'), { name: 'DeployConfigError', problems: ['(file): cannot read (ENOENT)'] })
  const file = writeFixture()
  writeFileSync(file, 'clusters: [\n')
  t.throws(() => readDeployConfig(file), { name: 'DeployConfigError', problems: [/^\(file\): not YAML\/JSON/] })
})

t.test('the app: a bad config exits 2 with the field, no stack trace; a good one synthesizes', async (t) => {
  const app = join(ROOT, 'dist', 'ops', 'aws', 'app.js')
  t.ok(existsSync(app), `${app} exists (npm run build)`)
  const isolated = spawnSync('unshare', ['-n', 'true']).status === 0
  // No network either: in a network namespace of its own (no interface up) where unshare works (root on Linux).
  const run = (config: string) => spawnSync(isolated ? 'unshare' : process.execPath, isolated ? ['-n', process.execPath, app] : [app], {
    encoding: 'utf8', timeout: 120_000,
    // No AWS credentials, region or profile: synthesis must not need them.
    env: { PATH: process.env.PATH, HOME: '/nonexistent', STEWARD_DEPLOY_CONFIG: config, CDK_OUTDIR: join(config, '..', 'out') },
  })
  const missingVpc = run(writeFixture((c) => { delete (firstCluster(c).vpc as Record<string, unknown>).id }))
  t.equal(missingVpc.status, 2)
  t.match(missingVpc.stderr, /clusters\[0\]\.vpc\.id: is required/)
  t.notOk(missingVpc.stderr.split('\n').some((line) => line.trimStart().startsWith('at ')), 'no stack trace')
  const badArn = run(writeFixture((c) => { ((firstCluster(c).loginPools as Record<string, unknown>[])[1] as Record<string, unknown>).targetGroupArn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x' }))
  t.equal(badArn.status, 2)
  t.match(badArn.stderr, /clusters\[0\]\.loginPools\[1\]\.targetGroupArn: must be a target group ARN/)
  t.notOk(badArn.stderr.split('\n').some((line) => line.trimStart().startsWith('at ')), 'no stack trace')
  const bad = spawnSync(process.execPath, [app], { encoding: 'utf8', env: { PATH: process.env.PATH, STEWARD_DEPLOY_CONFIG: writeFixture(), CDK_CONTEXT_JSON: JSON.stringify({ cluster: 'physics' }) } })
  t.equal(bad.status, 2)
  t.match(bad.stderr, 'cluster: unknown cluster "physics"')
  if (!isolated) t.comment('unshare -n is not available: the app ran with the network')
  const config = writeFixture()
  const good = run(config)
  t.equal(good.status, 0, good.stderr)
  t.match(good.stderr, /synthesized HpcSteward-campus/)
  t.ok(existsSync(join(config, '..', 'out', 'HpcSteward-campus.template.json')))
})

/**
 * Session Manager Run As against the emulator: the preferences document is created, left
 * alone when the same, and updated (new default version) when the spec changes; the
 * sso-admin check gives each user a verdict and says what to change; IAM principals get
 * the SSMSessionRunAs tag only when it differs.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { DescribeDocumentCommand, GetDocumentCommand, SSMClient } from '@aws-sdk/client-ssm'
import { SSOAdminClient } from '@aws-sdk/client-sso-admin'
import { CreateRoleCommand, CreateUserCommand, IAMClient, ListRoleTagsCommand } from '@aws-sdk/client-iam'
import { randomBytes } from 'node:crypto'
import { startAwsEmulator } from '../support/aws/emulator.js'
import { applySessionPreferences } from '../../src/adapters/aws/session-preferences.js'
import { readRunAsSource, syncRunAsTags } from '../../src/adapters/aws/run-as.js'
import { sessionPreferencesContent, specSessionPreferences } from '../../src/sessions/preferences.js'
import { checkRunAs } from '../../src/identity/run-as-check.js'
import type { ClusterSpec } from '../../src/spec/schema.js'
import type { DirectoryUser } from '../../src/identity/source.js'

const aws = await startAwsEmulator()
t.teardown(() => aws.close())
const campus = parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('the preferences document: created, unchanged, then a new default version', async (t) => {
  const ssm = new SSMClient(aws.clientConfig)
  const name = `HPCSteward-test-${randomBytes(3).toString('hex')}`
  const spec: ClusterSpec = { ...campus, sessions: { ssm: { idleTimeoutMinutes: 15, maxDurationMinutes: 600 } }, identity: { source: 'ldap', ldap: { url: 'ldap://127.0.0.1', baseDn: 'dc=x' }, uidRange: { from: 300_000, to: 300_100 }, groups: [], runAs: { defaultUser: 'ssm-user' } } }
  const content = specSessionPreferences(spec)!
  t.match(content, { inputs: { runAsEnabled: true, runAsDefaultUser: 'ssm-user', idleSessionTimeout: '15', maxSessionDuration: '600', shellProfile: { linux: /exec \/bin\/bash -l/ } } })
  t.same(await applySessionPreferences(content, ssm, name), { action: 'created', version: '1' })
  t.same(await applySessionPreferences(content, ssm, name), { action: 'unchanged', version: '1' })
  const next = sessionPreferencesContent({ cluster: 'campus', runAsDefaultUser: 'ssm-user', ssm: { idleTimeoutMinutes: 30 } })
  t.same(await applySessionPreferences(next, ssm, name), { action: 'updated', version: '2' })
  const described = await ssm.send(new DescribeDocumentCommand({ Name: name }))
  t.equal(described.Document?.DefaultVersion, '2')
  const stored = await ssm.send(new GetDocumentCommand({ Name: name }))
  t.same(JSON.parse(stored.Content!), next)
  t.same(await applySessionPreferences(next, ssm, name), { action: 'unchanged', version: '2' })
})

t.test('the access-control attribute: per-user verdicts and what to change', async (t) => {
  const arn = 'arn:aws:sso:::instance/ssoins-0123456789abcdef'
  const sso = new SSOAdminClient(aws.clientConfig)
  t.equal(await readRunAsSource(arn, sso), undefined, 'none configured')
  aws.ssoAdmin.setAttributes(arn, [{ Key: 'SSMSessionRunAs', Value: { Source: ['${path:userName}'] } }])
  t.equal(await readRunAsSource(arn, sso), '${path:userName}')
  const user = (id: string, userName: string, nick?: string): DirectoryUser => ({ id, userName, attributes: { UserName: userName, ...(nick ? { NickName: nick } : {}) } })
  const dir = new Map([['u1', user('u1', 'zed', 'zed')], ['u2', user('u2', 'Ann.Lee@uni.edu', 'ann_lee')]])
  const spec: ClusterSpec = {
    ...campus,
    identity: { source: 'identity-center', identityCenter: { identityStoreId: 'd-0123456789', region: 'eu-west-1' }, uidRange: { from: 300_000, to: 300_100 }, groups: [] },
    users: [...campus.users, { name: 'zed', uid: 300_000, source: 'identity-center', externalId: 'u1' }, { name: 'ann_lee', uid: 300_001, source: 'identity-center', externalId: 'u2' }],
  }
  const local = checkRunAs(spec, '${path:userName}', dir)
  t.match(local.users, [{ user: 'zed', ok: true }, { user: 'ann_lee', ok: false, carries: 'Ann.Lee@uni.edu', fix: /sessions would run as "Ann.Lee@uni.edu" \(\$\{path:userName\}\) but the POSIX user is "ann_lee": store each user's POSIX name in a user attribute/ }])
  const byAttribute = checkRunAs({ ...spec, identity: { ...spec.identity!, username: 'attribute:NickName' } }, '${path:userName}', dir)
  t.match(byAttribute.attribute, { ok: false, message: /SSMSessionRunAs comes from \$\{path:userName\}, but POSIX names come from \$\{path:nickName\}/ })
  const right = checkRunAs({ ...spec, identity: { ...spec.identity!, username: 'attribute:NickName' } }, '${path:nickName}', dir)
  t.ok(right.attribute.ok && right.users.every((u) => u.ok))
  t.match(checkRunAs(spec, undefined, dir).attribute, { ok: false, message: /has no access-control attribute SSMSessionRunAs/ })
})

t.test('IAM principals get the SSMSessionRunAs tag, only when it differs', async (t) => {
  const iam = new IAMClient({ ...aws.clientConfig, region: 'us-east-1' })
  const suffix = randomBytes(3).toString('hex')
  const user = (await iam.send(new CreateUserCommand({ UserName: `alice-${suffix}` }))).User!.Arn!
  const role = (await iam.send(new CreateRoleCommand({ RoleName: `bob-${suffix}`, AssumeRolePolicyDocument: '{"Version":"2012-10-17","Statement":[]}' }))).Role!.Arn!
  const mappings = [{ principal: user, user: 'alice' }, { principal: role, user: 'bob' }]
  t.match(await syncRunAsTags(mappings, false, iam), [{ ok: false, has: undefined }, { ok: false }], 'a check changes nothing')
  t.match(await syncRunAsTags(mappings, true, iam), [{ ok: true, changed: true }, { ok: true, changed: true }])
  t.match(await syncRunAsTags(mappings, true, iam), [{ ok: true, changed: false, has: 'alice' }, { ok: true, changed: false, has: 'bob' }])
  t.same((await iam.send(new ListRoleTagsCommand({ RoleName: `bob-${suffix}` }))).Tags, [{ Key: 'SSMSessionRunAs', Value: 'bob' }])
})

import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults apply when nothing is set', async (t) => {
  t.same(loadConfig({}), { port: 8080, host: '127.0.0.1', logLevel: 'info', dataDir: './data', databaseUrl: undefined, loginNodes: undefined, publishPolicy: false, budgetCheckMinutes: 15, mailFrom: undefined, budgetsTopicArn: undefined, noticesTopicArn: undefined })
})

t.test('budget checks and the From: of budget e-mails', async (t) => {
  t.match(loadConfig({ STEWARD_BUDGET_CHECK_MINUTES: '0', STEWARD_MAIL_FROM: 'steward@example.edu' }), { budgetCheckMinutes: 0, mailFrom: 'steward@example.edu' })
  t.throws(() => loadConfig({ STEWARD_BUDGET_CHECK_MINUTES: '-1' }), /STEWARD_BUDGET_CHECK_MINUTES/)
  t.throws(() => loadConfig({ STEWARD_BUDGET_CHECK_MINUTES: '9999' }), /STEWARD_BUDGET_CHECK_MINUTES/)
  t.throws(() => loadConfig({ STEWARD_MAIL_FROM: 'a@b.c\nBcc: x@y.z' }), /STEWARD_MAIL_FROM/)
})

t.test('login-node access and policy publishing', async (t) => {
  t.same(loadConfig({ STEWARD_LOGIN_IDENTITY: '/etc/steward/login_ed25519', STEWARD_PUBLISH_POLICY: '1' }).loginNodes, { user: 'root', identity: '/etc/steward/login_ed25519', haproxyDir: '/etc/haproxy', hostKeys: {} })
  t.same(loadConfig({ STEWARD_LOGIN_IDENTITY: '/k', STEWARD_LOGIN_HOST_KEYS: '{"login-1": "SHA256:' + 'a'.repeat(43) + '"}' }).loginNodes?.hostKeys, { 'login-1': `SHA256:${'a'.repeat(43)}` })
  t.throws(() => loadConfig({ STEWARD_LOGIN_IDENTITY: '/k', STEWARD_LOGIN_HOST_KEYS: '{"login-1": "md5:x"}' }), /STEWARD_LOGIN_HOST_KEYS/)
  t.equal(loadConfig({ STEWARD_PUBLISH_POLICY: '1' }).publishPolicy, true)
  t.throws(() => loadConfig({ STEWARD_LOGIN_USER: 'Root;x' }), /STEWARD_LOGIN_USER/)
  t.throws(() => loadConfig({ STEWARD_HAPROXY_DIR: 'relative' }), /STEWARD_HAPROXY_DIR/)
  t.throws(() => loadConfig({ STEWARD_PUBLISH_POLICY: 'yes' }), /STEWARD_PUBLISH_POLICY/)
})

t.test('a bad variable stops start-up naming it', async (t) => {
  t.throws(() => loadConfig({ PORT: 'http' }), { name: 'ConfigError', message: /PORT/ })
  t.throws(() => loadConfig({ PORT: '70000' }), ConfigError)
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/)
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/)
})

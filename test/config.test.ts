import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.js'

t.test('defaults apply when nothing is set', async (t) => {
  t.same(loadConfig({}), { port: 8080, host: '127.0.0.1', logLevel: 'info', dataDir: './data', databaseUrl: undefined })
})

t.test('a bad variable stops start-up naming it', async (t) => {
  t.throws(() => loadConfig({ PORT: 'http' }), { name: 'ConfigError', message: /PORT/ })
  t.throws(() => loadConfig({ PORT: '70000' }), ConfigError)
  t.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL/)
  t.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/)
})

import t from 'tap'
import { ControllersConfigError, parseControllers } from '../../src/apply/controllers.js'

t.test('an unset STEWARD_CONTROLLERS puts every cluster on the sandbox', async (t) => {
  t.same(parseControllers(undefined), {})
})

t.test('a valid configuration is accepted', async (t) => {
  const text = JSON.stringify({ campus: 'sandbox', hyperpod: { url: 'ssh://root@10.0.0.5:22', identity: '/etc/steward/key', healthCheck: ['/usr/local/bin/check'] } })
  t.same(Object.keys(parseControllers(text)), ['campus', 'hyperpod'])
})

t.test('bad JSON, a bad URL or an unknown field is a clear error', async (t) => {
  t.throws(() => parseControllers('{'), ControllersConfigError)
  t.throws(() => parseControllers(JSON.stringify({ c: { url: 'ssh://root@host:99999', identity: '/k' } })), /bad port/)
  t.throws(() => parseControllers(JSON.stringify({ c: { url: 'ssh://root@host', identity: '/k', shell: 'sh -c' } })), ControllersConfigError)
  t.throws(() => parseControllers(JSON.stringify({ 'Bad Name': 'sandbox' })), ControllersConfigError)
})

t.test('a cluster without a controller entry is refused unless the sandbox runs it', async (t) => {
  const { profileFromConfig } = await import('../../src/apply/controllers.js')
  const { NoControllerError } = await import('../../src/apply/profile.js')
  t.throws(() => profileFromConfig({}, 'no-such-cluster'), NoControllerError)
  t.throws(() => profileFromConfig({}, 'no-such-cluster'), /STEWARD_CONTROLLERS/)
})

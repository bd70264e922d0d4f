import t from 'tap'
import { ControllersConfigError, parseControllers } from '../../src/apply/controllers.js'

t.test('an unset STEWARD_CONTROLLERS puts every cluster on the sandbox', async (t) => {
  t.same(parseControllers(undefined), {})
})

const hostKey = 'SHA256:WhPyeq5Yzsr50klziJI1vdSML8h5IEag9dxemEPVDV8'

t.test('a valid configuration is accepted', async (t) => {
  const text = JSON.stringify({ campus: 'sandbox', hyperpod: { url: 'ssh://root@10.0.0.5:22', identity: '/etc/steward/key', hostKey, healthCheck: ['/usr/local/bin/check'] } })
  t.same(Object.keys(parseControllers(text)), ['campus', 'hyperpod'])
})

t.test('an SSH controller needs a pinned host key fingerprint of the ssh-keygen -lf form', async (t) => {
  t.throws(() => parseControllers(JSON.stringify({ c: { url: 'ssh://root@host', identity: '/k' } })), /STEWARD_CONTROLLERS.*hostKey/)
  t.throws(() => parseControllers(JSON.stringify({ c: { url: 'ssh://root@host', identity: '/k', hostKey: 'MD5:aa:bb' } })), /STEWARD_CONTROLLERS\/c\/hostKey/)
})

t.test('bad JSON, a bad URL or an unknown field is a clear error', async (t) => {
  t.throws(() => parseControllers('{'), ControllersConfigError)
  t.throws(() => parseControllers(JSON.stringify({ c: { url: 'ssh://root@host:99999', identity: '/k', hostKey } })), /bad port/)
  t.throws(() => parseControllers(JSON.stringify({ c: { url: 'ssh://root@host', identity: '/k', hostKey, shell: 'sh -c' } })), ControllersConfigError)
  t.throws(() => parseControllers(JSON.stringify({ 'Bad Name': 'sandbox' })), ControllersConfigError)
})

t.test('a cluster without a controller entry is refused unless the sandbox runs it', async (t) => {
  const { profileFromConfig } = await import('../../src/apply/controllers.js')
  const { NoControllerError } = await import('../../src/apply/profile.js')
  t.throws(() => profileFromConfig({}, 'no-such-cluster'), NoControllerError)
  t.throws(() => profileFromConfig({}, 'no-such-cluster'), /STEWARD_CONTROLLERS/)
})

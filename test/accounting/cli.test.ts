import t from 'tap'
import { fileURLToPath } from 'node:url'
import { applyCommand, importCommand, planCommand, SshUnavailableError } from '../../src/cli/accounting.js'
import { ControllerUrlError, parseControllerUrl } from '../../src/adapters/controller-url.js'
import { UsageError } from '../../src/cli/usage.js'

const campus = fileURLToPath(new URL('./fixtures/specs/campus.yaml', import.meta.url))

t.test('controller addresses are ssh://user@host[:port], allowlisted', async (t) => {
  t.same(parseControllerUrl('ssh://slurm@head-1'), { user: 'slurm', host: 'head-1', port: 22 })
  t.same(parseControllerUrl('ssh://admin@10.1.0.10:2222'), { user: 'admin', host: '10.1.0.10', port: 2222 })
  for (const bad of ['head-1', 'ssh://head-1', 'ssh://a;b@h', 'ssh://root@h:99999', 'http://u@h', 'ssh://u@h/x']) {
    t.throws(() => parseControllerUrl(bad), ControllerUrlError, bad)
  }
})

t.test('the commands refuse to guess which cluster to talk to', async (t) => {
  await t.rejects(planCommand([campus]), UsageError)
  await t.rejects(planCommand([campus, '--sandbox', '--controller', 'ssh://u@h']), UsageError)
  await t.rejects(planCommand([campus, '--controller', 'ssh://u@h']), UsageError, 'a controller needs --identity')
  await t.rejects(planCommand([campus, '--controller', 'nonsense', '--identity', 'k']), UsageError)
  await t.rejects(applyCommand([campus, '--controller', 'ssh://slurm@head-1:22', '--identity', '/root/.ssh/id']), SshUnavailableError,
    'the flag shape is accepted; the SSH executor lands with the service issue')
})

t.test('plan and apply take exactly one spec file; import needs --out', async (t) => {
  await t.rejects(planCommand(['--sandbox']), UsageError)
  await t.rejects(applyCommand([campus, campus, '--sandbox']), UsageError)
  await t.rejects(importCommand(['--sandbox']), UsageError)
  await t.rejects(importCommand(['--sandbox', '--out', campus]), UsageError, 'an existing file is not overwritten without --force')
})

import t from 'tap'
import { fileURLToPath } from 'node:url'
import { applyCommand, importCommand } from '../../src/cli/accounting.js'
import { planCommand } from '../../src/cli/plan.js'
import { ExecError } from '../../src/adapters/executor.js'
import { UsageError } from '../../src/cli/usage.js'

const campus = fileURLToPath(new URL('./fixtures/specs/campus.yaml', import.meta.url))

t.test('the commands refuse to guess which cluster to talk to', async (t) => {
  await t.rejects(planCommand([campus]), UsageError)
  await t.rejects(planCommand([campus, '--sandbox', '--controller', 'ssh://u@h']), UsageError)
  await t.rejects(planCommand([campus, '--controller', 'ssh://u@h']), UsageError, 'a controller needs --identity')
  await t.rejects(planCommand([campus, '--controller', 'nonsense', '--identity', 'k']), UsageError)
  await t.rejects(planCommand([campus, '--controller', 'ssh://a;b@head-1', '--identity', 'k']), UsageError, 'names are allowlisted')
  await t.rejects(planCommand([campus, '--controller', 'ssh://u@h', '--identity', 'k']), { name: 'UsageError', message: /--host-key SHA256/ }, 'a controller needs a pinned host key')
  await t.rejects(planCommand([campus, '--controller', 'ssh://u@h', '--identity', 'k', '--host-key', 'aa:bb']), { name: 'UsageError', message: /not a host key fingerprint/ })
  await t.rejects(applyCommand([campus, '--controller', 'ssh://slurm@head-1:22', '--identity', '/nonexistent/key', '--host-key', `SHA256:${'A'.repeat(43)}`, '--yes']), ExecError,
    'a real controller is reached over SSH; an unreadable key is a connection error')
})

t.test('plan and apply take exactly one spec file; import needs --out', async (t) => {
  await t.rejects(planCommand(['--sandbox']), UsageError)
  await t.rejects(applyCommand([campus, campus, '--sandbox']), UsageError)
  await t.rejects(importCommand(['--sandbox']), UsageError)
  await t.rejects(importCommand(['--sandbox', '--out', campus]), UsageError, 'an existing file is not overwritten without --force')
})

/**
 * `steward plan` loads the spec while the accounting reads run; what it reports is still
 * decided as if the spec came first: a bad spec wins over a missing target.
 */
import t from 'tap'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { planCommand } from '../../src/cli/plan.js'
import { UsageError } from '../../src/cli/usage.js'

const campus = fileURLToPath(new URL('../../examples/campus.yaml', import.meta.url))

t.test('a spec that cannot be read is reported before a missing target', async (t) => {
  const err = await planCommand([join(fileURLToPath(new URL('.', import.meta.url)), 'no-such-spec.yaml')]).catch((e: unknown) => e)
  t.notOk(err instanceof UsageError && /say which cluster/.test(err.message), `the spec's error, not the target's: ${String(err)}`)
  t.match(String(err), /no-such-spec\.yaml/)
})

t.test('a readable spec without a target is the usage error naming the targets', async (t) => {
  await t.rejects(planCommand([campus]), { name: 'UsageError', message: /say which cluster/ })
})

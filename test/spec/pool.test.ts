/** The worker pool behind /v1/validate and /v1/render (runs the built worker in dist/). */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createSpecPool, SpecPoolBusyError, SpecPoolTimeoutError } from '../../src/spec/pool.js'
import { SpecInvalidError, SpecUnreadableError, type ValidationResult } from '../../src/spec/problems.js'
import { aliasBombYaml, deepJson } from '../../bench/hostile.js'

const campusText = readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')

t.test('validates and renders YAML and JSON in a worker', async (t) => {
  const pool = createSpecPool()
  t.teardown(() => pool.close())
  t.same(JSON.parse(await pool.run('validate', 'yaml', campusText)), { ok: true, errors: [] })
  const campusJson = JSON.stringify((await import('yaml')).parse(campusText))
  const rendered = JSON.parse(await pool.run('render', 'json', campusJson)) as { files: Array<{ name: string }> }
  t.equal(rendered.files[0]?.name, 'slurm.conf')
})

t.test('errors come back as the same named errors, with their problems', async (t) => {
  const pool = createSpecPool()
  t.teardown(() => pool.close())
  const bad = campusText.replace('name: nlp\n    description', 'name: "NLP"\n    description')
  const result = JSON.parse(await pool.run('validate', 'yaml', bad)) as ValidationResult
  t.equal(result.ok, false)
  const invalid = await pool.run('render', 'yaml', bad).catch((err: unknown) => err)
  t.type(invalid, SpecInvalidError)
  t.match(invalid, { kind: 'structure', problems: [{ path: '/departments/0/name' }] })
  await t.rejects(pool.run('validate', 'yaml', aliasBombYaml()), SpecUnreadableError)
  await t.rejects(pool.run('validate', 'json', deepJson()), { name: 'SpecUnreadableError', message: /nested more than 64 levels/ })
  await t.rejects(pool.run('validate', 'json', '{"a":'), { name: 'SpecUnreadableError', message: /not valid JSON/ })
})

t.test('a full queue is refused at once with SpecPoolBusyError', async (t) => {
  const pool = createSpecPool({ size: 1, maxQueue: 1 })
  t.teardown(() => pool.close())
  const running = pool.run('validate', 'yaml', campusText)
  const queued = pool.run('validate', 'yaml', campusText)
  await t.rejects(pool.run('validate', 'yaml', campusText), SpecPoolBusyError)
  t.match(JSON.parse(await running), { ok: true })
  t.match(JSON.parse(await queued), { ok: true })
})

t.test('a job over its time limit stops its worker, and the next job runs in a new one', async (t) => {
  const pool = createSpecPool({ timeoutMs: 1 })
  t.teardown(() => pool.close())
  await t.rejects(pool.run('validate', 'yaml', campusText), { name: 'SpecPoolTimeoutError', message: /longer than 1 ms to validate/ })
  // Without a replacement worker this job would wait for ever; it gets one, and its own time limit.
  await t.rejects(pool.run('validate', 'yaml', campusText), SpecPoolTimeoutError)
})

/**
 * The fast YAML path must read every spec exactly as the `yaml` library does, and hand
 * everything unusual (anchors, aliases, directives, errors) back to it.
 */
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument } from 'yaml'
import { parseYamlFast } from '../../src/spec/yaml-fast.js'
import { parseSpecText } from '../../src/spec/load.js'
import { SpecUnreadableError } from '../../src/spec/problems.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const exact = (text: string): unknown => parseDocument(text, { uniqueKeys: true }).toJS()

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return yamlFiles(path)
    return name.endsWith('.yaml') ? [path] : []
  })
}

t.test('every spec in the repository reads the same on both paths', async (t) => {
  const files = [join(root, 'examples', 'campus.yaml'), ...yamlFiles(join(root, 'test'))]
  t.ok(files.length >= 5)
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    const fast = parseYamlFast(text)
    t.ok(fast, `${file} takes the fast path`)
    t.same(fast?.value, exact(text), file)
  }
})

// Plain scalars that YAML 1.1 or js-yaml's default schema read differently from YAML 1.2 core.
const scalars = [
  'yes', 'no', 'on', 'off', 'y', 'n', 'True', 'FALSE', '~', 'null', 'Null', '', '0', '-12', '+7', '007', '0o17', '0x1F', '-0x1F', '0b101',
  '1_000', '1:30', '1-00:00:00', '60', '1.5', '.5', '1.', '1e3', '-1.5E-2', '.inf', '-.Inf', '.nan', '2001-12-14', '12:00:00', 'UNLIMITED',
  '"quoted 60"', "'single'", '<<', '=', '1__0', '0o8', '0xG', '+.5', '1e', 'e3',
]
for (const scalar of scalars) {
  t.test(`the plain scalar ${JSON.stringify(scalar)} reads as YAML 1.2 core does`, async (t) => {
    const text = `a: ${scalar}\nb: [${scalar || '~'}]\n`
    const fast = parseYamlFast(text)
    t.ok(fast)
    t.same(fast?.value, exact(text))
  })
}

const fallbacks: { name: string; text: string }[] = [
  { name: 'an anchor and an alias', text: 'a: &x [1, 2]\nb: *x\n' },
  { name: 'a merge key with an alias', text: 'base: &b {x: 1}\nc:\n  <<: *b\n' },
  { name: 'a %YAML directive', text: '%YAML 1.1\n---\na: yes\n' },
  { name: 'a duplicate key', text: 'a: 1\na: 2\n' },
  { name: 'a syntax error', text: 'a: [1,\n' },
  { name: 'an unknown tag', text: 'a: !custom 1\n' },
  { name: 'nesting deeper than 100', text: `${'['.repeat(150)}${']'.repeat(150)}` },
  { name: 'two documents', text: 'a: 1\n---\nb: 2\n' },
]
for (const c of fallbacks) {
  t.test(`${c.name} is left to the yaml library`, async (t) => {
    t.equal(parseYamlFast(c.text), undefined)
  })
}

t.test('errors keep the yaml library messages with their positions', async (t) => {
  t.throws(() => parseSpecText('a: 1\na: 2\n', 'x.yaml'), SpecUnreadableError)
  try {
    parseSpecText('apiVersion: steward/v1\ncluster: [1,\n', 'x.yaml')
    t.fail('no error')
  } catch (err) {
    t.match((err as Error).message, /x\.yaml is not valid YAML or JSON: .*line/)
  }
})

t.test('a key over 1024 characters, a parse error for the yaml library, is refused by validation instead', async (t) => {
  const { validateSpec } = await import('../../src/spec/validate.js')
  const text = readFileSync(join(root, 'examples', 'campus.yaml'), 'utf8').replace('cluster:\n', `cluster:\n  ${'k'.repeat(1100)}: 1\n`)
  const value = parseSpecText(text)
  const result = validateSpec(value)
  t.equal(result.ok, false)
  t.ok(result.errors.some((e) => e.path === '/cluster' || e.path.startsWith('/cluster/k')), JSON.stringify(result.errors.map((e) => e.path)))
})

t.test('JSON reads through the fast path too', async (t) => {
  const text = JSON.stringify({ apiVersion: 'steward/v1', nodeGroups: [{ cpus: 8, x: null, y: true, z: 1.5 }] })
  t.same(parseYamlFast(text)?.value, JSON.parse(text))
})

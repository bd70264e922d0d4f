import t from 'tap'
import { readFileSync } from 'node:fs'
import { checkJsonNesting, checkYamlNesting, MAX_NESTING, valueDepth } from '../../src/spec/nesting.js'
import { parseSpecText } from '../../src/spec/load.js'
import { SpecUnreadableError } from '../../src/spec/problems.js'
import { aliasBombYaml, deepBlockYaml, deepJson } from '../../bench/hostile.js'

const campusText = readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')

t.test('ordinary YAML and JSON pass the nesting scan', async (t) => {
  for (const text of [
    campusText,
    JSON.stringify(JSON.parse(JSON.stringify(parseSpecText(campusText)))),
    'description: a[b and {c\nother: [1, [2, {x: "]]]"}]]\n',
    "note: it's [not] a list # comment with [[[[ \nq: '[[[['\n",
    `a: ${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}\n`,
    `${'  '.repeat(100)}a: 1\n`,
  ]) t.doesNotThrow(() => checkYamlNesting(text), text.slice(0, 40))
  t.doesNotThrow(() => checkJsonNesting(`{"a":"[[[[[[","b":${'['.repeat(MAX_NESTING - 1)}${']'.repeat(MAX_NESTING - 1)}}`))
})

t.test('flow nesting past the limit is refused with its line', async (t) => {
  t.throws(() => checkYamlNesting(`a: 1\nb: ${'['.repeat(MAX_NESTING + 1)}`), /nested more than 64 levels deep \(at line 2/)
  t.throws(() => checkJsonNesting(`{"a":${'['.repeat(MAX_NESTING)}`), /nested more than 64 levels/)
  t.throws(() => checkYamlNesting(`a: ${'{b: '.repeat(MAX_NESTING + 1)}`), SpecUnreadableError)
})

t.test('block nesting past the indentation limit is refused, compact entries included', async (t) => {
  t.throws(() => checkYamlNesting(deepBlockYaml(200)), /indented more than 256 columns at line 2/)
  t.throws(() => checkYamlNesting(`${' '.repeat(300)}a: 1\n`), /indented more than/)
})

t.test('parseSpecText refuses a YAML alias bomb with a clear message', async (t) => {
  t.throws(() => parseSpecText(aliasBombYaml(), 'bomb.yaml'), { name: 'SpecUnreadableError', message: /bomb.yaml expands YAML aliases \(\*name\) more than 100 times/ })
})

t.test('parseSpecText refuses a million levels of nesting at once, as JSON or YAML', async (t) => {
  t.throws(() => parseSpecText(deepJson(), 'deep.json'), { name: 'SpecUnreadableError', message: /deep.json is nested more than 64 levels deep/ })
  t.throws(() => parseSpecText(deepBlockYaml(), 'deep.yaml'), { name: 'SpecUnreadableError', message: /deep.yaml is indented more than 256 columns/ })
})

t.test('a self-referencing alias is refused, not followed for ever', async (t) => {
  t.throws(() => parseSpecText('a: &a [x, *a]\n'), SpecUnreadableError)
})

t.test('valueDepth counts levels without recursion and stops past the limit', async (t) => {
  t.equal(valueDepth({ a: [1, { b: 2 }] }), 3)
  t.equal(valueDepth('x'), 0)
  let deep: unknown = []
  for (let i = 0; i < 100_000; i++) deep = [deep]
  t.equal(valueDepth(deep), MAX_NESTING + 1)
})

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { quoteArg, quoteArgv, UnsafeArgumentError } from '../../src/adapters/shell-quote.js'

t.test('plain arguments are left as they are', async (t) => {
  t.equal(quoteArgv(['sacctmgr', '-i', 'add', 'user', 'alice,bob', 'account=nlp-smith']), 'sacctmgr -i add user alice,bob account=nlp-smith')
})

t.test('a real shell receives exactly the argv, whatever it contains', async (t) => {
  const nasty = ['a b', "it's", '$(touch /tmp/pwned)', '`id`', 'x;rm -rf /', '"q"', '\\', '\n', '*', '~', '', '!', '#c', '--']
  const out = execFileSync('sh', ['-c', `printf '%s\\0' ${quoteArgv(nasty)}`]).toString('utf8')
  t.same(out.split('\0').slice(0, -1), nasty)
})

t.test('a NUL byte or an empty argv is refused', async (t) => {
  t.throws(() => quoteArg('a\0b'), UnsafeArgumentError)
  t.throws(() => quoteArgv([]), UnsafeArgumentError)
})

t.test('a first word with = runs as a command, not as a variable assignment', async (t) => {
  const out = execFileSync('sh', ['-c', `${quoteArgv(['FOO=bar', 'echo', 'ran'])} 2>&1 || true`]).toString('utf8')
  t.notMatch(out, /^ran/m)
  t.match(out, /FOO=bar/)
})

/**
 * The CLI as a user runs it: the compiled `bin/steward.js` (built by `npm test` and
 * `npm ci`) in a child process, checking exit codes, output and files written.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createStore } from '../../src/store/index.js'
import { hashTokenSecret } from '../../src/auth/tokens.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const campus = join(root, 'examples', 'campus.yaml')

function steward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return stewardWith({}, ...args)
}

function stewardWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'steward.js'), ...args], { cwd: root, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

t.before(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first')
})

t.test('validate exits 0 for the campus example', async (t) => {
  const res = await steward('validate', campus)
  t.equal(res.code, 0, res.stderr)
})

t.test('validate --json prints ok and no errors', async (t) => {
  const res = await steward('validate', campus, '--json')
  t.same(JSON.parse(res.stdout), { ok: true, errors: [] })
})

t.test('validate exits 1 with one error per problem for a spec with errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-cli-'))
  const file = join(dir, 'bad.yaml')
  writeFileSync(file, readFileSync(campus, 'utf8')
    .replace('      - name: nlp\n', '      - name: "nlp\\nNodeName=evil"\n')
    .replace('nodeGroups: [a10g]', 'nodeGroups: [a10g, tpu]')
    .replace('description: Deep Learning Lab', 'description: "Deep # Learning"'))
  const res = await steward('validate', file, '--json')
  t.equal(res.code, 1)
  const body = JSON.parse(res.stdout) as { ok: boolean; errors: Array<{ path: string; severity: string }> }
  t.equal(body.ok, false)
  t.same(body.errors.map((e) => e.path).sort(), ['/departments/0/partitions/0/name', '/departments/1/partitions/0/nodeGroups/1', '/departments/2/description'])
  const out = join(dir, 'out')
  const render = await steward('render', file, '--out', out)
  t.equal(render.code, 1)
  t.notOk(existsSync(out), 'nothing is written')
})

t.test('validate exits 2 for a missing file or input that is not YAML', async (t) => {
  t.equal((await steward('validate', '/nonexistent/spec.yaml')).code, 2)
  const dir = mkdtempSync(join(tmpdir(), 'steward-cli-'))
  writeFileSync(join(dir, 'x.yaml'), 'a: [1,\n')
  const res = await steward('validate', join(dir, 'x.yaml'))
  t.equal(res.code, 2)
  t.match(res.stderr, /not valid YAML/)
})

t.test('render writes every file into a new directory', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'steward-cli-')), 'etc')
  const res = await steward('render', campus, '--out', out)
  t.equal(res.code, 0, res.stderr)
  t.same(readdirSync(out).sort(), ['cgroup.conf', 'gres.conf', 'pam_slurm_adopt.conf', 'provisioning_parameters.json', 'slurm.conf'])
})

t.test('an unknown command or flag is a usage error with exit 2', async (t) => {
  t.equal((await steward('frobnicate')).code, 2)
  t.equal((await steward('validate', campus, '--bogus')).code, 2)
  t.equal((await steward('render', campus)).code, 2)
})

t.test('token create binds department-admin and researcher tokens to an existing cluster; admin tokens are global', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-cli-'))
  const env = { STEWARD_DATA_DIR: dir }
  delete process.env.DATABASE_URL // this file's process only: the children use the SQLite store in `dir`
  t.equal((await stewardWith(env, 'token', 'create', '--role', 'researcher', '--user', 'ana')).code, 2, 'no --cluster')
  t.equal((await stewardWith(env, 'token', 'create', '--role', 'admin', '--cluster', 'campus')).code, 2, 'admin tokens take no --cluster')
  const missing = await stewardWith(env, 'token', 'create', '--role', 'researcher', '--user', 'ana', '--cluster', 'campus')
  t.equal(missing.code, 1)
  t.match(missing.stderr, /no cluster "campus"/)
  const store = await createStore({ dataDir: dir })
  t.teardown(() => store.close())
  await store.createCluster('campus', '')
  const made = await stewardWith(env, 'token', 'create', '--role', 'department-admin', '--department', 'nlp', '--cluster', 'campus')
  t.equal(made.code, 0, made.stderr)
  t.match(made.stderr, /on cluster campus/)
  t.match(await store.findTokenBySecretHash(hashTokenSecret(made.stdout.trim())), { role: 'department-admin', departments: ['nlp'], cluster: 'campus' })
})

t.test('validate exits 2 with a message for a YAML alias bomb and for a million levels of nesting', async (t) => {
  const { aliasBombYaml, deepJson } = await import('../../bench/hostile.js')
  const dir = mkdtempSync(join(tmpdir(), 'steward-cli-'))
  writeFileSync(join(dir, 'bomb.yaml'), aliasBombYaml())
  writeFileSync(join(dir, 'deep.json'), deepJson())
  const bomb = await steward('validate', join(dir, 'bomb.yaml'))
  t.equal(bomb.code, 2)
  t.match(bomb.stderr, /bomb\.yaml expands YAML aliases \(\*name\) more than 100 times/)
  t.notMatch(bomb.stderr, /\n {2,8}at /, 'no stack trace')
  const deep = await steward('validate', join(dir, 'deep.json'))
  t.equal(deep.code, 2)
  t.match(deep.stderr, /deep\.json is nested more than 64 levels deep/)
})

// What a command loads at start is the static import graph of the bundle (dist/cli/,
// scripts/bundle-cli.mjs): each command's modules must load only when it runs.
function staticGraph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen
  seen.add(file)
  const code = readFileSync(file, 'utf8')
  for (const m of code.matchAll(/^import\b[^"']*["']([^"']+)["']/gm)) {
    const target = m[1] ?? ''
    seen.add(target)
    if (target.startsWith('./')) staticGraph(join(root, 'dist', 'cli', target.slice(2)), seen)
  }
  return seen
}
const bundled = (files: Set<string>): string => [...files].filter((f) => f.startsWith('/')).map((f) => readFileSync(f, 'utf8')).join('\n')

t.test('--help loads no command, no spec parser, no renderer and no store', async (t) => {
  const graph = staticGraph(join(root, 'dist', 'cli', 'main.mjs'))
  const code = bundled(graph)
  for (const marker of ['Handlebars', 'TypeCompiler', 'js-yaml', 'parseDocument']) t.notOk(code.includes(marker), `${marker} is not loaded`)
  for (const dep of ['better-sqlite3', 'pg', 'node-ssh', 'fastify']) t.notOk(graph.has(dep), `${dep} is not imported`)
  const res = await steward('--help')
  t.equal(res.code, 0)
  t.match(res.stdout, /Usage: steward <command>/)
})

t.test('validate loads neither the renderer nor the store, SSH or the service', async (t) => {
  const main = readFileSync(join(root, 'dist', 'cli', 'main.mjs'), 'utf8')
  const chunk = /validate: async \(\) => \(await import\("\.\/([^"]+)"\)\)/.exec(main)?.[1]
  t.ok(chunk, 'validate is imported when it runs')
  const graph = staticGraph(join(root, 'dist', 'cli', chunk ?? 'missing'))
  t.notOk(bundled(graph).includes('Handlebars'), 'Handlebars is not loaded')
  for (const dep of ['better-sqlite3', 'pg', 'node-ssh', 'fastify', 'handlebars']) t.notOk(graph.has(dep), `${dep} is not imported`)
})

t.test('a name of Object.prototype is an unknown command, not a crash', async (t) => {
  const res = await steward('toString')
  t.equal(res.code, 2)
  t.match(res.stderr, /unknown command "toString"/)
})

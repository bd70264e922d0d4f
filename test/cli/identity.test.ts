/**
 * `steward identity sync FILE` as a user runs it (the compiled CLI in a child process)
 * against the emulated Identity Store: --dry-run shows the summary and the diff and writes
 * nothing; a sync rewrites the file; a second one has nothing to change; a failing
 * directory exits 1 and leaves the file as it was.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { startAwsEmulator } from '../support/aws/emulator.js'
import { createStore } from '../../src/store/index.js'
import { createRevisionService } from '../../src/revisions/service.js'
import { seedCluster } from '../../src/revisions/seed.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const STORE = 'd-c11c11c11c'
const aws = await startAwsEmulator()
t.teardown(() => aws.close())
const group = aws.identityStore.addGroup(STORE, 'Chen Lab')
aws.identityStore.addMember(STORE, group, aws.identityStore.addUser(STORE, { UserName: 'Mei.Chen@uni.edu' }))

function steward(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return stewardWith({}, ...args)
}

function stewardWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'bin', 'steward.js'), ...args], { cwd: root, env: { ...process.env, ...aws.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

t.before(() => {
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run npm run build first')
})

t.test('dry run, sync, nothing to change, failure', async (t) => {
  const spec = parse(readFileSync(join(root, 'examples', 'campus.yaml'), 'utf8')) as Record<string, unknown>
  spec.identity = { source: 'identity-center', identityCenter: { identityStoreId: STORE, region: 'eu-west-1' }, uidRange: { from: 300_000, to: 300_010 }, groups: [{ group: 'Chen Lab', department: 'cv', supervisor: 'chen' }] }
  const file = join(mkdtempSync(join(tmpdir(), 'steward-identity-cli-')), 'spec.yaml')
  const original = stringify(spec)
  writeFileSync(file, original)

  const dry = await steward('identity', 'sync', file, '--dry-run')
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stdout, /added {5}mei_chen/)
  t.match(dry.stdout, /add {7}\/users\/mei_chen/)
  t.match(dry.stderr, /would change: 1 added, 0 changed, 0 disabled, 0 refused/)
  t.equal(readFileSync(file, 'utf8'), original, 'a dry run writes nothing')

  const sync = await steward('identity', 'sync', file)
  t.equal(sync.code, 0, sync.stderr)
  const written = parse(readFileSync(file, 'utf8')) as { users: Array<{ name: string; uid: number; source?: string }> }
  t.match(written.users.find((u) => u.name === 'mei_chen'), { uid: 300_000, source: 'identity-center' })
  const again = await steward('identity', 'sync', file, '--json')
  t.equal(again.code, 0)
  t.match(JSON.parse(again.stdout), { summary: { added: [], changed: [], disabled: [], refused: [] } })
  t.match(again.stderr, /nothing to change/)

  const before = readFileSync(file, 'utf8')
  aws.identityStore.failNext('ListGroups', 50, 'InternalServerException')
  const failed = await steward('identity', 'sync', file)
  t.equal(failed.code, 1)
  t.match(failed.stderr, /Identity Store d-c11c11c11c: ListGroups page 1 failed after 8 attempt\(s\): InternalServerException/)
  t.equal(readFileSync(file, 'utf8'), before, 'the file is unchanged')
  aws.identityStore.failNext('ListGroups', 0)
})

t.test('--cluster: a revision in the service\'s store, none when nothing changed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'steward-identity-cli-store-'))
  delete process.env.DATABASE_URL // this file's process only: the children use the SQLite store in `dir`
  const spec = parse(readFileSync(join(root, 'examples', 'campus.yaml'), 'utf8')) as ClusterSpec
  spec.identity = { source: 'identity-center', identityCenter: { identityStoreId: STORE, region: 'eu-west-1' }, uidRange: { from: 300_000, to: 300_010 }, groups: [{ group: 'Chen Lab', department: 'cv', supervisor: 'chen' }] }
  const store = await createStore({ dataDir: dir })
  await seedCluster(store, createRevisionService(store), spec, { description: 'seed', source: 'test', message: 'seeded' })
  await store.close()
  const env = { STEWARD_DATA_DIR: dir }
  const dry = await stewardWith(env, 'identity', 'sync', '--cluster', 'campus', '--dry-run')
  t.equal(dry.code, 0, dry.stderr)
  t.match(dry.stderr, /cluster campus: would change: 1 added/)
  const sync = await stewardWith(env, 'identity', 'sync', '--cluster', 'campus')
  t.match(sync.stderr, /cluster campus: revision 2: 1 added/)
  const again = await stewardWith(env, 'identity', 'sync', '--cluster', 'campus')
  t.match(again.stderr, /cluster campus: nothing to change \(revision 2\)/)
  const check = await createStore({ dataDir: dir })
  t.teardown(() => check.close())
  t.equal((await check.getCluster('campus')).latestRevision, 2)
  t.match((await check.getRevision('campus', 2)).spec.users.find((u) => u.name === 'mei_chen'), { uid: 300_000, source: 'identity-center' })
})

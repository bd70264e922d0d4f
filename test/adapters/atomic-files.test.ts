import t from 'tap'
import { chmodSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeFilesAtomically, FilesWriteError } from '../../src/adapters/atomic-files.js'

t.test('a new directory appears with every file', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'atomic-')), 'out')
  await writeFilesAtomically(dir, [{ name: 'a.conf', content: 'A' }, { name: 'b.conf', content: 'B' }])
  t.same(readdirSync(dir).sort(), ['a.conf', 'b.conf'])
  t.equal(readFileSync(join(dir, 'b.conf'), 'utf8'), 'B')
})

t.test('existing files are replaced and no staging directory is left behind', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'atomic-'))
  const dir = join(parent, 'out')
  await writeFilesAtomically(dir, [{ name: 'a.conf', content: 'old' }])
  await writeFilesAtomically(dir, [{ name: 'a.conf', content: 'new' }, { name: 'c.conf', content: 'C' }])
  t.equal(readFileSync(join(dir, 'a.conf'), 'utf8'), 'new')
  t.same(readdirSync(parent), ['out'])
})

t.test('a failure part-way leaves the previous files as they were', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'))
  writeFileSync(join(dir, 'a.conf'), 'old A')
  // b.conf is a directory: renaming a file onto it fails after a.conf was moved in.
  const { mkdirSync } = await import('node:fs')
  mkdirSync(join(dir, 'b.conf'))
  await t.rejects(writeFilesAtomically(dir, [{ name: 'a.conf', content: 'new A' }, { name: 'b.conf', content: 'B' }]), FilesWriteError)
  t.equal(readFileSync(join(dir, 'a.conf'), 'utf8'), 'old A')
})

t.test('a name with a directory part is refused before anything is written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'))
  chmodSync(dir, 0o755)
  await t.rejects(writeFilesAtomically(dir, [{ name: '../evil', content: 'x' }]), FilesWriteError)
  t.same(readdirSync(dir), [])
})

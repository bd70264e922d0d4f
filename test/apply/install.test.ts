/**
 * The journaled install on a real directory through the local executor: after any
 * interruption the directory holds the old set or the new set, never a mix.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { JOURNAL, commitInstall, installFiles, readJournal, restoreFromJournal } from '../../src/apply/install.js'

const ex = createLocalExecutor()
const oldSet = () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-'))
  writeFileSync(join(dir, 'slurm.conf'), 'old slurm\n')
  writeFileSync(join(dir, 'gres.conf'), 'old gres\n')
  return dir
}
const newSet = [{ name: 'slurm.conf', content: 'new slurm\n' }, { name: 'gres.conf', content: 'new gres\n' }, { name: 'cgroup.conf', content: 'new cgroup\n' }]

t.test('an install puts the new set in place and a commit forgets the old one', async (t) => {
  const dir = oldSet()
  await installFiles(ex, dir, newSet, 'a1')
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), 'new slurm\n')
  t.equal((await readJournal(ex, dir))?.phase, 'installed')
  await commitInstall(ex, dir)
  t.same(readdirSync(dir).sort(), ['cgroup.conf', 'gres.conf', 'slurm.conf'])
})

t.test('a restore after an install gives back exactly the old set', async (t) => {
  const dir = oldSet()
  await installFiles(ex, dir, newSet, 'a2')
  t.equal(await restoreFromJournal(ex, dir), true)
  t.same(readdirSync(dir).sort(), ['gres.conf', 'slurm.conf'])
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), 'old slurm\n')
  t.equal(readFileSync(join(dir, 'gres.conf'), 'utf8'), 'old gres\n')
})

t.test('a crash in the middle of the renames is restored to the old set', async (t) => {
  const dir = oldSet()
  await installFiles(ex, dir, newSet, 'a3')
  // As if the service died after renaming only slurm.conf: the journal says swapping.
  const journal = JSON.parse(readFileSync(join(dir, JOURNAL), 'utf8')) as { phase: string }
  writeFileSync(join(dir, JOURNAL), JSON.stringify({ ...journal, phase: 'swapping' }))
  writeFileSync(join(dir, 'gres.conf'), 'old gres\n')
  await restoreFromJournal(ex, dir)
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), 'old slurm\n')
  t.equal(readFileSync(join(dir, 'gres.conf'), 'utf8'), 'old gres\n')
  t.notOk(existsSync(join(dir, 'cgroup.conf')), 'a file that did not exist before is gone')
})

t.test('a crash before any rename leaves the old set and no staged files', async (t) => {
  const dir = oldSet()
  await installFiles(ex, dir, newSet, 'a4')
  await restoreFromJournal(ex, dir)
  await installFiles(ex, dir, newSet, 'a5')
  const journal = JSON.parse(readFileSync(join(dir, JOURNAL), 'utf8')) as Record<string, unknown>
  await restoreFromJournal(ex, dir)
  writeFileSync(join(dir, JOURNAL), JSON.stringify({ ...journal, phase: 'staged' }))
  await restoreFromJournal(ex, dir)
  t.same(readdirSync(dir).sort(), ['gres.conf', 'slurm.conf'])
})

t.test('without a journal there is nothing to restore', async (t) => {
  t.equal(await restoreFromJournal(ex, oldSet()), false)
})

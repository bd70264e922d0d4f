/**
 * The journaled install on a real directory through the local executor: after any
 * interruption the directory holds the old set or the new set, never a mix.
 */
import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalExecutor } from '../../src/adapters/executor.js'
import { JOURNAL, commitInstall, forgetJournal, installFiles, readJournal, restoreFromJournal } from '../../src/apply/install.js'

const ex = createLocalExecutor()
const oldSet = () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-'))
  writeFileSync(join(dir, 'slurm.conf'), 'old slurm\n')
  writeFileSync(join(dir, 'gres.conf'), 'old gres\n')
  return dir
}
const newSet = [{ name: 'slurm.conf', content: 'new slurm\n' }, { name: 'gres.conf', content: 'new gres\n' }, { name: 'cgroup.conf', content: 'new cgroup\n' }]

t.test('an install puts the new set in place, a commit drops the old one and forgetting ends the journal', async (t) => {
  const dir = oldSet()
  await installFiles(ex, dir, newSet, 'a1')
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), 'new slurm\n')
  t.equal((await readJournal(ex, dir))?.phase, 'installed')
  await t.rejects(commitInstall(ex, dir, 'other'), { name: 'InstallError' }, 'only the apply that installed may commit')
  await commitInstall(ex, dir, 'a1')
  t.same(readdirSync(dir).sort(), [JOURNAL, 'cgroup.conf', 'gres.conf', 'slurm.conf'], 'the journal stays until the store recorded the apply')
  t.equal((await readJournal(ex, dir))?.phase, 'committed')
  t.equal(await forgetJournal(ex, dir, 'other'), false, 'another apply\'s journal is not forgotten')
  t.equal(await forgetJournal(ex, dir, 'a1'), true)
  t.same(readdirSync(dir).sort(), ['cgroup.conf', 'gres.conf', 'slurm.conf'])
})

t.test('a committed install is never restored: the new set is final', async (t) => {
  const dir = oldSet()
  await installFiles(ex, dir, newSet, 'a6')
  await commitInstall(ex, dir, 'a6')
  t.same(await restoreFromJournal(ex, dir), { kind: 'committed', applyId: 'a6' })
  t.equal(readFileSync(join(dir, 'slurm.conf'), 'utf8'), 'new slurm\n')
  t.equal((await readJournal(ex, dir))?.phase, 'committed', 'the journal is left for the bookkeeping')
})

t.test('a restore after an install gives back exactly the old set', async (t) => {
  const dir = oldSet()
  await installFiles(ex, dir, newSet, 'a2')
  t.same(await restoreFromJournal(ex, dir), { kind: 'restored', applyId: 'a2' })
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
  t.same(await restoreFromJournal(ex, oldSet()), { kind: 'none' })
})

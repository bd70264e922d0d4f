/**
 * Installing rendered files on a controller so that a crash leaves either the old or the
 * new set, never a mix: every new file is uploaded under a temporary name, the old ones
 * are copied aside, and a journal on the controller records the swap before and after
 * the renames. `restoreFromJournal` puts the old set back (after a failure or a crash).
 * `commitInstall` marks the journal `committed` before it drops the old set: from then on
 * the new set is final and is never rolled back; the journal stays until the apply is
 * recorded in the store (`forgetJournal`), so a crash or a store that refuses writes
 * between the two leaves a record on the controller that recovery completes.
 * Reads and writes that do not depend on each other go out together (one SFTP session
 * carries them over SSH); renames and removals use the executor's own file operations.
 */
import { posix } from 'node:path'
import { FileOpError, removeFiles, renameFile, type Executor } from '../adapters/executor.js'
import type { RenderedFile } from '../slurm/render.js'

export const JOURNAL = '.steward-journal.json'

interface Journal {
  applyId: string
  phase: 'staged' | 'swapping' | 'installed' | 'committed'
  files: Array<{ name: string; hadPrevious: boolean }>
}

/** Thrown when a file operation on the controller fails. */
export class InstallError extends Error {
  override name = 'InstallError'
}

const newName = (dir: string, name: string) => posix.join(dir, `.${name}.steward-new`)
const prevName = (dir: string, name: string) => posix.join(dir, `.${name}.steward-prev`)

/** Runs a file operation; its failure is an `InstallError` (what failed, with the cause). */
async function must(what: string, op: Promise<void>): Promise<void> {
  try {
    await op
  } catch (err) {
    throw new InstallError(err instanceof FileOpError ? err.message : `${what}: ${(err as Error).message}`, { cause: err })
  }
}

async function writeJournal(executor: Executor, dir: string, journal: Journal): Promise<void> {
  await executor.writeFileAtomic(posix.join(dir, JOURNAL), `${JSON.stringify(journal)}\n`, 0o600)
}

/** Reads the journal of an unfinished install, if any. */
export async function readJournal(executor: Executor, dir: string): Promise<Journal | undefined> {
  const text = await executor.readFile(posix.join(dir, JOURNAL))
  return text ? (JSON.parse(text) as Journal) : undefined
}

/** The current content of each file (undefined when absent). */
export async function readCurrent(executor: Executor, dir: string, names: readonly string[]): Promise<Map<string, string | undefined>> {
  const contents = await Promise.all(names.map((name) => executor.readFile(posix.join(dir, name))))
  return new Map(names.map((name, i) => [name, contents[i]]))
}

/**
 * Installs `files` into `dir` with a journal; the old files stay aside until
 * `commitInstall`. Refuses while another install's journal exists (restore it first).
 */
export async function installFiles(executor: Executor, dir: string, files: readonly RenderedFile[], applyId: string): Promise<void> {
  const [other, current] = await Promise.all([readJournal(executor, dir), readCurrent(executor, dir, files.map((f) => f.name))])
  if (other) throw new InstallError(`an unfinished install of apply ${other.applyId} is journaled in ${dir}: restore it first`)
  const journal: Journal = { applyId, phase: 'staged', files: files.map((f) => ({ name: f.name, hadPrevious: current.get(f.name) !== undefined })) }
  await Promise.all(files.flatMap((f) => {
    const previous = current.get(f.name)
    return [
      executor.writeFileAtomic(newName(dir, f.name), f.content, 0o644),
      ...(previous !== undefined ? [executor.writeFileAtomic(prevName(dir, f.name), previous, 0o644)] : []),
    ]
  }))
  await writeJournal(executor, dir, journal)
  await writeJournal(executor, dir, { ...journal, phase: 'swapping' })
  for (const f of files) await must(`renaming ${f.name} into place in ${dir}`, renameFile(executor, newName(dir, f.name), posix.join(dir, f.name)))
  await writeJournal(executor, dir, { ...journal, phase: 'installed' })
}

/**
 * Makes the new set final: the journal says `committed` (from here on nothing restores
 * the old set), then the old files are dropped. The journal itself stays for
 * `forgetJournal`. Refuses when the journal is not this apply's installed set.
 */
export async function commitInstall(executor: Executor, dir: string, applyId: string): Promise<void> {
  const journal = await readJournal(executor, dir)
  if (journal?.applyId !== applyId || (journal.phase !== 'installed' && journal.phase !== 'committed')) {
    throw new InstallError(`cannot commit apply ${applyId} in ${dir}: the journal there is ${journal ? `apply ${journal.applyId}'s, ${journal.phase}` : 'gone'}`)
  }
  await writeJournal(executor, dir, { ...journal, phase: 'committed' })
  await must(`removing the previous files in ${dir}`, removeFiles(executor, journal.files.map((f) => prevName(dir, f.name))))
}

/** Removes the journal of a committed install of `applyId` (after the store recorded it); false when there is none. */
export async function forgetJournal(executor: Executor, dir: string, applyId: string): Promise<boolean> {
  const journal = await readJournal(executor, dir)
  if (journal?.applyId !== applyId || journal.phase !== 'committed') return false
  await must(`removing the journal in ${dir}`, removeFiles(executor, [posix.join(dir, JOURNAL)]))
  return true
}

/** What `restoreFromJournal` found: no journal, a set it put back, or a committed set it must keep. */
export type RestoreOutcome = { kind: 'none' } | { kind: 'restored'; applyId: string } | { kind: 'committed'; applyId: string }

/**
 * Puts the old set back as the journal describes it: files that existed are restored,
 * files that did not are removed. A committed journal is left alone: that set is final.
 */
export async function restoreFromJournal(executor: Executor, dir: string): Promise<RestoreOutcome> {
  const journal = await readJournal(executor, dir)
  if (!journal) return { kind: 'none' }
  if (journal.phase === 'committed') return { kind: 'committed', applyId: journal.applyId }
  for (const f of journal.files) {
    const target = posix.join(dir, f.name)
    if (journal.phase === 'staged') {
      await must(`removing ${newName(dir, f.name)}`, removeFiles(executor, [newName(dir, f.name)]))
    } else if (f.hadPrevious) {
      const previous = await executor.readFile(prevName(dir, f.name))
      // Never an empty file in place of a real one: stop, leaving the journal for a retry.
      if (previous === undefined) throw new InstallError(`${prevName(dir, f.name)} is missing: cannot restore ${f.name}; the journal is kept`)
      await executor.writeFileAtomic(target, previous, 0o644)
    } else {
      await must(`removing ${target}`, removeFiles(executor, [target, newName(dir, f.name)]))
    }
  }
  await must(`removing the previous files and the journal in ${dir}`, removeFiles(executor, [...journal.files.map((f) => prevName(dir, f.name)), posix.join(dir, JOURNAL)]))
  return { kind: 'restored', applyId: journal.applyId }
}

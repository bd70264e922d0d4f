/**
 * Writing a set of rendered files into a directory, all or nothing: every file is first
 * written and fsynced under a staging directory beside the target, then renamed into
 * place; if any rename fails the files already moved are put back as they were.
 */
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'

/** A file to write: a plain name (no directory part) and its content. */
export interface FileToWrite {
  name: string
  content: string
  mode?: number
}

/** Thrown when the set could not be written; nothing in the target changed. */
export class FilesWriteError extends Error {
  override name = 'FilesWriteError'
}

async function writeSynced(path: string, content: string, mode: number): Promise<void> {
  const handle = await open(path, 'wx', mode)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

/** Writes `files` into `dir` (created if missing) so that either all or none are replaced. */
export async function writeFilesAtomically(dir: string, files: readonly FileToWrite[]): Promise<void> {
  for (const f of files) {
    if (f.name !== basename(f.name) || f.name.startsWith('.')) throw new FilesWriteError(`refusing file name "${f.name}": plain names only`)
  }
  const target = resolve(dir)
  await mkdir(dirname(target), { recursive: true })
  const staging = join(dirname(target), `.${basename(target)}.staging-${randomBytes(6).toString('hex')}`)
  await mkdir(staging, { mode: 0o700 })
  try {
    for (const f of files) await writeSynced(join(staging, f.name), f.content, f.mode ?? 0o644)
    if (!(await exists(target))) {
      // A new directory appears whole with one rename.
      await rename(staging, target)
      return
    }
    await swapIn(staging, target, files)
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function swapIn(staging: string, target: string, files: readonly FileToWrite[]): Promise<void> {
  // Each old file is moved aside into the staging directory (same file system, so a
  // rename), then the new one is renamed into place; on failure the moves are undone.
  const moved: Array<{ name: string; backup: string | undefined }> = []
  try {
    for (const f of files) {
      const path = join(target, f.name)
      const backup = join(staging, `${f.name}.previous`)
      // Checked here, not up front, so the undo below is the one path for every failure.
      if ((await stat(path).catch(() => undefined))?.isDirectory()) throw new FilesWriteError(`${path} is a directory`)
      const hadPrevious = await rename(path, backup).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false
        throw err
      })
      moved.push({ name: f.name, backup: hadPrevious ? backup : undefined })
      await rename(join(staging, f.name), path)
    }
  } catch (err) {
    for (const m of moved.reverse()) {
      const path = join(target, m.name)
      if (m.backup) await rename(m.backup, path)
      else await rm(path, { force: true })
    }
    throw new FilesWriteError(`could not write the files into ${target}; left as they were`, { cause: err })
  }
}

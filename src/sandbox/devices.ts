/**
 * Stand-ins for GPU device files. `gres.conf` names `/dev/nvidia*` and slurmd refuses a
 * `File=` that is not a character device, so the sandbox creates the missing ones as
 * `c 1 3` (what /dev/null is: harmless to open). It never touches a device file that was
 * already there, and records the ones it made so `down` removes exactly those.
 */
import { lstat, readFile, rm, unlink } from 'node:fs/promises'
import type { Executor } from '../adapters/executor.js'

/** A device path (under /dev) as the host sees it when the sandbox runs in a root. */
const onHost = (root: string, path: string): string => (root === '' ? path : `${root}${path}`)

/** `makedev(1, 3)` as Linux encodes it in `st_rdev`. */
const NULL_RDEV = (1 << 8) | 3

/** Thrown when a device path is taken by something that is not a character device. */
export class DeviceError extends Error {
  override name = 'DeviceError'
}

/** One device file the sandbox made, with its inode so a file replaced since is never removed. */
interface Created {
  path: string
  ino: number
}

async function readRecord(recordFile: string): Promise<Created[]> {
  const text = await readFile(recordFile, 'utf8').catch(() => '[]')
  try {
    const value: unknown = JSON.parse(text)
    if (!Array.isArray(value)) return []
    return value.filter((v): v is Created => typeof v === 'object' && v !== null && typeof (v as Created).path === 'string' && typeof (v as Created).ino === 'number')
  } catch {
    return []
  }
}

async function writeRecord(executor: Executor, recordFile: string, devices: readonly Created[]): Promise<void> {
  await executor.writeFileAtomic(recordFile, `${JSON.stringify(devices, null, 2)}\n`, 0o600)
}

/**
 * Makes sure each path is a character device, creating the missing ones with
 * `mknod PATH c 1 3`. Returns the paths created now. Each creation is recorded before the
 * next one, so an interrupted `up` still lets `down` clean up. With `root` (a sandbox in a
 * Debian root, `executor` running there) the paths are the root's.
 */
export async function ensureDevices(executor: Executor, devices: readonly string[], recordFile: string, root = ''): Promise<string[]> {
  const created: string[] = []
  const recorded = await readRecord(recordFile)
  for (const path of devices) {
    if (!/^\/dev\/[\w/-]+$/.test(path) || path.includes('..')) throw new DeviceError(`refusing device path ${path}: only plain paths under /dev`)
    const stat = await lstat(onHost(root, path)).catch(() => undefined)
    if (stat) {
      if (!stat.isCharacterDevice()) throw new DeviceError(`${path} exists but is not a character device; gres.conf needs one (remove it or change the spec's gpus.devices)`)
      continue
    }
    const result = await executor.run(['mknod', '-m', '0666', path, 'c', '1', '3'])
    if (result.code !== 0) throw new DeviceError(`mknod ${path} c 1 3 failed: ${result.stderr.trim() || `exit ${result.code}`}`)
    const made = await lstat(onHost(root, path))
    created.push(path)
    recorded.push({ path, ino: made.ino })
    await writeRecord(executor, recordFile, recorded)
  }
  return created
}

/** Devices `down` never removes, whatever a record says. */
const SYSTEM_DEVICES = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/console'])

/**
 * Removes the device files the sandbox created: only where the same inode (the very file
 * it made) is still a `c 1 3` stand-in.
 */
export async function removeCreatedDevices(recordFile: string, root = ''): Promise<string[]> {
  const removed: string[] = []
  for (const { path, ino } of await readRecord(recordFile)) {
    if (SYSTEM_DEVICES.has(path) || !/^\/dev\/[\w/-]+$/.test(path)) continue
    const stat = await lstat(onHost(root, path)).catch(() => undefined)
    if (stat?.isCharacterDevice() && stat.rdev === NULL_RDEV && stat.ino === ino) {
      await unlink(onHost(root, path))
      removed.push(path)
    }
  }
  await rm(recordFile, { force: true })
  return removed
}

/** The device files the sandbox created and that still exist. */
export async function createdDevices(recordFile: string, root = ''): Promise<string[]> {
  const present: string[] = []
  for (const { path, ino } of await readRecord(recordFile)) {
    if ((await lstat(onHost(root, path)).catch(() => undefined))?.ino === ino) present.push(path)
  }
  return present
}

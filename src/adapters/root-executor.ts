/**
 * An Executor that runs every argv inside a Debian root (a directory made by
 * debootstrap): `unshare -m --root=ROOT --mount-proc -- argv`. Each command gets its own
 * mount namespace with its own /proc, so nothing stays mounted on the host when it
 * exits and no shell is involved. Files are read and written under the root.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLocalExecutor, type Executor } from './executor.js'

/**
 * `--propagation` for `unshare -m`: `private` where `/` is a mount point of this process
 * (a normal host), `unchanged` where it is not (inside a chroot `unshare` cannot change the
 * propagation of `/` and fails).
 */
export function mountPropagation(mountinfo: string | undefined = readMountinfo()): 'private' | 'unchanged' {
  if (mountinfo === undefined) return 'unchanged'
  // Field 5 of each line is the mount point, relative to this process's root.
  return mountinfo.split('\n').some((line) => line.split(' ')[4] === '/') ? 'private' : 'unchanged'
}

function readMountinfo(): string | undefined {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
  } catch {
    return undefined
  }
}

/** The argv that runs `argv` inside `rootfs` with its own /proc. */
export function rootArgv(rootfs: string, argv: readonly string[], propagation: 'private' | 'unchanged' = mountPropagation()): string[] {
  if (!rootfs.startsWith('/') || rootfs === '/') throw new Error(`the root must be an absolute directory other than /, not "${rootfs}"`)
  return ['unshare', '-m', `--propagation=${propagation}`, `--root=${rootfs}`, '--mount-proc', '--', ...argv]
}

export interface RootExecutorOptions {
  /** Extra environment of every command (e.g. `SLURM_CONF`). */
  env?: Record<string, string>
  /**
   * Programs (absolute paths) that run on the host rather than in the root: the
   * steward CLI itself (`process.execPath`), which the apply engine runs to reload the
   * sandbox. Everything else runs in the root.
   */
  hostPrograms?: readonly string[]
}

/** Runs commands inside `rootfs`; `target` is `root:<rootfs>`. */
export function createRootExecutor(rootfs: string, options: RootExecutorOptions = {}): Executor {
  const local = createLocalExecutor(options.env ?? {})
  const propagation = mountPropagation()
  const host = new Set(options.hostPrograms ?? [])
  return {
    target: `root:${rootfs}`,
    run(argv, runOptions) {
      const first = argv[0]
      return local.run(first !== undefined && host.has(first) ? argv : rootArgv(rootfs, argv, propagation), runOptions)
    },
    readFile: (path) => local.readFile(join(rootfs, path)),
    writeFileAtomic: (path, content, mode) => local.writeFileAtomic(join(rootfs, path), content, mode),
  }
}

/**
 * Which Slurm release a sandbox runs, and where. The host's own Slurm (Debian 12:
 * 22.05) runs in the state directory as before; Slurm 24.11 (what HyperPod runs) comes
 * from Debian 13 and runs inside a Debian 13 root kept under its own state directory, on
 * its own ports, so both sandboxes can run side by side. Pure but for `sandboxExecutor`, which only builds an executor: no I/O.
 */
import { join } from 'node:path'
import { createLocalExecutor, type Executor } from '../adapters/executor.js'
import { createRootExecutor } from '../adapters/root-executor.js'
import {
  DEFAULT_PORTS, type SandboxPaths, type SandboxPorts, SandboxLayoutError, resolveStateDir, sandboxPaths,
} from './layout.js'

/** Releases a sandbox can run. */
export const SANDBOX_RELEASES = ['22.05', '24.11'] as const
export type SandboxRelease = (typeof SANDBOX_RELEASES)[number]

/** The release of the host's own packages (Debian 12's slurm-wlm). */
export const HOST_RELEASE: SandboxRelease = '22.05'

/** Environment variable that picks the release when no `--slurm` is given (`sandbox env` prints it). */
export const RELEASE_ENV = 'STEWARD_SANDBOX_SLURM'

/** How a release is run: on the host's packages, or inside a Debian root of the given suite. */
export interface ReleaseSetup {
  release: SandboxRelease
  /** Debian suite of the root; undefined for the host's own packages. */
  suite?: 'trixie'
  ports: SandboxPorts
}

const SETUPS: Record<SandboxRelease, ReleaseSetup> = {
  '22.05': { release: '22.05', ports: DEFAULT_PORTS },
  '24.11': {
    release: '24.11',
    suite: 'trixie',
    // Away from the 22.05 sandbox's ports (and Slurm's and MariaDB's defaults).
    ports: { slurmctld: 26817, slurmd: 26818, slurmdbd: 26819, mariadb: 23306, firstNode: 27000 },
  },
}

/** The release named by `--slurm` or `STEWARD_SANDBOX_SLURM`; throws for others. */
export function parseRelease(text: string): SandboxRelease {
  const found = SANDBOX_RELEASES.find((r) => r === text)
  if (!found) throw new SandboxLayoutError(`--slurm takes ${SANDBOX_RELEASES.join(' or ')}, not "${text}"`)
  return found
}

/** `explicit`, else `STEWARD_SANDBOX_SLURM`, else the host's release. */
export function resolveRelease(env: Readonly<Record<string, string | undefined>> = process.env, explicit?: string): SandboxRelease {
  const text = explicit ?? env[RELEASE_ENV]
  return text === undefined || text === '' ? HOST_RELEASE : parseRelease(text)
}

export function releaseSetup(release: SandboxRelease): ReleaseSetup {
  return SETUPS[release]
}

/** Where one sandbox lives. */
export interface SandboxLocation {
  release: SandboxRelease
  /** The state directory (`down --purge` deletes it). */
  stateDir: string
  /** The Debian root the daemons run in; undefined for the host release. */
  rootfs?: string
  /**
   * The sandbox's files. In a root they are under `<rootfs><stateDir>/sandbox`, and
   * `<stateDir>/sandbox` on the host is a symlink there: one path names the same file
   * inside the root (what the daemons' configs say) and outside (what this code reads).
   */
  paths: SandboxPaths
  ports: SandboxPorts
}

/**
 * The location of the sandbox of `release`: the host release in the state directory
 * (`STEWARD_SANDBOX_DIR` or /var/lib/steward-sandbox), another release in
 * `<that>-<release>` unless `stateDir` names one.
 */
export function sandboxLocation(
  options: { stateDir?: string; release?: SandboxRelease; ports?: Partial<SandboxPorts> } = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): SandboxLocation {
  const release = options.release ?? resolveRelease(env)
  const setup = releaseSetup(release)
  const ports = { ...setup.ports, ...options.ports }
  if (!setup.suite) {
    const stateDir = resolveStateDir(env, options.stateDir)
    return { release, stateDir, paths: sandboxPaths(stateDir), ports }
  }
  const stateDir = options.stateDir !== undefined ? resolveStateDir(env, options.stateDir) : `${resolveStateDir(env)}-${release}`
  if (!/^\/[\w./-]+$/.test(stateDir)) throw new SandboxLayoutError(`the state directory of a ${release} sandbox must be a plain path (letters, digits, . _ - /), not "${stateDir}"`)
  return { release, stateDir, rootfs: join(stateDir, 'rootfs'), paths: sandboxPaths(join(stateDir, 'sandbox')), ports }
}

/** The directory inside the root that holds the sandbox's files, as seen from the host. */
export function innerWorkDir(location: SandboxLocation): string | undefined {
  return location.rootfs ? join(location.rootfs, location.paths.root) : undefined
}

/**
 * The executor that reaches a sandbox's Slurm with `SLURM_CONF` set: local for the host
 * release, inside the Debian root for another. `hostPrograms` still run on the host (the
 * steward CLI, for reloads). Here, not in sandbox.ts, so a command that only reads the
 * sandbox's Slurm does not load the code that boots it.
 */
export function sandboxExecutor(location: SandboxLocation, hostPrograms: readonly string[] = []): Executor {
  const env = { SLURM_CONF: location.paths.slurmConf }
  return location.rootfs ? createRootExecutor(location.rootfs, { env, hostPrograms }) : createLocalExecutor(env)
}

/**
 * The programs the sandbox runs, and installing them: when one is missing and we are root,
 * `ops/sandbox/install.sh` (the same script CI runs) installs Debian's packages.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Executor } from '../adapters/executor.js'
import { findExecutable } from './processes.js'

/** Absolute paths of every program the sandbox uses. */
export interface SandboxPrograms {
  munged: string
  mungekey: string
  munge: string
  mariadbd: string
  mariadbInstallDb: string
  mariadb: string
  slurmdbd: string
  slurmctld: string
  slurmd: string
  sacctmgr: string
  scontrol: string
  sinfo: string
  squeue: string
  scancel: string
}

/** Each program, with the older names Debian may ship it under. */
const CANDIDATES: Record<keyof SandboxPrograms, readonly string[]> = {
  munged: ['munged'],
  mungekey: ['mungekey'],
  munge: ['munge'],
  mariadbd: ['mariadbd', 'mysqld'],
  mariadbInstallDb: ['mariadb-install-db', 'mysql_install_db'],
  mariadb: ['mariadb', 'mysql'],
  slurmdbd: ['slurmdbd'],
  slurmctld: ['slurmctld'],
  slurmd: ['slurmd'],
  sacctmgr: ['sacctmgr'],
  scontrol: ['scontrol'],
  sinfo: ['sinfo'],
  squeue: ['squeue'],
  scancel: ['scancel'],
}

/** Finds every program; returns the found ones and the names of the missing ones. */
export function findPrograms(): { programs: Partial<SandboxPrograms>; missing: string[] } {
  const programs: Partial<SandboxPrograms> = {}
  const missing: string[] = []
  for (const [key, names] of Object.entries(CANDIDATES) as Array<[keyof SandboxPrograms, readonly string[]]>) {
    const found = names.map((n) => findExecutable(n)).find((p) => p !== undefined)
    if (found) programs[key] = found
    else missing.push(names[0] as string)
  }
  return { programs, missing }
}

/** Thrown when the programs are missing and cannot be installed. */
export class SandboxInstallError extends Error {
  override name = 'SandboxInstallError'
}

/** `ops/sandbox/<name>` (default install.sh), found by walking up from this module (src/ or dist/src/). */
export function installScript(name = 'install.sh'): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'ops', 'sandbox', name)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new SandboxInstallError(`ops/sandbox/${name} not found above the steward module`)
    dir = parent
  }
}

/** Directories searched inside a root. */
const ROOT_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin']

/** A root's programs, and the real path inside the root of each (what /proc/<pid>/exe shows). */
export interface RootPrograms {
  /** As found (Slurm's daemons must be started by these names: they tell their role by argv[0]). */
  programs: SandboxPrograms
  /** Program path -> real path inside the root (Debian's alternatives resolved in the root, never against the host's files). */
  realPaths: Record<string, string>
}

/** Every program inside `rootfs`, and where each really is. */
export async function findRootPrograms(rootfs: string, exec: Executor): Promise<RootPrograms> {
  const found: Array<[keyof SandboxPrograms, string]> = []
  const missing: string[] = []
  for (const [key, names] of Object.entries(CANDIDATES) as Array<[keyof SandboxPrograms, readonly string[]]>) {
    const path = names.flatMap((n) => ROOT_DIRS.map((d) => `${d}/${n}`)).find((p) => existsSync(join(rootfs, p)))
    if (path) found.push([key, path])
    else missing.push(names[0] as string)
  }
  if (missing.length > 0) throw new SandboxInstallError(`${rootfs} lacks ${missing.join(', ')}; delete it (steward sandbox down --purge) so it is made again`)
  const result = await exec.run(['readlink', '-e', ...found.map(([, p]) => p)], { timeoutMs: 30_000 })
  const real = result.stdout.split('\n').filter((l) => l !== '')
  if (result.code !== 0 || real.length !== found.length || real.some((p) => !p.startsWith('/'))) {
    throw new SandboxInstallError(`cannot resolve the programs inside ${rootfs}: ${result.stderr.trim() || `readlink exit ${result.code}`}`)
  }
  return {
    programs: Object.fromEntries(found) as unknown as SandboxPrograms,
    realPaths: Object.fromEntries(found.map(([, path], i) => [path, real[i] as string])),
  }
}

/** The marker `make-root.sh` writes into a complete root (suite, Slurm version, date). */
export function rootMarker(rootfs: string): string | undefined {
  try {
    return readFileSync(join(rootfs, '.steward-root'), 'utf8').trim()
  } catch {
    return undefined
  }
}

/**
 * Makes the Debian root when it is not complete yet, with `ops/sandbox/make-root.sh`
 * (debootstrap and the Slurm packages inside: about a minute, once). Root only.
 */
export async function ensureRoot(executor: Executor, rootfs: string, log: (message: string) => void): Promise<void> {
  if (rootMarker(rootfs) !== undefined) return
  const script = installScript('make-root.sh')
  log(`making the Debian root ${rootfs} (debootstrap and Slurm's packages; about a minute, once)`)
  const result = await executor.run(['bash', script, rootfs], { timeoutMs: 1_200_000 })
  if (result.code !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-20).join('\n')
    throw new SandboxInstallError(`${script} ${rootfs} failed (exit ${result.code}):\n${tail}`)
  }
  if (rootMarker(rootfs) === undefined) throw new SandboxInstallError(`${script} finished but ${rootfs} is not complete`)
}

/**
 * Returns every program, installing the packages first when some are missing (root only).
 * The install takes about 30 s on a fresh Debian machine.
 */
export async function ensurePrograms(executor: Executor, log: (message: string) => void, isRoot: boolean): Promise<SandboxPrograms> {
  let { programs, missing } = findPrograms()
  if (missing.length === 0) return programs as SandboxPrograms
  if (!isRoot) throw new SandboxInstallError(`missing ${missing.join(', ')}; run ops/sandbox/install.sh as root`)
  const script = installScript()
  log(`installing Slurm, munge and MariaDB (missing: ${missing.join(', ')}) with ${script}`)
  const result = await executor.run(['bash', script], { timeoutMs: 900_000 })
  if (result.code !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-20).join('\n')
    throw new SandboxInstallError(`${script} failed (exit ${result.code}):\n${tail}`)
  }
  ;({ programs, missing } = findPrograms())
  if (missing.length > 0) throw new SandboxInstallError(`still missing after the install: ${missing.join(', ')}`)
  return programs as SandboxPrograms
}

/**
 * The programs the sandbox runs, and installing them: when one is missing and we are root,
 * `ops/sandbox/install.sh` (the same script CI runs) installs Debian's packages.
 */
import { existsSync } from 'node:fs'
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

/** `ops/sandbox/install.sh`, found by walking up from this module (src/ or dist/src/). */
export function installScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'ops', 'sandbox', 'install.sh')
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new SandboxInstallError('ops/sandbox/install.sh not found above the steward module')
    dir = parent
  }
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

/**
 * Installing a login node's files (session limits and the pool's host key) the way the
 * Slurm files are installed: checked first (the PAM stack), staged with a journal per
 * directory, checked with `sshd -t`, and rolled back together when anything fails; sshd is
 * reloaded only after the new set is final.
 */
import { posix } from 'node:path'
import { ExecError, type Executor } from '../adapters/executor.js'
import { commitInstall, forgetJournal, installFiles, restoreFromJournal } from '../apply/install.js'
import type { HostKeyPair } from './host-keys.js'
import { pamProblems, type LoginNodePaths, type NodeFile } from './session-limits.js'

/** Thrown when a login node cannot take its files; nothing on it changed. */
export class LoginNodeInstallError extends Error {
  override name = 'LoginNodeInstallError'
}

export interface LoginNodeHost {
  node: string
  executor: Executor
  paths: LoginNodePaths
  /** Makes sshd read its configuration again (e.g. `systemctl reload ssh`). */
  reloadSshd: readonly string[]
  sshdBin?: string
}

export interface NodeInstallResult {
  node: string
  changed: string[]
}

async function must(host: LoginNodeHost, argv: readonly string[], what: string): Promise<void> {
  const res = await host.executor.run(argv)
  if (res.code !== 0) throw new LoginNodeInstallError(`${what} failed on login node ${host.node}: ${(res.stderr || res.stdout).trim() || `exit ${res.code}`}`)
}

/** Installs `files` and the host key on one node; returns which files changed. */
export async function installLoginNode(host: LoginNodeHost, files: readonly NodeFile[], hostKey: HostKeyPair | undefined, applyId: string): Promise<NodeInstallResult> {
  const { executor, paths, node } = host
  let pam: string | undefined
  try {
    pam = await executor.readFile(paths.pamSshd)
  } catch (err) {
    throw new LoginNodeInstallError(`login node ${node} is unreachable (${executor.target}): ${(err as Error).message}`, { cause: err })
  }
  const problems = pamProblems(pam, paths.pamSshd)
  if (problems.length > 0) throw new LoginNodeInstallError(`login node ${node}: ${problems.join('; ')}`)

  const keyFiles = hostKey ? [
    { path: posix.join(paths.hostKeyDir, hostKey.name), content: hostKey.privateKey, mode: 0o600 },
    { path: posix.join(paths.hostKeyDir, `${hostKey.name}.pub`), content: hostKey.publicKey, mode: 0o644 },
  ] : []
  const changedFiles: NodeFile[] = []
  for (const f of files) if ((await executor.readFile(posix.join(f.dir, f.name))) !== f.content) changedFiles.push(f)
  const previousKeys = new Map<string, string | undefined>()
  for (const k of keyFiles) {
    const current = await executor.readFile(k.path)
    if (current !== k.content) previousKeys.set(k.path, current)
  }
  const changed = [...changedFiles.map((f) => posix.join(f.dir, f.name)), ...previousKeys.keys()]
  if (changed.length === 0) return { node, changed }

  const dirs = [...new Set(changedFiles.map((f) => f.dir))]
  const installed: string[] = []
  try {
    for (const dir of dirs) {
      installed.push(dir)
      await installFiles(executor, dir, changedFiles.filter((f) => f.dir === dir).map((f) => ({ name: f.name, content: f.content })), applyId)
    }
    for (const k of keyFiles) if (previousKeys.has(k.path)) await executor.writeFileAtomic(k.path, k.content, k.mode)
    await must(host, [host.sshdBin ?? '/usr/sbin/sshd', '-t', '-f', paths.sshdConfig], 'sshd -t')
  } catch (err) {
    for (const dir of installed) await restoreFromJournal(executor, dir).catch(() => undefined)
    for (const [path, content] of previousKeys) {
      if (content === undefined) await executor.run(['rm', '-f', '--', path]).catch(() => undefined)
      else await executor.writeFileAtomic(path, content, 0o600).catch(() => undefined)
    }
    if (err instanceof LoginNodeInstallError) throw new LoginNodeInstallError(`${err.message}; the node's files were put back`, { cause: err })
    const what = err instanceof ExecError ? 'is unreachable' : 'could not take the files'
    throw new LoginNodeInstallError(`login node ${node} ${what}: ${(err as Error).message}; the node's files were put back`, { cause: err })
  }
  for (const dir of dirs) {
    // Final at once: a login node's files have no store record to wait for.
    await commitInstall(executor, dir, applyId)
    await forgetJournal(executor, dir, applyId)
  }
  await must(host, host.reloadSshd, 'reloading sshd')
  return { node, changed }
}

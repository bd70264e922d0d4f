/**
 * Installing a login node's files (session limits and the pool's host key) the way the
 * Slurm files are installed: checked first (the PAM stack), staged with a journal per
 * directory, checked with `sshd -t`, and rolled back together when anything fails; sshd is
 * reloaded only after the new set is final.
 */
import { posix } from 'node:path'
import { ExecError, type Executor } from '../adapters/executor.js'
import { commitInstall, forgetJournal, installFiles, readJournal, restoreFromJournal } from '../apply/install.js'
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

/** A node whose new files are in place (journaled, checked with `sshd -t`) but not final. */
export interface StagedLoginNode extends NodeInstallResult {
  host: LoginNodeHost
  applyId: string
  /** Directories with this apply's journal. */
  dirs: string[]
  /** Host key files replaced, with their previous content (undefined: there was none). */
  previousKeys: Map<string, { content: string | undefined; mode: number }>
}

/** Puts back what `applyId` staged in `dir`; never touches another apply's journal. */
async function restoreOwn(executor: Executor, dir: string, applyId: string): Promise<void> {
  const journal = await readJournal(executor, dir)
  if (journal?.applyId === applyId) await restoreFromJournal(executor, dir)
}

/**
 * A journal left in `dir` by an earlier apply that died (the caller holds the apply lock,
 * so no live apply owns it): a committed one is only forgotten, any other put back.
 */
async function settleLeftover(executor: Executor, dir: string): Promise<void> {
  const outcome = await restoreFromJournal(executor, dir)
  if (outcome.kind === 'committed') await forgetJournal(executor, dir, outcome.applyId)
}

/**
 * Stages `files` and the host key on one node: the new set in place with the old one kept
 * aside (a journal per directory), checked with `sshd -t`. sshd is not reloaded: the node
 * keeps serving on its running configuration until `commitLoginNode`. On any failure the
 * node's files are put back and `LoginNodeInstallError` says why.
 */
export async function stageLoginNode(host: LoginNodeHost, files: readonly NodeFile[], hostKey: HostKeyPair | undefined, applyId: string): Promise<StagedLoginNode> {
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
  for (const dir of new Set(files.map((f) => f.dir))) await settleLeftover(executor, dir)
  const changedFiles: NodeFile[] = []
  for (const f of files) if ((await executor.readFile(posix.join(f.dir, f.name))) !== f.content) changedFiles.push(f)
  const previousKeys = new Map<string, { content: string | undefined; mode: number }>()
  for (const k of keyFiles) {
    const current = await executor.readFile(k.path)
    if (current !== k.content) previousKeys.set(k.path, { content: current, mode: k.mode })
  }
  const changed = [...changedFiles.map((f) => posix.join(f.dir, f.name)), ...previousKeys.keys()]
  const dirs = [...new Set(changedFiles.map((f) => f.dir))]
  const staged: StagedLoginNode = { node, changed, host, applyId, dirs, previousKeys }
  if (changed.length === 0) return staged
  try {
    for (const dir of dirs) {
      await installFiles(executor, dir, changedFiles.filter((f) => f.dir === dir).map((f) => ({ name: f.name, content: f.content })), applyId)
    }
    for (const k of keyFiles) if (previousKeys.has(k.path)) await executor.writeFileAtomic(k.path, k.content, k.mode)
    await must(host, [host.sshdBin ?? '/usr/sbin/sshd', '-t', '-f', paths.sshdConfig], 'sshd -t')
  } catch (err) {
    await rollbackLoginNode(staged)
    if (err instanceof LoginNodeInstallError) throw new LoginNodeInstallError(`${err.message}; the node's files were put back`, { cause: err })
    const what = err instanceof ExecError ? 'is unreachable' : 'could not take the files'
    throw new LoginNodeInstallError(`login node ${node} ${what}: ${(err as Error).message}; the node's files were put back`, { cause: err })
  }
  return staged
}

/** Makes a staged node's files final (a login node's files have no store record to wait for) and reloads sshd. */
export async function commitLoginNode(staged: StagedLoginNode): Promise<void> {
  if (staged.changed.length === 0) return
  const { host, applyId } = staged
  for (const dir of staged.dirs) {
    await commitInstall(host.executor, dir, applyId)
    await forgetJournal(host.executor, dir, applyId)
  }
  await must(host, host.reloadSshd, 'reloading sshd')
}

/** Puts a staged node's previous files and host key back (best effort: every step is tried). */
export async function rollbackLoginNode(staged: StagedLoginNode): Promise<void> {
  const { executor } = staged.host
  for (const dir of staged.dirs) await restoreOwn(executor, dir, staged.applyId).catch(() => undefined)
  for (const [path, previous] of staged.previousKeys) {
    if (previous.content === undefined) await executor.run(['rm', '-f', '--', path]).catch(() => undefined)
    else await executor.writeFileAtomic(path, previous.content, previous.mode).catch(() => undefined)
  }
}

/** Stages and commits at once (provisioning a node, tests); returns which files changed. */
export async function installLoginNode(host: LoginNodeHost, files: readonly NodeFile[], hostKey: HostKeyPair | undefined, applyId: string): Promise<NodeInstallResult> {
  const staged = await stageLoginNode(host, files, hostKey, applyId)
  await commitLoginNode(staged)
  return { node: staged.node, changed: staged.changed }
}

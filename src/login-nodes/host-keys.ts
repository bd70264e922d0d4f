/**
 * One set of SSH host keys per login pool, so users see the same host key whichever node
 * the balancer picks. The service generates the pair once (ssh-keygen) and keeps it in its
 * own state directory; every apply installs it on each node of the pool.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createLocalExecutor, type Executor } from '../adapters/executor.js'
import { isName } from '../spec/names.js'

export interface HostKeyPair {
  /** The file name on the node (`ssh_host_ed25519_key`; `.pub` beside it). */
  name: string
  privateKey: string
  publicKey: string
}

export const HOST_KEY_NAME = 'ssh_host_ed25519_key'

/** Thrown when the pool's key cannot be made or read. */
export class HostKeyError extends Error {
  override name = 'HostKeyError'
}

/** The pool's host key pair under `stateDir/<cluster>/<pool>/`, generated the first time. */
export async function poolHostKeys(stateDir: string, cluster: string, pool: string, executor: Executor = createLocalExecutor()): Promise<HostKeyPair> {
  if (!isName(cluster) || !isName(pool)) throw new HostKeyError(`bad cluster or pool name "${cluster}/${pool}"`)
  const dir = join(stateDir, cluster, pool)
  const path = join(dir, HOST_KEY_NAME)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  let privateKey = await readFile(path, 'utf8').catch(() => undefined)
  if (privateKey === undefined) {
    const res = await executor.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `hpc-steward ${cluster}/${pool}`, '-f', path])
    if (res.code !== 0) throw new HostKeyError(`ssh-keygen could not make the host key of pool ${pool}: ${res.stderr.trim()}`)
    privateKey = await readFile(path, 'utf8')
  }
  const publicKey = await readFile(`${path}.pub`, 'utf8').catch((err: unknown) => {
    throw new HostKeyError(`${path}.pub is missing: remove ${path} to make a new pair`, { cause: err })
  })
  return { name: HOST_KEY_NAME, privateKey, publicKey }
}

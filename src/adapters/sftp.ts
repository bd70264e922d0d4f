/**
 * File work over one SFTP session (ssh2's, through node-ssh): reads, synced writes,
 * atomic renames and removals, each a request on the open session rather than a remote
 * command, so none pays the remote shell's start-up. OpenSSH's extensions are used where
 * the server has them: fsync@openssh.com (data and directory entries to the disk) and
 * posix-rename@openssh.com (rename(2), which replaces the target atomically); callers
 * fall back to commands where they are missing.
 */
import type { NodeSSH } from 'node-ssh'
import { ExecError } from './executor.js'

/** SSH_FX_NO_SUCH_FILE: the path does not exist (a dangling link included). */
const NO_SUCH_FILE = 2

type Callback<T = void> = (err: (Error & { code?: number }) | null | undefined, value: T) => void

/** The part of ssh2's SFTPWrapper used here (ssh2 ships no types). */
interface SftpWrapper {
  readFile(path: string, options: { encoding: 'utf8' }, cb: Callback<string>): void
  open(path: string, flags: string, attrs: { mode: number }, cb: Callback<Buffer>): void
  write(handle: Buffer, buf: Buffer, offset: number, length: number, position: number, cb: Callback): void
  fchmod(handle: Buffer, mode: number, cb: Callback): void
  close(handle: Buffer, cb: Callback): void
  unlink(path: string, cb: Callback): void
  ext_openssh_fsync(handle: Buffer, cb: Callback): void
  ext_openssh_rename(from: string, to: string, cb: Callback): void
  end(): void
  _extensions?: Record<string, string>
}

/** One SFTP session on a connection. */
export interface Sftp {
  /** A file's text; undefined when it does not exist. */
  readText(path: string): Promise<string | undefined>
  /** Creates or truncates `path` with `content` and `mode`; true when it was fsynced too. */
  writeSynced(path: string, content: string, mode: number): Promise<boolean>
  /** Renames atomically over `to`; false when the server lacks posix-rename (nothing was done). */
  rename(from: string, to: string): Promise<boolean>
  /** Removes a file; a missing one is not an error. */
  remove(path: string): Promise<void>
  /** Fsyncs a directory (its entries); false when the server cannot. */
  syncDirectory(path: string): Promise<boolean>
}

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(err) : resolve(value)))
  })
}

/** Opens an SFTP session on `ssh`; rejects when the server has no SFTP subsystem. */
export async function openSftp(ssh: NodeSSH, label: string): Promise<Sftp> {
  const wrapper = (await ssh.requestSFTP()) as unknown as SftpWrapper
  const has = (ext: string) => wrapper._extensions?.[ext] !== undefined
  const fsync = has('fsync@openssh.com')
  const failed = (what: string, path: string, err: unknown) => new ExecError(`cannot ${what} ${path} on ${label}: ${(err as Error).message}`, { cause: err })
  return {
    async readText(path) {
      try {
        return await call<string>((cb) => wrapper.readFile(path, { encoding: 'utf8' }, cb))
      } catch (err) {
        if ((err as { code?: number }).code === NO_SUCH_FILE) return undefined
        throw failed('read', path, err)
      }
    },
    async writeSynced(path, content, mode) {
      let handle: Buffer
      try {
        handle = await call<Buffer>((cb) => wrapper.open(path, 'w', { mode }, cb))
      } catch (err) {
        throw failed('create', path, err)
      }
      try {
        const data = Buffer.from(content, 'utf8')
        await call((cb) => wrapper.write(handle, data, 0, data.length, 0, cb))
        // The mode as given, whatever the server's umask.
        await call((cb) => wrapper.fchmod(handle, mode, cb))
        if (fsync) await call((cb) => wrapper.ext_openssh_fsync(handle, cb))
      } catch (err) {
        throw failed('write', path, err)
      } finally {
        await call((cb) => wrapper.close(handle, cb)).catch(() => undefined)
      }
      return fsync
    },
    async rename(from, to) {
      if (!has('posix-rename@openssh.com')) return false
      try {
        await call((cb) => wrapper.ext_openssh_rename(from, to, cb))
        return true
      } catch (err) {
        throw failed('rename', `${from} to ${to}`, err)
      }
    },
    async remove(path) {
      try {
        await call((cb) => wrapper.unlink(path, cb))
      } catch (err) {
        if ((err as { code?: number }).code !== NO_SUCH_FILE) throw failed('remove', path, err)
      }
    },
    async syncDirectory(path) {
      if (!fsync) return false
      let handle: Buffer
      try {
        handle = await call<Buffer>((cb) => wrapper.open(path, 'r', { mode: 0 }, cb))
      } catch {
        return false
      }
      try {
        await call((cb) => wrapper.ext_openssh_fsync(handle, cb))
        return true
      } catch {
        return false
      } finally {
        await call((cb) => wrapper.close(handle, cb)).catch(() => undefined)
      }
    },
  }
}

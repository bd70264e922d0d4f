/**
 * The private sshd on loopback (ops/ssh/start.sh) that tests reach controllers through:
 * started if needed, its connection returned as the script prints it.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

export interface TestSshd {
  /** ssh://root@127.0.0.1:PORT */
  url: string
  /** The client's private key file. */
  identity: string
  /** The sshd's host key fingerprint, SHA256:... */
  hostKey: string
}

/** Starts (or finds) the test sshd. */
export async function testSshd(): Promise<TestSshd> {
  const { stdout } = await promisify(execFile)('bash', [new URL('../../ops/ssh/start.sh', import.meta.url).pathname], { timeout: 5 * 60 * 1000 })
  const env = new Map(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
  const get = (key: string): string => {
    const value = env.get(key)
    if (!value) throw new Error(`ops/ssh/start.sh printed no ${key}: ${stdout}`)
    return value
  }
  return { url: get('STEWARD_SSH_URL'), identity: get('STEWARD_SSH_KEY'), hostKey: get('STEWARD_SSH_HOST_KEY') }
}

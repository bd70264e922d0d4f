/**
 * Loopback ports for the test servers (sshd, HAProxy): a free one to configure, and a wait
 * until something listens on it.
 */
import { createServer } from 'node:net'

/** A port nothing listens on now: the kernel's pick on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/** True when something listens on 127.0.0.1:`port` (binding it fails). */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(true))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)))
  })
}

/** Resolves once something listens on `port`; throws `failure` after `tries` probes `intervalMs` apart. */
export async function waitListening(port: number, failure: string, tries: number, intervalMs: number): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await listening(port)) return
    await new Promise((r) => setTimeout(r, intervalMs))
  }
  throw new Error(failure)
}

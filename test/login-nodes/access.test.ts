/**
 * Login nodes are reached over SSH only with a pinned host key: the node's own (set by the
 * admin) or its pool's shared key once the service made it. The fingerprint of the pool's
 * key is the one `ssh-keygen -lf` prints.
 */
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loginHostKeys } from '../../src/login-nodes/access.js'
import { HOST_KEY_NAME, poolHostKeys } from '../../src/login-nodes/host-keys.js'
import { publicKeyFingerprint } from '../../src/adapters/ssh-executor.js'
import type { DesiredPool } from '../../src/login-nodes/model.js'

const pool = { name: 'lab' } as DesiredPool
const own = `SHA256:${'A'.repeat(43)}`

t.test('a node with nothing pinned and no pool key has no host key: it will be refused', async (t) => {
  t.same(loginHostKeys({ cluster: 'campus' })(pool, 'login-1'), [])
  t.same(loginHostKeys({ cluster: 'campus', poolKeyDir: mkdtempSync(join(tmpdir(), 'keys-')) })(pool, 'login-1'), [])
})

t.test('a node accepts its own pinned key and, once made, the pool\'s shared key as ssh-keygen prints it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'keys-'))
  const key = await poolHostKeys(dir, 'campus', 'lab')
  const printed = execFileSync('ssh-keygen', ['-lf', join(dir, 'campus', 'lab', `${HOST_KEY_NAME}.pub`)], { encoding: 'utf8' }).split(' ')[1]
  t.equal(publicKeyFingerprint(key.publicKey), printed)
  const keys = loginHostKeys({ cluster: 'campus', pinned: { 'login-1': own }, poolKeyDir: dir })
  t.same(keys(pool, 'login-1'), [own, printed])
  t.same(keys(pool, 'login-2'), [printed], 'a node without its own pin takes only the pool key')
})

t.test('a malformed pinned fingerprint is refused, not ignored', async (t) => {
  t.throws(() => loginHostKeys({ cluster: 'campus', pinned: { 'login-1': 'md5:00' } })(pool, 'login-1'), /not a host key fingerprint/)
})

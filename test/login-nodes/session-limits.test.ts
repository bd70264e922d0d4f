import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { readFileSync } from 'node:fs'
import { pamProblems, sessionLimitFiles, DEBIAN_PATHS } from '../../src/login-nodes/session-limits.js'
import type { ClusterSpec } from '../../src/spec/schema.js'

const campus = () => parse(readFileSync(new URL('../../examples/campus.yaml', import.meta.url), 'utf8')) as ClusterSpec

t.test('maxlogins with overrides, the sshd drop-in and a read-only TMOUT', async (t) => {
  const spec = campus()
  spec.sessions = { ssh: { maxPerUser: 4, idleTimeoutMinutes: 30 }, overrides: [{ user: 'alice', maxPerUser: 12 }] }
  const files = sessionLimitFiles(spec)
  t.same(files.map((f) => `${f.dir}/${f.name}`), [
    '/etc/security/limits.d/90-hpc-steward-logins.conf', '/etc/ssh/sshd_config.d/90-hpc-steward.conf', '/etc/profile.d/hpc-steward-tmout.sh',
  ])
  t.match(files[0]?.content, /\*\thard\tmaxlogins\t4\nalice\thard\tmaxlogins\t12\n/)
  t.match(files[1]?.content, /ClientAliveInterval 60\nClientAliveCountMax 3\nChannelTimeout session:\*=30m/)
  t.notMatch(files.map((f) => f.content).join('\n'), /pam_slurm_adopt\.so/)
  const dir = mkdtempSync('/tmp/steward-tmout-')
  writeFileSync(join(dir, 't.sh'), files[2]?.content ?? '')
  const { stdout } = await promisify(execFile)('bash', ['-c', `. ${join(dir, 't.sh')}; echo "tmout=$TMOUT"; (TMOUT=0; echo changed) 2>/dev/null || echo refused; . ${join(dir, 't.sh')}; echo "again=$TMOUT"`])
  t.equal(stdout, 'tmout=1800\nrefused\nagain=1800\n', 'read-only, and sourcing twice is harmless')
})

t.test('no sessions.ssh: no files; no idle timeout: no TMOUT and no ChannelTimeout', async (t) => {
  t.same(sessionLimitFiles(campus()), [])
  const spec = campus()
  spec.sessions = { ssh: { maxPerUser: 2 } }
  const files = sessionLimitFiles(spec)
  t.same(files.map((f) => f.name), ['90-hpc-steward-logins.conf', '90-hpc-steward.conf'])
  t.notMatch(files[1]?.content, /ChannelTimeout/)
})

t.test('the PAM stack of a login node: pam_limits required, pam_slurm_adopt refused', async (t) => {
  t.same(pamProblems(readFileSync('/etc/pam.d/sshd', 'utf8'), DEBIAN_PATHS.pamSshd), [], 'Debian\'s stock sshd stack')
  t.match(pamProblems('@include common-auth\naccount required pam_slurm_adopt.so\nsession required pam_limits.so\n', '/etc/pam.d/sshd'), [/uses pam_slurm_adopt/])
  t.match(pamProblems('@include common-auth\n# session required pam_limits.so\n', '/etc/pam.d/sshd'), [/no "session required pam_limits.so"/])
  t.same(pamProblems('# account required pam_slurm_adopt.so\nsession [default=bad] pam_limits.so conf=/x\n', '/p'), [])
  t.match(pamProblems(undefined, '/etc/pam.d/sshd'), [/is missing/])
})

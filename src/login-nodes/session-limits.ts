/**
 * The session limits of a login node, from `sessions.ssh`: a pam_limits file (`maxlogins`
 * with per-user overrides), an sshd_config.d drop-in (ClientAlive*, ChannelTimeout for the
 * idle limit) and a read-only TMOUT for shells. Pure: paths and contents only.
 */
import type { ClusterSpec } from '../spec/schema.js'
import { loginFileHeader } from './model.js'
import { renderTemplate } from '../slurm/render.js'

/** Where a login node keeps each file (Debian's layout by default; tests point elsewhere). */
export interface LoginNodePaths {
  limitsDir: string
  sshdDropInDir: string
  profileDir: string
  /** The PAM service file of sshd, checked for pam_limits and against pam_slurm_adopt. */
  pamSshd: string
  /** Where sshd reads its host keys; the pool's shared key is installed there. */
  hostKeyDir: string
  /** sshd's main configuration, for `sshd -t`. */
  sshdConfig: string
}

export const DEBIAN_PATHS: LoginNodePaths = {
  limitsDir: '/etc/security/limits.d',
  sshdDropInDir: '/etc/ssh/sshd_config.d',
  profileDir: '/etc/profile.d',
  pamSshd: '/etc/pam.d/sshd',
  hostKeyDir: '/etc/ssh',
  sshdConfig: '/etc/ssh/sshd_config',
}

export const LIMITS_FILE = '90-hpc-steward-logins.conf'
export const SSHD_DROP_IN = '90-hpc-steward.conf'
export const TMOUT_FILE = 'hpc-steward-tmout.sh'

/** A file for a login node: its directory, name and content. */
export interface NodeFile {
  dir: string
  name: string
  content: string
  mode: number
}

/** The interval of sshd's keep-alive probes and how many may go unanswered. */
const ALIVE_INTERVAL = 60
const ALIVE_COUNT_MAX = 3

/** The session-limit files of every login node of the spec; none without `sessions.ssh`. */
export function sessionLimitFiles(spec: ClusterSpec, paths: LoginNodePaths = DEBIAN_PATHS): NodeFile[] {
  const ssh = spec.sessions?.ssh
  if (!ssh) return []
  const header = loginFileHeader(spec)
  const files: NodeFile[] = []
  if (ssh.maxPerUser !== undefined) {
    const lines = [
      { domain: '*', value: ssh.maxPerUser },
      ...(spec.sessions?.overrides ?? []).map((o) => ({ domain: o.user, value: o.maxPerUser })),
    ]
    files.push({ dir: paths.limitsDir, name: LIMITS_FILE, content: renderTemplate('login-limits.conf', { header, lines }), mode: 0o644 })
  }
  const idle = ssh.idleTimeoutMinutes
  files.push({
    dir: paths.sshdDropInDir, name: SSHD_DROP_IN, mode: 0o644,
    content: renderTemplate('login-sshd.conf', {
      header, aliveInterval: ALIVE_INTERVAL, aliveCountMax: ALIVE_COUNT_MAX, deadSeconds: ALIVE_INTERVAL * ALIVE_COUNT_MAX,
      channelTimeout: idle !== undefined, idleMinutes: idle ?? 0,
    }),
  })
  if (idle !== undefined) {
    files.push({ dir: paths.profileDir, name: TMOUT_FILE, mode: 0o644, content: renderTemplate('login-tmout.sh', { header, idleMinutes: idle, seconds: idle * 60 }) })
  }
  return files
}

/** Problems of a login node's sshd PAM stack: pam_slurm_adopt present, pam_limits absent. */
export function pamProblems(pamSshd: string | undefined, path: string): string[] {
  if (pamSshd === undefined) return [`${path} is missing: sshd has no PAM stack to enforce maxlogins with`]
  const active = pamSshd.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  const problems: string[] = []
  if (active.some((l) => l.includes('pam_slurm_adopt'))) problems.push(`${path} uses pam_slurm_adopt: on a login node it refuses every user without a job there; remove it (it belongs on compute nodes)`)
  if (!active.some((l) => /^session\s+(?:\[[^\]]*\]|\S+)\s+pam_limits\.so/.test(l))) {
    problems.push(`${path} has no "session required pam_limits.so": maxlogins would not be enforced`)
  }
  return problems
}

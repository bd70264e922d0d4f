/**
 * Shared building blocks of the spec format (spec-format.md): the allowlisted names,
 * free text, Slurm times and TRES maps. The spec loader and the API bodies use the same
 * schemas, so a name rejected in a YAML file is rejected in a request body too.
 *
 * Every name that reaches a Slurm file, a sacctmgr argv or a POSIX database is checked
 * against these patterns; nothing is ever escaped or quoted into a file instead.
 */
import { Type, type Static } from '@sinclair/typebox'
import { LIMITS } from './limits.js'

/*
 * Every pattern is a regex literal, so `eslint-plugin-regexp` checks it for super-linear
 * backtracking (a user-supplied string is matched against each one); schemas take its
 * `.source`. test/spec/names.test.ts feeds each one its worst inputs.
 */

/** cluster, department, supervisor, partition, QoS, node group and account names. */
export const NAME_RE = /^[a-z][a-z0-9_-]{0,39}$/
/** POSIX portable user names. */
export const USER_NAME_RE = /^[a-z_][a-z0-9_-]{0,31}$/
/** A host name: letters, digits, `-` and `.`. */
export const HOST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/
/**
 * A hostlist expression: host-name characters, with `[`, `]` and `,` only inside a range
 * such as `gpu-[001-016,020]`. Top-level commas separate items. The hostlist module does
 * the full parse; this pattern only keeps other characters out.
 */
export const HOSTLIST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]|\[\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*\])*(?:,[A-Za-z0-9](?:[A-Za-z0-9.-]|\[\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*\])*)*$/
/** An absolute device path or device hostlist such as `/dev/nvidia[0-7]`. */
export const DEVICE_RE = /^\/dev\/[\w/-]+(?:\[\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*\])?$/
/** Printable ASCII without `'`, `"`, `\`, `#`, `:`; the pattern has no newline by construction. */
export const FREE_TEXT_RE = /^[ !$%&()*+,./\w;<=>?@[\]^`{|}~-]{0,120}$/
/** An absolute directory: `/` and a name, once or more (no trailing `/`; each `/` starts a segment, so matching is linear). */
export const HOME_ROOT_RE = /^(?:\/[\w.-]+)+$/
/** `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` or `UNLIMITED`. */
export const TIME_RE = /^(?:UNLIMITED|\d+(?:-\d{1,2})?(?::\d{1,2}){0,2})$/
/** A Slurm release such as `22.05` or `24.11.1`. */
export const SLURM_VERSION_RE = /^\d{2}\.\d{2}(?:\.\d+)?$/
/** An IPv4 or IPv6 address or a host name. */
export const ADDRESS_RE = /^(?:(?:\d{1,3}\.){3}\d{1,3}|[\d:A-Fa-f]{2,39}|[A-Za-z0-9][A-Za-z0-9.-]{0,252})$/
/** A SageMaker HyperPod instance group or cluster name, as AWS documents it: `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$` (`-` never first or last). */
export const INSTANCE_GROUP_RE = /^[A-Za-z0-9](?:-*[A-Za-z0-9]){0,62}$/
/** A QoS flag such as `DenyOnLimit`. */
export const QOS_FLAG_RE = /^[A-Za-z]{1,40}$/
/** An e-mail address: dot-separated domain labels, then a top-level domain of letters. */
export const EMAIL_RE = /^[\w%+.-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,63}$/
/**
 * An absolute path of letters, digits, `.`, `_`, `-` and single `/` separators. Each
 * segment ends at a `/` and the last one has none, so no string has two ways to match
 * (the former `^/(?:[A-Za-z0-9._-]+/?)*$` backtracked exponentially).
 */
export const HOME_RE = /^\/(?:[\w.-]+\/)*[\w.-]*$/

/** An SSH host key fingerprint as `ssh-keygen -lf` prints it: `SHA256:` and 43 base64 characters. */
export const HOST_KEY_RE = /^SHA256:[A-Za-z0-9+/]{43}$/

/** The pattern strings of the above, for JSON Schema (`pattern`) and older callers. */
export const NAME_PATTERN = NAME_RE.source
export const USER_NAME_PATTERN = USER_NAME_RE.source
export const HOST_NAME_PATTERN = HOST_NAME_RE.source
export const HOSTLIST_PATTERN = HOSTLIST_RE.source
export const DEVICE_PATTERN = DEVICE_RE.source
export const FREE_TEXT_PATTERN = FREE_TEXT_RE.source
export const TIME_PATTERN = TIME_RE.source
export const HOME_ROOT_PATTERN = HOME_ROOT_RE.source

export const Name = Type.String({ pattern: NAME_PATTERN, maxLength: 40, description: 'lower-case name: ^[a-z][a-z0-9_-]{0,39}$' })
export const UserName = Type.String({ pattern: USER_NAME_PATTERN, maxLength: 32, description: 'POSIX user name: ^[a-z_][a-z0-9_-]{0,31}$' })
export const HostName = Type.String({ pattern: HOST_NAME_PATTERN, maxLength: 253, description: 'host name: letters, digits, - and .' })
export const Hostlist = Type.String({ pattern: HOSTLIST_PATTERN, maxLength: LIMITS.hostlistLength, description: 'hostlist expression such as gpu-[001-016]' })
export const FreeText = Type.String({ pattern: FREE_TEXT_PATTERN, maxLength: 120, description: 'printable ASCII without quotes, backslash, # or :, at most 120 characters' })
/** A Slurm time string, or a whole number of minutes (YAML reads an unquoted `60` as a number). */
export const SlurmTime = Type.Union(
  [Type.String({ pattern: TIME_PATTERN, maxLength: 32 }), Type.Integer({ minimum: 0, maximum: 525_600_000 })],
  { description: 'Slurm time: MM, HH:MM:SS, D-HH, D-HH:MM:SS or UNLIMITED' },
)
export type SlurmTime = Static<typeof SlurmTime>
/** A uid or gid the spec may manage: 1000 (below are system ids) to 2^32 - 2. */
export const PosixId = (description: string) => Type.Integer({ minimum: 1000, maximum: 4_294_967_294, description })
export const Count = Type.Integer({ minimum: 0, maximum: 2_147_483_647 })
export const PositiveCount = Type.Integer({ minimum: 1, maximum: 2_147_483_647 })

/** TRES limits keyed as in spec-format.md; mapped to Slurm `cpu`, `mem`, `gres/gpu`, `node`, `gres/shard`. */
export const TresMap = Type.Object(
  {
    cpu: Type.Optional(Count),
    mem: Type.Optional(Count),
    gpu: Type.Optional(Count),
    node: Type.Optional(Count),
    shard: Type.Optional(Count),
  },
  { additionalProperties: false, description: 'TRES limits: cpu, mem (MiB), gpu, node, shard' },
)
export type TresMap = Static<typeof TresMap>

export { TRES_NAMES } from './units.js'

/** True when a value may be written into a Slurm file or argv as a name. */
export function isName(value: string): boolean {
  return NAME_RE.test(value)
}

/** True when a value is a POSIX portable user name. */
export function isUserName(value: string): boolean {
  return USER_NAME_RE.test(value)
}

/**
 * The optional `loginNodes` and `sessions` sections of the spec (spec-format.md): pools of
 * interchangeable login nodes behind a balancer (an NLB target group or HAProxy), and the
 * per-user session limits for SSH on the login nodes and for Session Manager.
 */
import { Type, type Static, type TProperties, type TObject } from '@sinclair/typebox'
import { HOST_NAME_RE, Hostlist, INSTANCE_GROUP_RE, Name, UserName } from './names.js'
import { LIMITS } from './limits.js'

const strict = <T extends TProperties>(properties: T, description?: string): TObject<T> =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) })

/** An ELBv2 target group ARN: `arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<16 hex>`. */
export const TARGET_GROUP_ARN_PATTERN = /^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:elasticloadbalancing:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:targetgroup\/[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?\/[0-9a-f]{16}$/.source
/** `ADDR:PORT` with an IPv4 address or a host name (the same characters), or `[IPv6]`. */
export const LISTEN_PATTERN = /^(?:\[[\d:A-Fa-f]{2,39}\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):\d{1,5}$/.source
/** An absolute path of letters, digits, `.`, `_`, `-` and `/` (no `..` checked in validation). */
export const SOCKET_PATH_PATTERN = /^\/(?:[\w.-]+\/)*[\w.-]+$/.source
/** A balancer target: an IPv4 address, optionally with `:PORT` (HAProxy), or an EC2 instance id. */
export const TARGET_PATTERN = /^(?:(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?|i-[0-9a-f]{8}(?:[0-9a-f]{9})?)$/.source

export const NlbBalancer = strict({
  type: Type.Literal('nlb'),
  targetGroupArn: Type.String({ pattern: TARGET_GROUP_ARN_PATTERN, maxLength: 160, description: 'target group ARN: arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/16-HEX' }),
  targetType: Type.Union([Type.Literal('ip'), Type.Literal('instance')], { description: 'ip or instance' }),
})
export type NlbBalancer = Static<typeof NlbBalancer>

export const HaproxyBalancer = strict({
  type: Type.Literal('haproxy'),
  listen: Type.String({ pattern: LISTEN_PATTERN, maxLength: 260, description: 'ADDR:PORT the frontend binds, e.g. 0.0.0.0:22' }),
  runtimeSocket: Type.String({ pattern: SOCKET_PATH_PATTERN, maxLength: 107, description: 'absolute path of the HAProxy runtime API socket (stats socket ... level admin)' }),
})
export type HaproxyBalancer = Static<typeof HaproxyBalancer>

export const LoginPool = strict({
  name: Name,
  nodes: Hostlist,
  instanceGroup: Type.Optional(Type.String({ pattern: INSTANCE_GROUP_RE.source, maxLength: 63, description: 'HyperPod login_group' })),
  balancer: Type.Union([NlbBalancer, HaproxyBalancer], { description: '{type: nlb, targetGroupArn, targetType} or {type: haproxy, listen, runtimeSocket}' }),
  sshPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
  drainGraceMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, description: 'minutes (0-60; the NLB deregistration delay allows at most 3600 s)' })),
  /**
   * Where the balancer reaches each node (an added optional field): an IPv4 address with an
   * optional port for HAProxy (default: the node name and `sshPort`), the IP or the
   * instance id of the NLB target (required for an NLB pool, per its `targetType`).
   */
  targets: Type.Optional(Type.Record(Type.String({ pattern: HOST_NAME_RE.source, maxLength: 253 }), Type.String({ pattern: TARGET_PATTERN, maxLength: 21, description: 'IPv4[:PORT] or an instance id i-...' }), { maxProperties: LIMITS.loginNodesPerPool })),
})
export type LoginPool = Static<typeof LoginPool>

export const LoginNodes = strict({ pools: Type.Array(LoginPool, { minItems: 1, maxItems: LIMITS.loginPools }) }, 'Pools of login nodes behind a balancer')
export type LoginNodes = Static<typeof LoginNodes>

const Limit = Type.Integer({ minimum: 1, maximum: 1000 })

export const Sessions = strict({
  ssh: Type.Optional(strict({
    maxPerUser: Type.Optional(Limit),
    idleTimeoutMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
  })),
  ssm: Type.Optional(strict({
    maxPerUser: Type.Optional(Limit),
    maxDurationMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, description: 'Session Manager maxSessionDuration, 1-1440 minutes' })),
    idleTimeoutMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 60, description: 'Session Manager idleSessionTimeout, 1-60 minutes' })),
  })),
  overrides: Type.Optional(Type.Array(strict({ user: UserName, maxPerUser: Limit }), { maxItems: LIMITS.users })),
}, 'Per-user session limits on the login nodes (SSH) and in Session Manager')
export type Sessions = Static<typeof Sessions>


/**
 * The optional `loginNodes` and `sessions` sections of the spec (spec-format.md): pools of
 * interchangeable login nodes behind a balancer (an NLB target group or HAProxy), and the
 * per-user session limits for SSH on the login nodes and for Session Manager.
 */
import { Type, type Static, type TProperties, type TObject } from '@sinclair/typebox'
import { Hostlist, Name, UserName } from './names.js'

const strict = <T extends TProperties>(properties: T, description?: string): TObject<T> =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) })

/** An ELBv2 target group ARN: `arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<16 hex>`. */
export const TARGET_GROUP_ARN_PATTERN = '^arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:elasticloadbalancing:[a-z]{2}(?:-[a-z]+)+-[0-9]:[0-9]{12}:targetgroup/[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?/[0-9a-f]{16}$'
/** `ADDR:PORT` with an IPv4 address, `[IPv6]` or a host name. */
export const LISTEN_PATTERN = '^(?:(?:[0-9]{1,3}\\.){3}[0-9]{1,3}|\\[[0-9a-fA-F:]{2,39}\\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):[0-9]{1,5}$'
/** An absolute path of letters, digits, `.`, `_`, `-` and `/` (no `..` checked in validation). */
export const SOCKET_PATH_PATTERN = '^/(?:[A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+$'
/** A balancer target: an IPv4 address, optionally with `:PORT` (HAProxy), or an EC2 instance id. */
export const TARGET_PATTERN = '^(?:(?:[0-9]{1,3}\\.){3}[0-9]{1,3}(?::[0-9]{1,5})?|i-[0-9a-f]{8}(?:[0-9a-f]{9})?)$'

export const NlbBalancer = strict({
  type: Type.Literal('nlb'),
  targetGroupArn: Type.String({ pattern: TARGET_GROUP_ARN_PATTERN, description: 'target group ARN: arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/16-HEX' }),
  targetType: Type.Union([Type.Literal('ip'), Type.Literal('instance')], { description: 'ip or instance' }),
})
export type NlbBalancer = Static<typeof NlbBalancer>

export const HaproxyBalancer = strict({
  type: Type.Literal('haproxy'),
  listen: Type.String({ pattern: LISTEN_PATTERN, description: 'ADDR:PORT the frontend binds, e.g. 0.0.0.0:22' }),
  runtimeSocket: Type.String({ pattern: SOCKET_PATH_PATTERN, maxLength: 107, description: 'absolute path of the HAProxy runtime API socket (stats socket ... level admin)' }),
})
export type HaproxyBalancer = Static<typeof HaproxyBalancer>

export const LoginPool = strict({
  name: Name,
  nodes: Hostlist,
  instanceGroup: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9-]{0,62}$', description: 'HyperPod login_group' })),
  balancer: Type.Union([NlbBalancer, HaproxyBalancer], { description: '{type: nlb, targetGroupArn, targetType} or {type: haproxy, listen, runtimeSocket}' }),
  sshPort: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
  drainGraceMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 60, description: 'minutes (0-60; the NLB deregistration delay allows at most 3600 s)' })),
  /**
   * Where the balancer reaches each node (an added optional field): an IPv4 address with an
   * optional port for HAProxy (default: the node name and `sshPort`), the IP or the
   * instance id of the NLB target (required for an NLB pool, per its `targetType`).
   */
  targets: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$' }), Type.String({ pattern: TARGET_PATTERN, description: 'IPv4[:PORT] or an instance id i-...' }))),
})
export type LoginPool = Static<typeof LoginPool>

export const LoginNodes = strict({ pools: Type.Array(LoginPool, { minItems: 1 }) }, 'Pools of login nodes behind a balancer')
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
  overrides: Type.Optional(Type.Array(strict({ user: UserName, maxPerUser: Limit }))),
}, 'Per-user session limits on the login nodes (SSH) and in Session Manager')
export type Sessions = Static<typeof Sessions>


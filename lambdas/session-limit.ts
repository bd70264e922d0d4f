/**
 * The session-limit Lambda: on Session Manager's `StartSession` (CloudTrail API call events
 * through EventBridge) and on a schedule, ends the newest Session Manager sessions of a
 * user beyond `sessions.ssm.maxPerUser` (or the user's override), keeping the oldest.
 *
 * Environment: `STEWARD_CLUSTER` (required), `STEWARD_POLICY_PARAMETER` (default
 * `/hpc-steward/<cluster>/policy`), `POLICY_TTL_SECONDS` (default 60).
 * Duplicate and out-of-order deliveries have one effect (decisions read the sessions
 * active now); an event that cannot be parsed is logged and dropped, never retried.
 */
import { Logger } from '@aws-lambda-powertools/logger'
import { SSMClient } from '@aws-sdk/client-ssm'
import { policyParameterName, type Policy } from '../src/sessions/policy.js'
import { createPolicyReader, PolicyUnavailableError } from '../src/adapters/aws/ssm-policy.js'
import { enforceAll, enforceOwner, parseSessionEvent, type Decision } from '../src/sessions/session-limit.js'
import { createSsmSessionPort } from '../src/adapters/aws/ssm-sessions.js'

const logger = new Logger({ serviceName: 'hpc-steward-session-limit' })
const ssm = new SSMClient({})
const port = createSsmSessionPort(ssm)
const cluster = process.env.STEWARD_CLUSTER ?? ''
const parameter = process.env.STEWARD_POLICY_PARAMETER ?? policyParameterName(cluster)
const ttlMs = Number(process.env.POLICY_TTL_SECONDS ?? 60) * 1000

const policy = createPolicyReader(parameter, ttlMs, ssm)

function logDecision(d: Decision, eventId: string): void {
  const message = d.limit === undefined ? 'no limit' : d.terminated.length + d.alreadyGone.length > 0 ? 'sessions over the limit ended' : 'within the limit'
  logger.info(message, { eventId, owner: d.owner, user: d.user ?? null, limit: d.limit ?? null, active: d.active, terminated: d.terminated, alreadyGone: d.alreadyGone })
}

export interface HandlerResult {
  status: 'done' | 'dropped'
  decisions: Decision[]
  reason?: string
}

export const handler = async (event: unknown): Promise<HandlerResult> => {
  const parsed = parseSessionEvent(event)
  if (parsed.kind === 'invalid') {
    logger.warn('event dropped', { reason: parsed.reason, event: JSON.stringify(event)?.slice(0, 2000) ?? null })
    return { status: 'dropped', decisions: [], reason: parsed.reason }
  }
  if (!cluster) {
    logger.error('STEWARD_CLUSTER is not set: the function cannot know whose policy to read')
    return { status: 'dropped', decisions: [], reason: 'STEWARD_CLUSTER is not set' }
  }
  let current: Policy
  try {
    current = await policy()
  } catch (err) {
    if (!(err instanceof PolicyUnavailableError)) throw err
    logger.error('policy unavailable; event dropped', { eventId: parsed.eventId, reason: err.message })
    return { status: 'dropped', decisions: [], reason: err.message }
  }
  const decisions = parsed.kind === 'sweep' ? await enforceAll(current, port) : [await enforceOwner(current, parsed.owner, port)]
  for (const d of decisions) logDecision(d, parsed.eventId)
  return { status: 'done', decisions }
}

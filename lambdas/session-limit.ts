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
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { Value } from '@sinclair/typebox/value'
import { Policy, policyParameterName } from '../src/sessions/policy.js'
import { enforceAll, enforceOwner, parseSessionEvent, type Decision } from '../src/sessions/session-limit.js'
import { createSsmSessionPort } from '../src/adapters/aws/ssm-sessions.js'

const logger = new Logger({ serviceName: 'hpc-steward-session-limit' })
const ssm = new SSMClient({})
const port = createSsmSessionPort(ssm)
const cluster = process.env.STEWARD_CLUSTER ?? ''
const parameter = process.env.STEWARD_POLICY_PARAMETER ?? policyParameterName(cluster)
const ttlMs = Number(process.env.POLICY_TTL_SECONDS ?? 60) * 1000

let cached: { policy: Policy; at: number } | undefined

/** Thrown when the policy parameter is missing or not a policy: the service has not published it. */
class PolicyUnavailableError extends Error {
  override name = 'PolicyUnavailableError'
}

async function policy(): Promise<Policy> {
  if (cached && Date.now() - cached.at < ttlMs) return cached.policy
  let text: string | undefined
  try {
    text = (await ssm.send(new GetParameterCommand({ Name: parameter }))).Parameter?.Value
  } catch (err) {
    if ((err as Error).name === 'ParameterNotFound') throw new PolicyUnavailableError(`${parameter} does not exist: has the service applied cluster ${cluster}?`)
    throw err
  }
  let value: unknown
  try {
    value = JSON.parse(text ?? '')
  } catch {
    throw new PolicyUnavailableError(`${parameter} is not JSON`)
  }
  if (!Value.Check(Policy, value)) throw new PolicyUnavailableError(`${parameter} is not an HPC Steward policy: ${[...Value.Errors(Policy, value)].slice(0, 3).map((e) => `${e.path} ${e.message}`).join('; ')}`)
  cached = { policy: value, at: Date.now() }
  return value
}

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

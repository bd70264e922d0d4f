/**
 * Session Manager limits: a user holds at most `sessions.ssm.maxPerUser` active sessions
 * (or their override); beyond that the newest are ended and the oldest kept. Decisions
 * depend only on the sessions active now, so a duplicate or late event has one effect.
 * Free of SDK clients: sessions are read and ended through a {@link SessionPort}.
 */
import type { Policy } from './policy.js'

export interface ActiveSession {
  id: string
  owner: string
  start: Date
}

/** What the limit needs from Session Manager. */
export interface SessionPort {
  /** Every active session (all pages), of one owner when given. */
  listActive(owner?: string): Promise<ActiveSession[]>
  /** Ends a session; `gone` when it no longer exists or had already ended. */
  terminate(id: string): Promise<'terminated' | 'gone'>
}

/** An event the handler acts on. */
export type SessionEvent =
  | { kind: 'start'; eventId: string; owner: string; sessionId: string | undefined }
  | { kind: 'sweep'; eventId: string }

export type ParsedEvent = SessionEvent | { kind: 'invalid'; reason: string }

const ARN = /^arn:aws[a-z-]*:(?:sts|iam)::\d{12}:[\w+=,.@/:-]{1,512}$/

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
}

/**
 * Reads an EventBridge event: a CloudTrail `StartSession` call (`AWS API Call via
 * CloudTrail`, source `aws.ssm`) or a schedule (`Scheduled Event`). Anything else, or a
 * failed call, is `invalid` with the reason: logged and dropped, never retried.
 */
export function parseSessionEvent(event: unknown): ParsedEvent {
  const e = object(event)
  if (!e) return { kind: 'invalid', reason: 'the event is not an object' }
  const eventId = typeof e.id === 'string' ? e.id : ''
  if (e['detail-type'] === 'Scheduled Event' && e.source === 'aws.events') return { kind: 'sweep', eventId }
  if (e['detail-type'] !== 'AWS API Call via CloudTrail' || e.source !== 'aws.ssm') {
    return { kind: 'invalid', reason: `unexpected event ${JSON.stringify(e['detail-type'])} from ${JSON.stringify(e.source)}` }
  }
  const detail = object(e.detail)
  if (!detail) return { kind: 'invalid', reason: 'the CloudTrail event has no detail' }
  if (detail.eventName !== 'StartSession') return { kind: 'invalid', reason: `not a StartSession call: ${JSON.stringify(detail.eventName)}` }
  if (detail.errorCode !== undefined) return { kind: 'invalid', reason: `the StartSession call failed (${String(detail.errorCode)}): no session to count` }
  const arn = object(detail.userIdentity)?.arn
  if (typeof arn !== 'string' || !ARN.test(arn)) return { kind: 'invalid', reason: `no caller ARN in userIdentity: ${JSON.stringify(arn)}` }
  const sessionId = object(detail.responseElements)?.sessionId
  return { kind: 'start', eventId, owner: arn, sessionId: typeof sessionId === 'string' ? sessionId : undefined }
}

/** The POSIX user behind an owner ARN (its session name, looked up in the policy), if known. */
export function userOf(policy: Policy, owner: string): string | undefined {
  const sessionName = owner.split('/').pop()?.toLowerCase() ?? ''
  return policy.users[sessionName]
}

/** The limit of an owner: the user's override, else `sessions.ssm.maxPerUser`; undefined = no limit. */
export function limitOf(policy: Policy, owner: string): { user: string | undefined; limit: number | undefined } {
  const user = userOf(policy, owner)
  const override = user !== undefined ? policy.sessions.overrides[user] : undefined
  return { user, limit: override ?? policy.sessions.ssm.maxPerUser }
}

/** The sessions beyond the limit: all but the `limit` oldest (ties broken by id, so every run agrees). */
export function sessionsBeyond(sessions: readonly ActiveSession[], limit: number): ActiveSession[] {
  const ordered = [...sessions].sort((a, b) => a.start.getTime() - b.start.getTime() || a.id.localeCompare(b.id))
  return ordered.slice(limit)
}

/** One decision, logged as one line. */
export interface Decision {
  owner: string
  user: string | undefined
  limit: number | undefined
  active: number
  terminated: string[]
  alreadyGone: string[]
}

/** Enforces the limit on one owner's sessions now. */
export async function enforceOwner(policy: Policy, owner: string, port: SessionPort, known?: ActiveSession[]): Promise<Decision> {
  const { user, limit } = limitOf(policy, owner)
  const sessions = known ?? await port.listActive(owner)
  const decision: Decision = { owner, user, limit, active: sessions.length, terminated: [], alreadyGone: [] }
  if (limit === undefined) return decision
  for (const s of sessionsBeyond(sessions, limit)) {
    const outcome = await port.terminate(s.id)
    if (outcome === 'terminated') decision.terminated.push(s.id)
    else decision.alreadyGone.push(s.id)
  }
  return decision
}

/** Enforces the limit on every owner with active sessions (the scheduled sweep). */
export async function enforceAll(policy: Policy, port: SessionPort): Promise<Decision[]> {
  const byOwner = new Map<string, ActiveSession[]>()
  for (const s of await port.listActive()) byOwner.set(s.owner, [...(byOwner.get(s.owner) ?? []), s])
  const decisions: Decision[] = []
  for (const [owner, sessions] of [...byOwner].sort(([a], [b]) => a.localeCompare(b))) decisions.push(await enforceOwner(policy, owner, port, sessions))
  return decisions
}

/**
 * Session Manager sessions for the emulator front: `DescribeSessions` (at most 200 a page,
 * as AWS documents; filters by Owner, Target, Status, SessionId, InvokedAfter/Before) and
 * `TerminateSession` (terminating a terminated session succeeds; an unknown id is
 * `DoesNotExistException`). moto 5.2.1 has neither. Sessions are seeded by tests.
 */
import { randomBytes } from 'node:crypto'
import { AwsFault, type FrontService } from './protocol.js'

/** AWS's documented maximum of `DescribeSessions.MaxResults`. */
export const DESCRIBE_SESSIONS_MAX = 200
const ACTIVE = new Set(['Connected', 'Connecting', 'Disconnected'])
const FILTER_KEYS = new Set(['InvokedAfter', 'InvokedBefore', 'Target', 'Owner', 'Status', 'SessionId', 'AccessType'])

export interface FrontSession {
  SessionId: string
  Target: string
  Owner: string
  Status: string
  /** Epoch seconds (the JSON protocol's timestamp form). */
  StartDate: number
  EndDate?: number
}

export interface SsmSessions {
  service: FrontService
  /** Adds an active session; returns it. */
  seed(session: { owner: string; target: string; startDate: Date; sessionId?: string }): FrontSession
  /** Every session, terminated ones included. */
  all(): FrontSession[]
  /** Ids of the owner's sessions that are still active. */
  activeIds(owner: string): string[]
  clear(): void
}

export function createSsmSessions(): SsmSessions {
  const sessions = new Map<string, FrontSession>()

  // Newest first, then by id: a total order, so a page token survives terminations.
  const order = (a: FrontSession, b: FrontSession): number => b.StartDate - a.StartDate || a.SessionId.localeCompare(b.SessionId)

  function describe(body: Record<string, unknown>): unknown {
    const state = body.State
    if (state !== 'Active' && state !== 'History') throw new AwsFault('ValidationException', `1 validation error detected: Value '${String(state)}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [Active, History]`)
    const max = body.MaxResults ?? DESCRIBE_SESSIONS_MAX
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > DESCRIBE_SESSIONS_MAX) {
      throw new AwsFault('ValidationException', `1 validation error detected: Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${DESCRIBE_SESSIONS_MAX}`)
    }
    const filters = Array.isArray(body.Filters) ? body.Filters as Array<{ key?: unknown; value?: unknown }> : []
    if (filters.length > 6) throw new AwsFault('ValidationException', 'at most 6 filters')
    for (const f of filters) {
      if (typeof f.key !== 'string' || !FILTER_KEYS.has(f.key) || typeof f.value !== 'string' || f.value.length === 0) {
        throw new AwsFault('InvalidFilterKey', `bad session filter ${JSON.stringify(f)}`)
      }
    }
    const matches = (s: FrontSession): boolean => filters.every((f) => {
      const value = f.value as string
      switch (f.key) {
        case 'Owner': return s.Owner === value
        case 'Target': return s.Target === value
        case 'Status': return s.Status === value
        case 'SessionId': return s.SessionId === value
        case 'InvokedAfter': return s.StartDate >= Date.parse(value) / 1000
        case 'InvokedBefore': return s.StartDate <= Date.parse(value) / 1000
        default: return true
      }
    })
    let list = [...sessions.values()].filter((s) => (state === 'Active') === ACTIVE.has(s.Status)).filter(matches).sort(order)
    if (body.NextToken !== undefined) {
      const after = decodeToken(body.NextToken)
      list = list.filter((s) => order(s, after) > 0)
    }
    const page = list.slice(0, max)
    const last = page.at(-1)
    return {
      Sessions: page,
      ...(list.length > max && last ? { NextToken: Buffer.from(JSON.stringify({ d: last.StartDate, i: last.SessionId })).toString('base64url') } : {}),
    }
  }

  function terminate(body: Record<string, unknown>): unknown {
    const id = body.SessionId
    if (typeof id !== 'string' || id.length === 0) throw new AwsFault('ValidationException', 'SessionId is required')
    const session = sessions.get(id)
    if (!session) throw new AwsFault('DoesNotExistException', `Session ${id} does not exist`)
    if (ACTIVE.has(session.Status)) {
      session.Status = 'Terminated'
      session.EndDate = Date.now() / 1000
    }
    return { SessionId: id }
  }

  return {
    service: { targetPrefix: 'AmazonSSM', operations: { DescribeSessions: describe, TerminateSession: terminate } },
    seed({ owner, target, startDate, sessionId }) {
      const name = owner.split('/').pop() ?? 'user'
      const s: FrontSession = {
        SessionId: sessionId ?? `${name}-${randomBytes(9).toString('hex')}`,
        Target: target, Owner: owner, Status: 'Connected', StartDate: startDate.getTime() / 1000,
      }
      sessions.set(s.SessionId, s)
      return s
    },
    all: () => [...sessions.values()],
    activeIds: (owner) => [...sessions.values()].filter((s) => s.Owner === owner && ACTIVE.has(s.Status)).sort(order).map((s) => s.SessionId),
    clear: () => sessions.clear(),
  }
}

function decodeToken(token: unknown): FrontSession {
  try {
    const { d, i } = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as { d: number; i: string }
    if (typeof d !== 'number' || typeof i !== 'string') throw new Error('shape')
    return { StartDate: d, SessionId: i, Target: '', Owner: '', Status: '' }
  } catch {
    throw new AwsFault('InvalidNextToken', 'The specified token is not valid')
  }
}

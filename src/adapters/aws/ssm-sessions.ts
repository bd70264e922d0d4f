/**
 * Session Manager sessions through SSM: `DescribeSessions` (state Active, filter Owner,
 * every page) and `TerminateSession`, where a session that no longer exists is `gone`,
 * not an error.
 */
import { DescribeSessionsCommand, SSMClient, TerminateSessionCommand, type SessionFilter } from '@aws-sdk/client-ssm'
import type { ActiveSession, SessionPort } from '../../sessions/session-limit.js'

/** DescribeSessions returns at most this many a page. */
export const SESSIONS_PAGE = 200
/** More pages than this is a runaway listing, not a user's sessions. */
const MAX_PAGES = 500

export function createSsmSessionPort(client: SSMClient = new SSMClient({})): SessionPort {
  return {
    async listActive(owner) {
      const filters: SessionFilter[] | undefined = owner ? [{ key: 'Owner', value: owner }] : undefined
      const sessions: ActiveSession[] = []
      let token: string | undefined
      for (let page = 0; page < MAX_PAGES; page++) {
        const res = await client.send(new DescribeSessionsCommand({ State: 'Active', MaxResults: SESSIONS_PAGE, Filters: filters, NextToken: token }))
        for (const s of res.Sessions ?? []) {
          if (s.SessionId && s.Owner) sessions.push({ id: s.SessionId, owner: s.Owner, start: s.StartDate ?? new Date(0) })
        }
        token = res.NextToken
        if (!token) return sessions
      }
      throw new Error(`DescribeSessions returned more than ${MAX_PAGES} pages`)
    },
    async terminate(id) {
      try {
        await client.send(new TerminateSessionCommand({ SessionId: id }))
        return 'terminated'
      } catch (err) {
        if ((err as Error).name === 'DoesNotExistException') return 'gone'
        throw err
      }
    },
  }
}

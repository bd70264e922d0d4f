/**
 * A loopback HTTP stand-in for the service's `POST /v1/clusters/{c}/budgets/events`,
 * holding to the contract between the budget-alert Lambda and the service: the body checked
 * against the route's own TypeBox schema (src/budgets/contract.ts: no extra field, every
 * type and range), a Bearer token, 404 for an unknown cluster, 422 for a budget the spec
 * does not name, and duplicates (same eventId, or same budget, month, threshold and type)
 * answered `recorded: false`, and the contacts' notice answered `send` until confirmed
 * `sent`. It also takes SNS HTTP deliveries on `/sns` (the notices topic).
 */
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Value } from '@sinclair/typebox/value'
import { BudgetEventBody } from '../../src/budgets/contract.js'

export interface RouteDouble {
  url: string
  /** Bodies accepted (recorded or not), in order. */
  events: Array<BudgetEventBody & { recorded: boolean }>
  /** Requests refused, with their status. */
  refused: Array<{ status: number; body: string }>
  /** Notices confirmed sent (`budget:month:type:threshold`). */
  noticesConfirmed: Set<string>
  /** SNS notices delivered to /sns: the SNS envelope. */
  notices: Array<{ Subject?: string; Message: string; MessageId: string }>
  token: string
  /** Forces the next N answers to this status (500: the service is down). */
  failNext(status: number, times: number): void
  /** Loses the next N notice confirmations (`notice: sent`): answered 503, nothing kept. */
  loseConfirmations(times: number): void
  close(): Promise<void>
}

const read = (req: IncomingMessage): Promise<string> => new Promise((resolve, reject) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
  req.on('error', reject)
})

/** Starts the double for one cluster and the budget names its spec has, with each budget's action. */
export async function startRouteDouble(cluster: string, budgets: Record<string, 'none' | 'notify' | 'restrict' | 'block'>, token: string): Promise<RouteDouble> {
  const double: Omit<RouteDouble, 'url' | 'close'> & { failures: Array<number>; lost: number } = { events: [], refused: [], notices: [], noticesConfirmed: new Set(), token, failures: [], lost: 0, failNext(status, times) { for (let i = 0; i < times; i++) this.failures.push(status) }, loseConfirmations(times) { this.lost += times } }
  const server = createServer((req, res) => {
    void read(req).then((text) => {
      const answer = (status: number, value: unknown) => {
        if (status !== 200) double.refused.push({ status, body: text })
        res.writeHead(status, { 'content-type': 'application/json' })
        res.end(JSON.stringify(value))
      }
      if (req.url === '/sns' && req.method === 'POST') {
        double.notices.push(JSON.parse(text) as RouteDouble['notices'][number])
        return answer(200, {})
      }
      const m = /^\/v1\/clusters\/([^/]+)\/budgets\/events$/.exec(req.url ?? '')
      if (!m || req.method !== 'POST') return answer(404, { message: 'no such route' })
      const forced = double.failures.shift()
      if (forced) return answer(forced, { message: 'forced' })
      if (req.headers.authorization !== `Bearer ${double.token}`) return answer(401, { message: 'bad token' })
      if (!String(req.headers['content-type']).startsWith('application/json')) return answer(415, { message: 'JSON only' })
      if (m[1] !== cluster) return answer(404, { message: `unknown cluster ${m[1]}` })
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        return answer(400, { message: 'not JSON' })
      }
      if (!Value.Check(BudgetEventBody, body)) return answer(400, { message: [...Value.Errors(BudgetEventBody, body)].map((e) => `${e.path} ${e.message}`).join('; ') })
      if (body.notice === 'sent' && double.lost > 0) {
        double.lost -= 1
        return answer(503, { message: 'confirmation lost' })
      }
      const action = budgets[body.budgetName]
      if (!action) return answer(422, { message: `budget ${body.budgetName} is not in the spec of ${cluster}` })
      const duplicate = double.events.some((e) => e.eventId === body.eventId ||
        (e.budgetName === body.budgetName && e.month === body.month && e.thresholdPercent === body.thresholdPercent && e.notificationType === body.notificationType))
      double.events.push({ ...body, recorded: !duplicate })
      const acts = body.notificationType === 'ACTUAL' && body.thresholdPercent >= 100 && body.department !== null
      // The contacts' notice, as the service keeps it: `send` until a sender confirms it `sent`.
      const key = `${body.budgetName}:${body.month}:${body.notificationType}:${body.thresholdPercent}`
      if (body.notice === 'sent') double.noticesConfirmed.add(key)
      const notice = body.notice === undefined ? {} : { notice: double.noticesConfirmed.has(key) ? 'sent' : 'send' }
      return answer(200, { recorded: !duplicate, action: duplicate || !acts ? 'none' : action, ...notice })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return Object.assign(double, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }),
  })
}

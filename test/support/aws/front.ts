/**
 * The front of the AWS emulator (test code, not product): an HTTP server on loopback that
 * the real SDK talks to. It answers the operations moto 5.2.1 lacks, enforces AWS's
 * documented limits, and passes every other request to moto unchanged.
 *
 * A service is plugged in as a {@link FrontService}: its JSON-protocol target prefix
 * (`AmazonSSM`, `AWSIdentityStore`, ...), the operations it implements, a page limit per
 * operation and a request rate shared by all its operations. SSM sessions, AWS Budgets
 * (budgets.ts: all of it, with its quotas) and Cost Explorer's GetCostAndUsage
 * (cost-explorer.ts) are always on; Identity Store (100 a page, 20 requests/s) is added the same way.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSsmSessions, type SsmSessions } from './ssm-sessions.js'
import { createBudgets, type EmulatedBudgets } from './budgets.js'
import { createCostExplorer, type EmulatedCostExplorer } from './cost-explorer.js'
import { AwsFault, type FrontService } from './protocol.js'
import { createIdentityStore, type IdentityStoreEmulator } from './identity-store.js'
import { createSsoAdmin, type SsoAdminEmulator } from './sso-admin.js'

export { AwsFault, type FrontService, type Operation } from './protocol.js'

export interface AwsFront {
  /** The endpoint for the SDK (`endpoint` or `AWS_ENDPOINT_URL`). */
  url: string
  ssm: SsmSessions
  /** AWS Budgets (all of it: moto lacks the update and subscriber operations). */
  budgets: EmulatedBudgets
  /** Cost Explorer's GetCostAndUsage over seeded line items. */
  ce: EmulatedCostExplorer
  /** The Identity Store (whole service; see identity-store.ts). */
  identityStore: IdentityStoreEmulator
  /** sso-admin's access-control attributes (moto lacks them). */
  ssoAdmin: SsoAdminEmulator
  /** Requests seen, by `Prefix.Operation`, for tests that count calls. */
  calls: Map<string, number>
  close(): Promise<void>
}

/** Starts the front before moto at `upstream` (e.g. `http://127.0.0.1:15000`). */
export async function startAwsFront(options: { upstream: string; services?: FrontService[] }): Promise<AwsFront> {
  const ssm = createSsmSessions()
  const budgets = createBudgets()
  const ce = createCostExplorer()
  const identityStore = createIdentityStore()
  const ssoAdmin = createSsoAdmin()
  const services = new Map<string, FrontService>()
  for (const s of [ssm.service, budgets.service, ce.service, identityStore.service, ssoAdmin.service, ...(options.services ?? [])]) services.set(s.targetPrefix, s)
  const calls = new Map<string, number>()
  const windows = new Map<string, number[]>()
  const upstream = new URL(options.upstream)

  function throttled(service: FrontService): boolean {
    if (!service.requestsPerSecond) return false
    const now = Date.now()
    const recent = (windows.get(service.targetPrefix) ?? []).filter((t) => now - t < 1000)
    const over = recent.length >= service.requestsPerSecond
    if (!over) recent.push(now)
    windows.set(service.targetPrefix, recent)
    return over
  }

  function proxy(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const out = httpRequest({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers,
    }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', (err) => fault(res, new AwsFault('ServiceUnavailable', `moto is not reachable: ${err.message}`, 503)))
    out.end(body)
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const target = String(req.headers['x-amz-target'] ?? '')
      const [prefix = '', operation = ''] = target.split('.')
      if (target) calls.set(target, (calls.get(target) ?? 0) + 1)
      const service = services.get(prefix)
      if (!service) return proxy(req, body, res)
      if (throttled(service)) return fault(res, new AwsFault('ThrottlingException', 'Rate exceeded'))
      const handler = service.operations[operation]
      if (!handler) return proxy(req, body, res)
      try {
        const parsed: unknown = body.length > 0 ? JSON.parse(body.toString('utf8')) : {}
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AwsFault('SerializationException', 'the body is not a JSON object')
        send(res, 200, handler(parsed as Record<string, unknown>))
      } catch (err) {
        fault(res, err instanceof AwsFault ? err : new AwsFault('InternalServerError', (err as Error).message, 500))
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    ssm,
    budgets,
    ce,
    identityStore,
    ssoAdmin,
    calls,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
  res.end(JSON.stringify(value ?? {}))
}

function fault(res: ServerResponse, err: AwsFault): void {
  res.setHeader('x-amzn-errortype', err.type)
  send(res, err.status, { __type: err.type, message: err.message })
}

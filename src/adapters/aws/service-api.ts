/**
 * The Lambdas' client of the service's REST API: the API token read once from its SSM
 * SecureString (GetParameter WithDecryption) and kept for the container's life (read again
 * once after a 401, in case it was rotated), and `POST /v1/clusters/{c}/budgets/events`.
 * The answer is classified: recorded (or already recorded), refused for good (unknown
 * cluster 404, unknown budget 422: logged and dropped by the caller), or a failure to retry.
 */
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { BudgetEventBody } from '../../budgets/contract.js'

export type BudgetAction = 'none' | 'notify' | 'restrict' | 'block'

export type EventOutcome =
  /** `notice`: when the body asked, whether the contacts must still be told (`send`) or were (`sent`). */
  | { kind: 'recorded'; recorded: boolean; action: BudgetAction; notice?: 'send' | 'sent' }
  | { kind: 'refused'; status: number; reason: string }

/** A call that should be retried (network, 5xx, a token the service keeps refusing, a body it rejects). */
export class ServiceApiError extends Error {
  override name = 'ServiceApiError'
}

const ACTIONS = new Set(['none', 'notify', 'restrict', 'block'])
const CLUSTER_RE = /^[a-z][a-z0-9_-]{0,39}$/

export interface ServiceApiOptions {
  /** e.g. `https://steward.internal:8080` */
  baseUrl: string
  tokenParameter: string
  ssm?: SSMClient
  timeoutMs?: number
}

export function createServiceApi(options: ServiceApiOptions) {
  const ssm = options.ssm ?? new SSMClient({})
  const base = new URL(options.baseUrl)
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ServiceApiError(`the API URL ${options.baseUrl} is not http(s)`)
  let token: string | undefined

  async function readToken(): Promise<string> {
    if (token) return token
    let value: string | undefined
    try {
      value = (await ssm.send(new GetParameterCommand({ Name: options.tokenParameter, WithDecryption: true }))).Parameter?.Value
    } catch (err) {
      throw new ServiceApiError(`cannot read the API token ${options.tokenParameter}: ${(err as Error).name}: ${(err as Error).message}`, { cause: err })
    }
    if (!value?.trim()) throw new ServiceApiError(`the API token parameter ${options.tokenParameter} is empty`)
    token = value.trim()
    return token
  }

  async function post(url: URL, body: BudgetEventBody): Promise<Response> {
    try {
      return await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${await readToken()}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      })
    } catch (err) {
      if (err instanceof ServiceApiError) throw err
      throw new ServiceApiError(`POST ${url.pathname} failed: ${(err as Error).message}`, { cause: err })
    }
  }

  return {
    /** Records a budget event; duplicates answer `recorded: false`. */
    async postBudgetEvent(cluster: string, body: BudgetEventBody): Promise<EventOutcome> {
      if (!CLUSTER_RE.test(cluster)) throw new ServiceApiError(`"${cluster}" is not a cluster name`)
      const url = new URL(`v1/clusters/${cluster}/budgets/events`, base.href.endsWith('/') ? base : `${base.href}/`)
      let res = await post(url, body)
      if (res.status === 401) {
        token = undefined
        res = await post(url, body)
      }
      const text = await res.text()
      if (res.status === 404 || res.status === 422) return { kind: 'refused', status: res.status, reason: text.slice(0, 500) }
      if (res.status !== 200) throw new ServiceApiError(`POST ${url.pathname} answered ${res.status}: ${text.slice(0, 500)}`)
      let answer: { recorded?: unknown; action?: unknown; notice?: unknown }
      try {
        answer = JSON.parse(text) as typeof answer
      } catch (err) {
        throw new ServiceApiError(`POST ${url.pathname} answered 200 with no JSON`, { cause: err })
      }
      const noticeOk = answer.notice === undefined ? body.notice === undefined : answer.notice === 'send' || answer.notice === 'sent'
      if (typeof answer.recorded !== 'boolean' || !ACTIONS.has(String(answer.action)) || !noticeOk) throw new ServiceApiError(`POST ${url.pathname} answered 200 with ${text.slice(0, 200)}`)
      return { kind: 'recorded', recorded: answer.recorded, action: answer.action as BudgetAction, ...(answer.notice === undefined ? {} : { notice: answer.notice as 'send' | 'sent' }) }
    },
  }
}

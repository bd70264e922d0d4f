/**
 * Budget notifications: one interface for every channel (the local MTA here; SNS in
 * src/adapters/aws/sns.ts implements it too), the notice of a threshold crossed, and the
 * on-premises notifier that hands a message to `/usr/sbin/sendmail -t -oi` by argv, the
 * message on stdin.
 */
import type { Executor } from '../adapters/executor.js'
import { EMAIL_RE } from '../spec/names.js'
import { formatCents } from '../usage/chargeback.js'
import type { DepartmentBudgetState } from './evaluate.js'

/** One notification: `key` is unique per (cluster, department, month, threshold); it is sent at most once. */
export interface BudgetNotification {
  key: string
  cluster: string
  department: string | null
  month: string
  thresholdPercent: number
  spend: number
  budget: number
  currency: string
  recipients: string[]
  subject: string
  text: string
}

/** Sends a budget notification (sendmail here, SNS in src/adapters/aws/sns.ts). */
export interface Notifier {
  send(n: BudgetNotification): Promise<void>
}

/** The notice of a department's budget threshold crossed in a month (the service sends it once per `key`). */
export function thresholdNotice(o: { key: string; cluster: string; specName: string; month: string; state: DepartmentBudgetState; threshold: number }): BudgetNotification {
  const { key, cluster, month, state: s, threshold: t } = o
  return {
    key, cluster, department: s.department, month, thresholdPercent: t,
    spend: s.spendCents / 100, budget: s.budgetCents / 100, currency: s.currency, recipients: s.notify,
    subject: `[${cluster}] ${s.department} has used ${t} % of its ${month} budget`,
    text: [
      `Department ${s.department} on cluster ${cluster} has spent ${formatCents(BigInt(s.spendCents))} ${s.currency} of its ${formatCents(BigInt(s.budgetCents))} ${s.currency} budget for ${month} (${s.percent} %).`,
      `Forecast to the end of the month: ${formatCents(BigInt(s.forecastCents))} ${s.currency}.`,
      s.percent >= 100 && s.onExceeded !== 'notify' ? `The budget's action "${s.onExceeded}" is applied; running jobs continue.` : '',
      `Spec: ${o.specName}; threshold ${t} %.`,
    ].filter((l) => l !== '').join('\n'),
  }
}

/** Thrown when a notification cannot be sent (bad recipient, the MTA refused). */
export class NotifyError extends Error {
  override name = 'NotifyError'
}

export interface SendmailOptions {
  /** Runs the MTA (the service host's, not a controller's). */
  executor: Executor
  /** The `From:` address; allowlisted like recipients. */
  from: string
  /** The MTA binary (default `/usr/sbin/sendmail`). */
  sendmail?: string
}

/** A header value on one line: control characters (CR, LF, ...) become spaces. */
function headerText(text: string): string {
  let out = ''
  for (const ch of text) out += ch.charCodeAt(0) < 32 || ch.charCodeAt(0) === 127 ? ' ' : ch
  return out.slice(0, 200)
}

/** The RFC 5322 message sendmail -t reads: recipients from the headers, never from argv. */
export function mailMessage(n: BudgetNotification, from: string): string {
  for (const address of [from, ...n.recipients]) {
    if (!EMAIL_RE.test(address)) throw new NotifyError(`"${address}" is not an e-mail address`)
  }
  if (n.recipients.length === 0) throw new NotifyError('a notification needs at least one recipient')
  const body = n.text.replace(/\r\n?/g, '\n').split('\n').map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\n')
  return [
    `From: ${from}`,
    `To: ${n.recipients.join(', ')}`,
    `Subject: ${headerText(n.subject)}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    `X-Steward-Notification: ${headerText(n.key)}`,
    '',
    body,
    '',
  ].join('\n')
}

/** The local MTA as a Notifier. */
export function createSendmailNotifier(options: SendmailOptions): Notifier {
  const sendmail = options.sendmail ?? '/usr/sbin/sendmail'
  return {
    async send(n) {
      const message = mailMessage(n, options.from)
      const result = await options.executor.run([sendmail, '-t', '-oi'], { input: message, timeoutMs: 60_000 })
      if (result.code !== 0) throw new NotifyError(`${sendmail} exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(0, 300)}`)
    },
  }
}

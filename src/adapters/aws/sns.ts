/**
 * A budget notification sent through SNS: one `Publish` to a notices topic, the recipients
 * as the `recipients` message attribute (String.Array) so that each person's e-mail
 * subscription filters on their own address (`{"recipients": ["alice@example.edu"]}`), and
 * the notification's key as the deduplication id on a FIFO topic. The same shape as the
 * on-premises notifier (sendmail): both implement the budgets' `Notifier`
 * (src/budgets/notify.ts), so the service and the budget-alert Lambda use either.
 */
import { createHash } from 'node:crypto'
import { PublishCommand, SNSClient, type MessageAttributeValue } from '@aws-sdk/client-sns'
import { EMAIL_RE } from '../../spec/names.js'
import type { Notifier } from '../../budgets/notify.js'

/** SNS limits: Subject at most 100 characters, printable ASCII, no line breaks; a message at most 256 KB. */
const SUBJECT_MAX = 100
const MESSAGE_MAX = 256 * 1024
const TOPIC_ARN_RE = /^arn:aws(?:-cn|-us-gov)?:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[\w-]{1,256}(?:\.fifo)?$/
const MAX_RECIPIENTS = 100

/** A notification that cannot be sent as it is, or a Publish that failed. */
export class SnsNotifyError extends Error {
  override name = 'SnsNotifyError'
}

/** SNS's Subject rules: ASCII printable, one line, at most 100 characters (cut with an ellipsis). */
export function snsSubject(subject: string): string {
  const one = subject.replace(/[^\x20-\x7e]+/g, ' ').replace(/ {2,}/g, ' ').trim()
  return one.length > SUBJECT_MAX ? `${one.slice(0, SUBJECT_MAX - 3)}...` : one || 'HPC Steward budget notice'
}

/** The SNS notifier for `topicArn`; `client` defaults to one from the environment. */
export function createSnsNotifier(topicArn: string, client: SNSClient = new SNSClient({})): Notifier {
  if (!TOPIC_ARN_RE.test(topicArn)) throw new SnsNotifyError(`"${topicArn}" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`)
  const fifo = topicArn.endsWith('.fifo')
  return {
    async send(n) {
      const recipients = [...new Set(n.recipients.map((r) => r.toLowerCase()))].sort()
      const bad = recipients.filter((r) => !EMAIL_RE.test(r))
      if (bad.length) throw new SnsNotifyError(`notification ${n.key}: ${bad.join(', ')} ${bad.length === 1 ? 'is not an e-mail address' : 'are not e-mail addresses'}`)
      if (recipients.length === 0) throw new SnsNotifyError(`notification ${n.key} has no recipients`)
      if (recipients.length > MAX_RECIPIENTS) throw new SnsNotifyError(`notification ${n.key} has ${recipients.length} recipients; at most ${MAX_RECIPIENTS}`)
      if (Buffer.byteLength(n.text) > MESSAGE_MAX - 1024) throw new SnsNotifyError(`notification ${n.key} is ${Buffer.byteLength(n.text)} bytes; SNS takes ${MESSAGE_MAX}`)
      const attributes: Record<string, MessageAttributeValue> = {
        recipients: { DataType: 'String.Array', StringValue: JSON.stringify(recipients) },
        cluster: { DataType: 'String', StringValue: n.cluster },
        department: { DataType: 'String', StringValue: n.department ?? '(cluster)' },
        month: { DataType: 'String', StringValue: n.month },
        key: { DataType: 'String', StringValue: n.key },
      }
      try {
        await client.send(new PublishCommand({
          TopicArn: topicArn, Subject: snsSubject(n.subject), Message: n.text, MessageAttributes: attributes,
          // A FIFO topic drops a second message with the same id within 5 minutes: a retried send is one notice.
          ...(fifo ? { MessageGroupId: n.cluster, MessageDeduplicationId: createHash('sha256').update(n.key).digest('hex') } : {}),
        }))
      } catch (err) {
        throw new SnsNotifyError(`Publish of notification ${n.key} to ${topicArn} failed: ${(err as Error).name}: ${(err as Error).message}`, { cause: err })
      }
    },
  }
}

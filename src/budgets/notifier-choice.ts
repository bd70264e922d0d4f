/**
 * Which channel budget notices go through: the SNS notices topic when the service is
 * configured with one (`STEWARD_BUDGETS_NOTICES_TOPIC_ARN`, on AWS), else the local MTA
 * when `STEWARD_MAIL_FROM` is set, else none. The channels are passed in, so this stays
 * free of SDKs and executors.
 */
import type { Notifier } from './notify.js'

export interface NotifierChannels {
  sns(topicArn: string): Notifier
  sendmail(from: string): Notifier
}

/** The notifier the configuration asks for, and its name for the start-up log. */
export function chooseNotifier(config: { noticesTopicArn?: string | undefined; mailFrom?: string | undefined }, channels: NotifierChannels): { notifier: Notifier | undefined; channel: 'sns' | 'sendmail' | 'none' } {
  if (config.noticesTopicArn) return { notifier: channels.sns(config.noticesTopicArn), channel: 'sns' }
  if (config.mailFrom) return { notifier: channels.sendmail(config.mailFrom), channel: 'sendmail' }
  return { notifier: undefined, channel: 'none' }
}

/**
 * Service configuration, read from the environment and checked once at start-up: a bad
 * value stops the process with the variable's name in the message.
 */
import { EMAIL_RE, HOST_KEY_RE, HOST_NAME_RE } from './spec/names.js'

export interface Config {
  port: number
  host: string
  logLevel: string
  dataDir: string
  databaseUrl: string | undefined
  /** How the service reaches login nodes (SSH user and key, HAProxy config dir); off without a key. */
  loginNodes: { user: string; identity: string; haproxyDir: string; hostKeys: Record<string, string> } | undefined
  /** Publish the cluster policy to SSM Parameter Store on every apply (`STEWARD_PUBLISH_POLICY=1`). */
  publishPolicy: boolean
  /** Minutes between budget checks of every cluster (`STEWARD_BUDGET_CHECK_MINUTES`, default 15; 0 turns the scheduler off). */
  budgetCheckMinutes: number
  /** `From:` of budget e-mails through the local MTA (`STEWARD_MAIL_FROM`); without it no e-mail is sent. */
  mailFrom?: string | undefined
  /** The SNS topic the cluster's AWS Budget notifies (`STEWARD_BUDGETS_TOPIC_ARN`, set by the CDK stack); without it `POST .../budgets/aws` is refused. */
  budgetsTopicArn?: string | undefined
  /** Budget notices through this SNS topic instead of the local MTA (`STEWARD_BUDGETS_NOTICES_TOPIC_ARN`). */
  noticesTopicArn?: string | undefined
}

/** Thrown for a missing or malformed environment variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Reads the configuration from `env`; throws `ConfigError` naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const portText = env.PORT ?? '8080'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port < 1 || port > 65_535) throw new ConfigError(`PORT must be a TCP port (1-65535), got "${portText}"`)
  const logLevel = env.LOG_LEVEL ?? 'info'
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`)
  const host = env.HOST ?? '127.0.0.1'
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new ConfigError(`HOST must be an address or host name, got "${host}"`)
  const databaseUrl = env.DATABASE_URL || undefined
  if (databaseUrl && !/^postgres(?:ql)?:\/\//.test(databaseUrl)) throw new ConfigError('DATABASE_URL must be a postgres:// URL')
  const loginUser = env.STEWARD_LOGIN_USER ?? 'root'
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(loginUser)) throw new ConfigError(`STEWARD_LOGIN_USER must be a POSIX user name, got "${loginUser}"`)
  const haproxyDir = env.STEWARD_HAPROXY_DIR ?? '/etc/haproxy'
  if (!/^\/[\w./-]*$/.test(haproxyDir)) throw new ConfigError(`STEWARD_HAPROXY_DIR must be an absolute path, got "${haproxyDir}"`)
  const identity = env.STEWARD_LOGIN_IDENTITY || undefined
  const loginNodes = identity ? { user: loginUser, identity, haproxyDir, hostKeys: loginHostKeysOf(env.STEWARD_LOGIN_HOST_KEYS) } : undefined
  const publish = env.STEWARD_PUBLISH_POLICY ?? '0'
  if (publish !== '0' && publish !== '1') throw new ConfigError(`STEWARD_PUBLISH_POLICY must be 0 or 1, got "${publish}"`)
  const checkText = env.STEWARD_BUDGET_CHECK_MINUTES ?? '15'
  const budgetCheckMinutes = Number(checkText)
  if (!/^\d{1,4}$/.test(checkText) || budgetCheckMinutes > 1440) throw new ConfigError(`STEWARD_BUDGET_CHECK_MINUTES must be 0-1440 minutes, got "${checkText}"`)
  const mailFrom = env.STEWARD_MAIL_FROM || undefined
  if (mailFrom !== undefined && !EMAIL_RE.test(mailFrom)) throw new ConfigError(`STEWARD_MAIL_FROM must be an e-mail address, got "${mailFrom}"`)
  const budgetsTopicArn = topicArnOf(env, 'STEWARD_BUDGETS_TOPIC_ARN')
  const noticesTopicArn = topicArnOf(env, 'STEWARD_BUDGETS_NOTICES_TOPIC_ARN')
  return { port, host, logLevel, dataDir: env.STEWARD_DATA_DIR ?? './data', databaseUrl, loginNodes, publishPolicy: publish === '1', budgetCheckMinutes, mailFrom, budgetsTopicArn, noticesTopicArn }
}

const TOPIC_ARN_RE = /^arn:aws(?:-cn|-us-gov)?:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:[\w-]{1,256}(?:\.fifo)?$/

/** An optional SNS topic ARN variable. */
function topicArnOf(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name] || undefined
  if (value !== undefined && !TOPIC_ARN_RE.test(value)) throw new ConfigError(`${name} must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got "${value}"`)
  return value
}

/** `STEWARD_LOGIN_HOST_KEYS`: a JSON object of login node name to its host key fingerprint. */
function loginHostKeysOf(text: string | undefined): Record<string, string> {
  if (!text) return {}
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new ConfigError('STEWARD_LOGIN_HOST_KEYS must be JSON: {"login-1": "SHA256:...", ...}')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('STEWARD_LOGIN_HOST_KEYS must be a JSON object of node name to fingerprint')
  const keys: Record<string, string> = {}
  for (const [node, fp] of Object.entries(value)) {
    if (!HOST_NAME_RE.test(node) || typeof fp !== 'string' || !HOST_KEY_RE.test(fp)) {
      throw new ConfigError(`STEWARD_LOGIN_HOST_KEYS: "${node}" must map a host name to SHA256:... as ssh-keygen -lf prints it`)
    }
    keys[node] = fp
  }
  return keys
}

/**
 * The content of the Session Manager preferences document (`SSM-SessionManagerRunShell`,
 * type Session): Run As on, so a researcher lands as their own POSIX user (the
 * `SSMSessionRunAs` tag or Identity Center attribute) and anyone without one as
 * `runAsDefaultUser`; the idle and maximum session times of `sessions.ssm`; a shell
 * profile that starts a login shell in the user's home. The one renderer: the CDK stack
 * (ops/aws/stack.ts) and `steward identity run-as` both use it, so the two never differ.
 */
import type { ClusterSpec } from '../spec/schema.js'

/** The account's default preferences document, which Session Manager reads for every session. */
export const SESSION_PREFERENCES_DOCUMENT = 'SSM-SessionManagerRunShell'
/** Session Manager's default idle timeout, in minutes, when the spec sets none. */
export const DEFAULT_IDLE_MINUTES = 20
/** The Linux shell profile: the user's home and a login shell (their own profile runs). */
export const LINUX_SHELL_PROFILE = 'cd ~ && exec /bin/bash -l'

export interface PreferencesInput {
  /** Names the cluster in the description. */
  cluster: string
  runAsDefaultUser: string
  ssm?: NonNullable<ClusterSpec['sessions']>['ssm']
  /** Where session output streams (empty: no CloudWatch logging). */
  cloudWatchLogGroupName?: string
}

/** The document content (schemaVersion 1.0, sessionType Standard_Stream). Times are strings, as Session Manager wants. */
export function sessionPreferencesContent(input: PreferencesInput): Record<string, unknown> {
  const inputs: Record<string, unknown> = {
    runAsEnabled: true,
    runAsDefaultUser: input.runAsDefaultUser,
    idleSessionTimeout: String(input.ssm?.idleTimeoutMinutes ?? DEFAULT_IDLE_MINUTES),
    ...(input.ssm?.maxDurationMinutes !== undefined ? { maxSessionDuration: String(input.ssm.maxDurationMinutes) } : {}),
    cloudWatchLogGroupName: input.cloudWatchLogGroupName ?? '',
    cloudWatchEncryptionEnabled: false,
    cloudWatchStreamingEnabled: input.cloudWatchLogGroupName !== undefined && input.cloudWatchLogGroupName !== '',
    s3BucketName: '',
    s3KeyPrefix: '',
    s3EncryptionEnabled: false,
    kmsKeyId: '',
    shellProfile: { linux: LINUX_SHELL_PROFILE, windows: '' },
  }
  return { schemaVersion: '1.0', description: `HPC Steward Session Manager preferences of ${input.cluster}`, sessionType: 'Standard_Stream', inputs }
}

/** The content for a spec: `identity.runAs.defaultUser` and `sessions.ssm`; undefined without a default user. */
export function specSessionPreferences(spec: ClusterSpec): Record<string, unknown> | undefined {
  const defaultUser = spec.identity?.runAs?.defaultUser
  if (!defaultUser) return undefined
  return sessionPreferencesContent({ cluster: spec.cluster.name, runAsDefaultUser: defaultUser, ssm: spec.sessions?.ssm })
}

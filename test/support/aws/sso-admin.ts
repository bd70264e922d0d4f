/**
 * IAM Identity Center's attributes for access control, for the emulator front (test code):
 * `DescribeInstanceAccessControlAttributeConfiguration`, `Create...` and `Update...`
 * (moto 5.2.1 has none of them), per instance ARN. Every other sso-admin operation goes
 * to moto.
 */
import { AwsFault, type FrontService } from './protocol.js'

/** One attribute as sso-admin carries it: `Key` and its `Value.Source` (e.g. `${path:userName}`). */
export interface AccessControlAttribute {
  Key: string
  Value: { Source: string[] }
}

export interface SsoAdminEmulator {
  service: FrontService
  /** Sets an instance's attributes directly (no request). */
  setAttributes(instanceArn: string, attributes: AccessControlAttribute[]): void
  clear(): void
}

export function createSsoAdmin(): SsoAdminEmulator {
  const configs = new Map<string, AccessControlAttribute[]>()
  const arnOf = (body: Record<string, unknown>): string => {
    if (typeof body.InstanceArn !== 'string' || !body.InstanceArn.startsWith('arn:')) throw new AwsFault('ValidationException', 'InstanceArn is required')
    return body.InstanceArn
  }
  const attributesOf = (body: Record<string, unknown>): AccessControlAttribute[] => {
    const config = body.InstanceAccessControlAttributeConfiguration as { AccessControlAttributes?: unknown } | undefined
    if (!Array.isArray(config?.AccessControlAttributes)) throw new AwsFault('ValidationException', 'InstanceAccessControlAttributeConfiguration.AccessControlAttributes is required')
    return config.AccessControlAttributes as AccessControlAttribute[]
  }
  return {
    service: {
      targetPrefix: 'SWBExternalService',
      operations: {
        DescribeInstanceAccessControlAttributeConfiguration(body) {
          const attributes = configs.get(arnOf(body))
          if (!attributes) throw new AwsFault('ResourceNotFoundException', 'The instance has no access control attribute configuration')
          return { Status: 'ENABLED', InstanceAccessControlAttributeConfiguration: { AccessControlAttributes: attributes } }
        },
        CreateInstanceAccessControlAttributeConfiguration(body) {
          const arn = arnOf(body)
          if (configs.has(arn)) throw new AwsFault('ConflictException', 'a configuration exists already')
          configs.set(arn, attributesOf(body))
          return {}
        },
        UpdateInstanceAccessControlAttributeConfiguration(body) {
          const arn = arnOf(body)
          if (!configs.has(arn)) throw new AwsFault('ResourceNotFoundException', 'no configuration to update')
          configs.set(arn, attributesOf(body))
          return {}
        },
      },
    },
    setAttributes: (arn, attributes) => { configs.set(arn, attributes) },
    clear: () => configs.clear(),
  }
}

/**
 * Publishing the cluster policy to SSM Parameter Store, only when it changed: the current
 * value is read first and the parameter is written only when the text differs.
 */
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { policyParameterName, policyText, type Policy } from '../../sessions/policy.js'

/** SSM's limits on a String parameter's value: 4 KB (Standard tier), 8 KB (Advanced). */
const STANDARD_MAX = 4096
const ADVANCED_MAX = 8192

/** Thrown when the policy cannot be published. */
export class PolicyPublishError extends Error {
  override name = 'PolicyPublishError'
}

export interface PublishResult {
  name: string
  changed: boolean
  /** The parameter's version after the call. */
  version: number | undefined
}

/** Writes the policy when it differs from the parameter's value. */
export async function publishPolicy(policy: Policy, client: SSMClient = new SSMClient({})): Promise<PublishResult> {
  const name = policyParameterName(policy.cluster)
  const text = policyText(policy)
  if (Buffer.byteLength(text) > ADVANCED_MAX) throw new PolicyPublishError(`the policy of ${policy.cluster} is ${Buffer.byteLength(text)} bytes; an SSM parameter holds at most ${ADVANCED_MAX}`)
  let current: { value: string | undefined; version: number | undefined }
  try {
    const got = await client.send(new GetParameterCommand({ Name: name }))
    current = { value: got.Parameter?.Value, version: got.Parameter?.Version }
  } catch (err) {
    if ((err as Error).name !== 'ParameterNotFound') throw new PolicyPublishError(`cannot read ${name}: ${(err as Error).message}`, { cause: err })
    current = { value: undefined, version: undefined }
  }
  if (current.value === text) return { name, changed: false, version: current.version }
  try {
    const put = await client.send(new PutParameterCommand({
      Name: name, Value: text, Type: 'String', Overwrite: true,
      Tier: Buffer.byteLength(text) > STANDARD_MAX ? 'Advanced' : 'Standard',
      Description: 'HPC Steward cluster policy (managed: do not edit)',
    }))
    return { name, changed: true, version: put.Version }
  } catch (err) {
    throw new PolicyPublishError(`cannot write ${name}: ${(err as Error).message}`, { cause: err })
  }
}

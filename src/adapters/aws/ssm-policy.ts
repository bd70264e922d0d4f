/**
 * Publishing the cluster policy to SSM Parameter Store, only when it changed: the current
 * value is read first and the parameter is written only when the text differs. And reading
 * it back, checked, as the Lambdas do.
 */
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { Value } from '@sinclair/typebox/value'
import { Policy, policyParameterName, policyText } from '../../sessions/policy.js'

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

/** Thrown when the policy parameter is missing or not a policy: the service has not published it. */
export class PolicyUnavailableError extends Error {
  override name = 'PolicyUnavailableError'
}

/**
 * Reads and checks the policy parameter, cached for `ttlMs` (a Lambda container reads it
 * at most once a TTL). Missing, non-JSON or not a policy: {@link PolicyUnavailableError};
 * other SSM errors are thrown as they are (the delivery is retried).
 */
export function createPolicyReader(parameter: string, ttlMs: number, client: SSMClient = new SSMClient({})): () => Promise<Policy> {
  let cached: { policy: Policy; at: number } | undefined
  return async () => {
    if (cached && Date.now() - cached.at < ttlMs) return cached.policy
    let text: string | undefined
    try {
      text = (await client.send(new GetParameterCommand({ Name: parameter }))).Parameter?.Value
    } catch (err) {
      if ((err as Error).name === 'ParameterNotFound') throw new PolicyUnavailableError(`${parameter} does not exist: has the service applied the cluster?`, { cause: err })
      throw err
    }
    let value: unknown
    try {
      value = JSON.parse(text ?? '')
    } catch (err) {
      throw new PolicyUnavailableError(`${parameter} is not JSON`, { cause: err })
    }
    if (!Value.Check(Policy, value)) throw new PolicyUnavailableError(`${parameter} is not an HPC Steward policy: ${[...Value.Errors(Policy, value)].slice(0, 3).map((e) => `${e.path} ${e.message}`).join('; ')}`)
    cached = { policy: value, at: Date.now() }
    return value
  }
}

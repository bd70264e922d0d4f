/**
 * The AWS emulator for integration tests and benchmarks: moto's server (started, or reused,
 * by ops/aws/moto.sh) behind our front (front.ts). Gives the SDK configuration to use.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startAwsFront, type AwsFront, type FrontService } from './front.js'

const motoScript = new URL('../../../ops/aws/moto.sh', import.meta.url).pathname

/** Region and dummy credentials every emulated client uses (moto accepts any). */
export const EMULATOR_REGION = 'eu-west-1'
export const EMULATOR_ACCOUNT = '123456789012'

export interface AwsEmulator extends AwsFront {
  /** Options for any SDK v3 client constructor. */
  clientConfig: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } }
  /** The environment a bundled Lambda or a child process needs to reach the emulator. */
  env: Record<string, string>
}

/** Starts moto (through ops/aws/moto.sh) and a fresh front before it. */
export async function startAwsEmulator(services: FrontService[] = []): Promise<AwsEmulator> {
  const { stdout } = await promisify(execFile)('bash', [motoScript], { timeout: 60_000 })
  const upstream = stdout.trim().split('\n').pop() ?? ''
  if (!upstream.startsWith('http://')) throw new Error(`ops/aws/moto.sh printed no URL: ${stdout}`)
  const front = await startAwsFront({ upstream, services })
  const credentials = { accessKeyId: 'AKIDEMULATOR', secretAccessKey: 'emulator' }
  return {
    ...front,
    clientConfig: { endpoint: front.url, region: EMULATOR_REGION, credentials },
    env: {
      AWS_ENDPOINT_URL: front.url, AWS_REGION: EMULATOR_REGION,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    },
  }
}

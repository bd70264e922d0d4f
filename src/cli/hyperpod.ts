/**
 * `steward hyperpod check CLUSTER_CONFIG PROVISIONING_PARAMETERS [--spec FILE] [--json]`:
 * HyperPod's files checked against each other and the spec (src/hyperpod/check.ts).
 * Exit codes: 0 consistent (warnings allowed), 1 problems (each printed with its path),
 * 2 bad usage or unusable input (unreadable file, not JSON, not that kind of file, an
 * invalid spec).
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { parseArgs } from 'node:util'
import { checkHyperPod, HyperPodInputError } from '../hyperpod/check.js'
import { loadSpecFile } from '../spec/load.js'
import { SpecInvalidError, SpecUnreadableError, type Problem } from '../spec/problems.js'
import type { ClusterSpec } from '../spec/schema.js'
import { UsageError } from './usage.js'

const HYPERPOD_USAGE = 'steward hyperpod check CLUSTER_CONFIG.json PROVISIONING_PARAMETERS.json [--spec FILE] [--json]'

/** Reads a JSON file; `HyperPodInputError` when it cannot be read or parsed. */
async function readJson(file: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new HyperPodInputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new HyperPodInputError(`${file} is not JSON: ${(err as Error).message}`, { cause: err })
  }
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { spec: { type: 'string' }, json: { type: 'boolean' } } })
  if (positionals.length !== 2) throw new UsageError(`hyperpod check takes two files: ${HYPERPOD_USAGE}`)
  const [configFile, provisioningFile] = positionals as [string, string]
  let problems: Problem[]
  try {
    let spec: ClusterSpec | undefined
    if (values.spec !== undefined) spec = (await loadSpecFile(values.spec)).spec
    problems = checkHyperPod(await readJson(configFile), await readJson(provisioningFile), spec, {
      clusterConfig: basename(configFile), provisioning: basename(provisioningFile), spec: values.spec ? basename(values.spec) : 'spec',
    })
  } catch (err) {
    if (err instanceof SpecInvalidError) {
      for (const p of err.problems) console.error(`${p.severity}: ${values.spec}#${p.path || '/'}: ${p.message}`)
      console.error(`steward: the spec ${values.spec} is not valid; fix it first`)
      return 2
    }
    if (err instanceof HyperPodInputError || err instanceof SpecUnreadableError) {
      console.error(`steward: ${err.message}`)
      return 2
    }
    throw err
  }
  const errors = problems.filter((p) => p.severity === 'error').length
  if (values.json) console.log(JSON.stringify({ ok: errors === 0, problems }, null, 2))
  else {
    for (const p of problems) console.error(`${p.severity}: ${p.path}: ${p.message}`)
    console.error(errors === 0 ? `HyperPod files consistent${values.spec ? ` with ${values.spec}` : ''} (${problems.length} warning(s))` : `${errors} error(s)`)
  }
  return errors === 0 ? 0 : 1
}

/** `steward hyperpod ...` */
export async function hyperpodCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === 'check') return check(rest)
  throw new UsageError(sub ? `unknown hyperpod command "${sub}": ${HYPERPOD_USAGE}` : `give a hyperpod command: ${HYPERPOD_USAGE}`)
}

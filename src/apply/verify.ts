/**
 * After Slurm reloaded: is it up, and does it run what was rendered? Checks slurmctld
 * answers, the node and partition set with their access lists, and that the files on the
 * controller are byte for byte the rendered ones (the config hash).
 */
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import type { Executor } from '../adapters/executor.js'
import { parseScontrolRecords, parseSlurmConf } from '../slurm/conf-parse.js'
import { expandHostlist } from '../slurm/hostlist.js'
import type { RenderedFile } from '../slurm/render.js'

/** Thrown when the running controller does not match the rendered files. */
export class VerifyError extends Error {
  override name = 'VerifyError'
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex')
const sortedList = (value: string | undefined) => (value ?? '').split(',').filter(Boolean).sort().join(',')

/** Polls `scontrol ping` until slurmctld answers UP, for at most `timeoutMs`. */
export async function waitForController(executor: Executor, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    const res = await executor.run(['scontrol', 'ping'], { timeoutMs: 15_000 }).catch((err: Error) => ({ code: 1, stdout: '', stderr: err.message }))
    if (res.code === 0 && /is UP/.test(res.stdout)) return
    last = (res.stdout + res.stderr).trim()
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new VerifyError(`slurmctld did not answer within ${timeoutMs / 1000} s: ${last}`)
}

/** Checks the controller against the rendered files; throws `VerifyError` with every mismatch. */
export async function verifyController(executor: Executor, configDir: string, files: readonly RenderedFile[]): Promise<string[]> {
  const problems: string[] = []
  const conf = files.find((f) => f.name === 'slurm.conf' || f.name === 'steward.conf')
  // Every read at once: the files and what slurmctld runs.
  const [onDisk, partRes, nodeRes] = await Promise.all([
    Promise.all(files.map((f) => executor.readFile(posix.join(configDir, f.name)))),
    conf ? executor.run(['scontrol', 'show', 'partition', '-o']) : undefined,
    conf?.name === 'slurm.conf' ? executor.run(['scontrol', 'show', 'node', '-o']) : undefined,
  ])
  for (const [i, f] of files.entries()) {
    const text = onDisk[i]
    if (text === undefined || sha(text) !== sha(f.content)) problems.push(`${f.name} on the controller is not the rendered one`)
  }
  if (conf && partRes) {
    const rendered = parseSlurmConf(conf.content)
    const live = parseScontrolRecords(partRes.stdout, 'PartitionName')
    for (const [name, want] of rendered.partitions) {
      const have = live.get(name)
      if (!have) { problems.push(`partition ${name} is not live`); continue }
      for (const key of ['AllowAccounts', 'AllowQos']) {
        if (sortedList(have.get(key)) !== sortedList(want.get(key))) problems.push(`partition ${name}: live ${key}=${have.get(key)} but rendered ${want.get(key)}`)
      }
      const wantNodes = expandHostlist(want.get('Nodes') ?? '').sort().join(',')
      const haveNodes = expandHostlist(have.get('Nodes') ?? '').sort().join(',')
      if (wantNodes !== haveNodes) problems.push(`partition ${name}: live nodes differ from the rendered ones`)
    }
    for (const name of live.keys()) if (!rendered.partitions.has(name) && conf.name === 'slurm.conf') problems.push(`partition ${name} is live but not rendered`)
    if (nodeRes) {
      const liveNodes = new Set(parseScontrolRecords(nodeRes.stdout, 'NodeName').keys())
      const missing = [...rendered.nodes].filter((n) => !liveNodes.has(n))
      const extra = [...liveNodes].filter((n) => !rendered.nodes.has(n))
      if (missing.length > 0 || extra.length > 0) problems.push(`the live node set differs: ${missing.length} missing, ${extra.length} not rendered`)
    }
  }
  if (problems.length > 0) throw new VerifyError(problems.join('; '))
  return [`${files.length} file(s) match the render; slurmctld runs the rendered partitions and nodes`]
}

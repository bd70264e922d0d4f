/**
 * Hostile inputs of issue 7, as request bodies: each once answered slowly or with a 500.
 * The tests send them and check the answer; `npm run bench` times them.
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { ClusterSpec } from '../src/spec/schema.js'

/** The campus example (examples/campus.yaml) as a value: the baseline of every ratio. */
export function campusSpec(): ClusterSpec {
  return parse(readFileSync(new URL(campusPath(), import.meta.url), 'utf8')) as ClusterSpec
}

/** examples/campus.yaml relative to this module, from bench/ or dist/bench/. */
function campusPath(): string {
  return import.meta.url.includes('/dist/') ? '../../examples/campus.yaml' : '../examples/campus.yaml'
}

/** A "billion laughs" YAML document: nine levels of nine aliases, 9^9 strings when expanded. */
export function aliasBombYaml(): string {
  const lines = ['apiVersion: steward/v1', 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
  for (let i = 1; i <= 8; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(', ')}]`)
  return `${lines.join('\n')}\n`
}

/** A JSON (and YAML flow) body nested `depth` levels deep: `{"a":[[[...]]]}`. */
export function deepJson(depth = 1_000_000): string {
  return `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`
}

/** YAML block sequences nested on one line (`- - - - x`), two characters a level. */
export function deepBlockYaml(depth = 100_000): string {
  return `a:\n  ${'- '.repeat(depth)}x\n`
}

/** Campus with `home: "/" + "a" * length + "!"` on every user: exponential for the old pattern. */
export function homeAttack(length = 250): ClusterSpec {
  const spec = campusSpec()
  for (const u of spec.users) u.home = `/${'a'.repeat(length)}!`
  return spec
}

/**
 * `qos` QoS with GPU limits spread over departments (`perDepartment` each), and `shared`
 * shared partitions open to all departments: 2,000 x 2,000 took 21 s when the rules
 * compared every QoS with every partition.
 */
export function qosTimesPartitions(qos: number, shared: number, perDepartment = qos): ClusterSpec {
  const spec = campusSpec()
  const names = Array.from({ length: qos }, (_, i) => `q${i}`)
  spec.qos = names.map((name) => ({ name, maxTresPerUser: { gpu: 1_000_000 } }))
  const departments = Math.ceil(qos / perDepartment)
  spec.departments = Array.from({ length: departments }, (_, d) => ({ name: `d${d}`, qos: names.slice(d * perDepartment, (d + 1) * perDepartment), supervisors: [] }))
  spec.sharedPartitions = Array.from({ length: shared }, (_, i) => ({ name: `s${i}`, nodeGroups: [spec.nodeGroups[0]!.name], departments: 'all' as const }))
  spec.users = []
  return spec
}

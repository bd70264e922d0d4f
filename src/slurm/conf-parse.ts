/**
 * Reading Slurm's `key=value` text: slurm.conf lines and `scontrol show ... -o` one-liners.
 * Used to compare a running controller with what was rendered.
 */
import { expandHostlist } from './hostlist.js'

/** The `Key=Value` pairs of one line (values never contain spaces in what we render). */
export function parseKeyValues(line: string): Map<string, string> {
  const pairs = new Map<string, string>()
  for (const token of line.trim().split(/\s+/)) {
    const eq = token.indexOf('=')
    if (eq > 0) pairs.set(token.slice(0, eq), token.slice(eq + 1))
  }
  return pairs
}

export interface ParsedSlurmConf {
  /** Global settings, keys as written. */
  settings: Map<string, string>
  /** Every node name defined by NodeName lines. */
  nodes: Set<string>
  /** Partition name to its settings. */
  partitions: Map<string, Map<string, string>>
}

/** Parses a slurm.conf (comments and blank lines ignored; Include lines kept as settings). */
export function parseSlurmConf(text: string): ParsedSlurmConf {
  const settings = new Map<string, string>()
  const nodes = new Set<string>()
  const partitions = new Map<string, Map<string, string>>()
  for (const raw of text.split('\n')) {
    const hash = raw.indexOf('#')
    const line = (hash === -1 ? raw : raw.slice(0, hash)).trim()
    if (!line) continue
    const pairs = parseKeyValues(line)
    const nodeName = pairs.get('NodeName')
    const partitionName = pairs.get('PartitionName')
    if (nodeName !== undefined && nodeName !== 'DEFAULT') for (const n of expandHostlist(nodeName)) nodes.add(n)
    else if (partitionName !== undefined) partitions.set(partitionName, pairs)
    else for (const [k, v] of pairs) settings.set(k, v)
  }
  return { settings, nodes, partitions }
}

/**
 * One `scontrol -o` record as `Key -> value`. Values may hold spaces (`OS=Linux 6.1 #1
 * SMP`, `Reason=not emulated [root@...]`): a value runs up to the next ` Key=`. The first
 * occurrence of a repeated key wins.
 */
export function parseRecord(line: string): Map<string, string> {
  const record = new Map<string, string>()
  const keys = [...line.matchAll(/(?:^|\s)([A-Za-z][\w:/]*)=/g)]
  keys.forEach((m, i) => {
    const key = m[1] as string
    const start = (m.index ?? 0) + m[0].length
    const end = i + 1 < keys.length ? (keys[i + 1]?.index ?? line.length) : line.length
    if (!record.has(key)) record.set(key, line.slice(start, end).trim())
  })
  return record
}

/** Every record of `scontrol -o show ...` output (one per non-empty line). */
export function parseRecords(text: string): Array<Map<string, string>> {
  return text.split('\n').filter((l) => l.trim() !== '' && !/^No \w+ in the system/.test(l)).map(parseRecord)
}

/** Parses `scontrol show <entity> -o` output into records keyed by `key` (e.g. `PartitionName`). */
export function parseScontrolRecords(output: string, key: string): Map<string, Map<string, string>> {
  const records = new Map<string, Map<string, string>>()
  for (const record of parseRecords(output)) {
    const name = record.get(key)
    if (name !== undefined) records.set(name, record)
  }
  return records
}

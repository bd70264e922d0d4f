/**
 * Parsers of `sacctmgr -n -P` output and the normalisations that make a value read back
 * from slurmdbd compare equal to the one written from a spec. Every rule here was checked
 * against sacctmgr 22.05.8 (fixtures in test/slurm/fixtures/):
 * - names, descriptions and organisations come back lower-cased (`Normal QOS default`,
 *   written by slurmdbd itself, is the one exception), so free text compares case-blind;
 * - TRES print in Slurm's order with memory in units (`mem=2G`, `mem=1900000M`);
 * - an unset limit prints as an empty field; `PreemptMode` prints `cluster` when unset.
 */
import { TRES_NAMES } from '../spec/units.js'
import { formatSeconds, timeToSeconds } from './time.js'

/** Thrown when sacctmgr output does not have the shape that was asked for. */
export class SacctmgrParseError extends Error {
  override name = 'SacctmgrParseError'
}

/**
 * Splits `-n -P` output into records keyed by the requested field names. The last field
 * takes any extra `|` (sacctmgr does not escape it), so ask for free text last.
 */
export function parseParsable<K extends string>(text: string, fields: readonly K[]): Array<Record<K, string>> {
  const rows: Array<Record<K, string>> = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const parts = line.split('|')
    if (parts.length < fields.length) throw new SacctmgrParseError(`expected ${fields.length} fields (${fields.join(',')}), got "${line}"`)
    const row = {} as Record<K, string>
    fields.forEach((f, i) => {
      row[f] = i === fields.length - 1 ? parts.slice(i).join('|') : (parts[i] ?? '')
    })
    rows.push(row)
  }
  return rows
}

/** A comma-separated list as a sorted array without empties (`QOS`, `Preempt`, `Flags`). */
export function parseList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '').sort()
}

const MEM_UNITS: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 ** 2, P: 1024 ** 3 }

/** Memory as sacctmgr prints it (`2G`, `1900000M`, `512`) in MiB. */
export function parseMemMiB(value: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGTP])?$/i.exec(value.trim())
  if (!m) throw new SacctmgrParseError(`"${value}" is not a memory size`)
  return Math.round(Number(m[1]) * (MEM_UNITS[(m[2] ?? 'M').toUpperCase()] ?? 1))
}

/**
 * A TRES string (`cpu=256,gres/gpu=8,mem=2G`) in canonical form: `name=value` pairs
 * sorted by name, memory in MiB, `-1`/unlimited entries dropped. Equal limits give
 * equal strings whichever side they were read from.
 */
export function normalizeTres(value: string): string {
  const pairs = new Map<string, number>()
  for (const item of value.split(',')) {
    const text = item.trim()
    if (text === '') continue
    const eq = text.lastIndexOf('=')
    if (eq <= 0) throw new SacctmgrParseError(`"${text}" is not a TRES setting`)
    const name = text.slice(0, eq).toLowerCase()
    const raw = text.slice(eq + 1)
    if (raw === '-1' || /^unlimited$/i.test(raw)) continue
    pairs.set(name, name === 'mem' ? parseMemMiB(raw) : Number(raw))
  }
  return tresToString(pairs)
}

/** A canonical TRES string from name/value pairs. */
export function tresToString(pairs: ReadonlyMap<string, number>): string {
  return [...pairs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join(',')
}

/** A canonical TRES string as a map (the inverse of `tresToString`). */
export function tresToMap(value: string): Map<string, number> {
  const map = new Map<string, number>()
  for (const item of value.split(',')) {
    const eq = item.lastIndexOf('=')
    if (eq > 0) map.set(item.slice(0, eq), Number(item.slice(eq + 1)))
  }
  return map
}

/** A spec TRES map (`{cpu: 256, gpu: 8}`) as a canonical Slurm TRES string. */
export function specTresToString(tres: Partial<Record<string, number | undefined>> | undefined): string {
  const pairs = new Map<string, number>()
  for (const [key, slurm] of TRES_NAMES) {
    const v = tres?.[key]
    if (v !== undefined) pairs.set(slurm, v)
  }
  return tresToString(pairs)
}

/** A time limit as Slurm prints it, or `''` for none (empty, `-1`, UNLIMITED). */
export function normalizeTime(value: string | number | undefined): string {
  if (value === undefined || value === '' || value === '-1') return ''
  const seconds = timeToSeconds(value)
  return seconds === null ? '' : formatSeconds(seconds)
}

/** An integer limit, or `undefined` when unset (empty or `-1`). */
export function parseLimit(value: string): number | undefined {
  const text = value.trim()
  if (text === '' || text === '-1') return undefined
  const n = Number(text)
  if (!Number.isInteger(n)) throw new SacctmgrParseError(`"${value}" is not an integer limit`)
  return n
}

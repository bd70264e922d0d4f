/**
 * The in-place scan of one `sacct -P` line as bytes (sacct's output as it arrives, never
 * decoded to text): one pass over the line finds its fields, reads times by arithmetic and
 * TRES counts digit by digit, and hashes the two keys the aggregation looks a job up by
 * (`account|user|partition` and the node list), so no string is cut for a known job.
 * It accepts only the plain form sacct prints; any other line is left to the general
 * parser (`parseSacctLine`), and every line accepted here parses there to the same values
 * (tested against it).
 */

/** Where `scanLine` writes a line's values in its `Float64Array` (times are NaN when `Unknown`). */
export const V_START = 0
export const V_END = 1
export const V_NODES = 2
export const V_CPUS = 3
export const V_MEM = 4
export const V_GPUS = 5
/** Size of the values array. */
export const VALUES = 6

/** Where `scanLine` writes positions and the key hash in its `Int32Array`. */
/** End of the job id (its `|`). */
export const P_JOB_END = 0
/** The key `account|user|partition`: start and end. */
export const P_KEY = 1
export const P_KEY_END = 2
/** The node list: start and end (the line's end). */
export const P_LIST = 3
export const P_LIST_END = 4
/** A hash of the key and the node list together. */
export const P_HASH = 5
/** Size of the positions array. */
export const POSITIONS = 6

const BAR = 124
const COMMA = 44
const EQ = 61

/** The first day of a month seen last: most lines of a page share it. */
let lastMonth = -1
let lastMonthDays = 0

/** Days from 1970-01-01 to the first of month `mo` of year `y` (proleptic Gregorian; H. Hinnant's days_from_civil). */
function monthDays(y: number, mo: number): number {
  const key = y * 16 + mo
  if (key === lastMonth) return lastMonthDays
  const ym = mo <= 2 ? y - 1 : y
  const era = Math.floor(ym / 400)
  const yoe = ym - era * 400
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5)
  lastMonth = key
  lastMonthDays = era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468
  return lastMonthDays
}

/** Two digits at `b[i]` as a number, or -1. */
function two(b: Uint8Array, i: number): number {
  const x = (b[i] as number) - 48
  const y = (b[i + 1] as number) - 48
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1
}

/** `Unknown` at `b[a]`. */
function unknownAt(b: Uint8Array, a: number): boolean {
  return b[a] === 85 && b[a + 1] === 110 && b[a + 2] === 107 && b[a + 3] === 110 && b[a + 4] === 111 && b[a + 5] === 119 && b[a + 6] === 110
}

/**
 * The time field at `b[a]` ending before `e`: epoch seconds of the plain
 * `YYYY-MM-DDTHH:MM:SS` (a year from 1970), NaN for `Unknown`, -1 for anything else.
 * Writes where its `|` is into `end[0]`.
 */
function timeAt(b: Uint8Array, a: number, e: number, end: Int32Array): number {
  if (a + 7 < e && b[a + 7] === BAR && unknownAt(b, a)) {
    end[0] = a + 7
    return NaN
  }
  if (!(a + 19 < e) || b[a + 19] !== BAR || b[a + 4] !== 45 || b[a + 7] !== 45 || b[a + 10] !== 84 || b[a + 13] !== 58 || b[a + 16] !== 58) return -1
  const y1 = two(b, a)
  const y2 = two(b, a + 2)
  const mo = two(b, a + 5)
  const d = two(b, a + 8)
  const h = two(b, a + 11)
  const mi = two(b, a + 14)
  const se = two(b, a + 17)
  const y = y1 * 100 + y2
  if (y1 < 0 || y2 < 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return -1
  end[0] = a + 19
  // Days past a month's end roll over, as Date.UTC rolls them.
  return (monthDays(y, mo) + d - 1) * 86_400 + h * 3600 + mi * 60 + se
}

const END = new Int32Array(1)

/**
 * Scans the line `b[s, e)` (no line end) in place. On true, `pos` (`P_*`) holds where its
 * job id, key and node list are and their hash, and `out` (`V_*`) its times, nodes, CPUs,
 * memory (MiB) and GPUs. False when the line is not in the plain form: eleven fields, a
 * plain job id, a non-empty account and user, plain or `Unknown` times, `name=value` TRES
 * whose counted values are digits (memory with M, G or T), nodes from the TRES or a plain
 * NNodes.
 */
export function scanLine(b: Uint8Array, s: number, e: number, pos: Int32Array, out: Float64Array): boolean {
  // JobID: digits, then [_+]digits, then .word, each optional after the first.
  let p = s
  let c = 0
  while (p < e && (c = b[p] as number) >= 48 && c <= 57) p++
  if (p === s || p === e) return false
  if (c === 95 || c === 43) {
    const d = ++p
    while (p < e && (c = b[p] as number) >= 48 && c <= 57) p++
    if (p === d || p === e) return false
  }
  if (c === 46) {
    const w = ++p
    while (p < e && ((c = b[p] as number) === 95 || (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122))) p++
    if (p === w || p === e) return false
  }
  if (c !== BAR) return false
  pos[P_JOB_END] = p
  // Account|User|Partition, hashed (FNV-1a) as one key.
  const k0 = ++p
  let h = -2_128_831_035
  let bars = 0
  let last = p
  for (; p < e; p++) {
    c = b[p] as number
    if (c === BAR) {
      if (p === last && bars < 2) return false // an empty account or user
      if (++bars === 3) break
      last = p + 1
    }
    h = Math.imul(h ^ c, 16_777_619)
  }
  if (p === e) return false
  pos[P_KEY] = k0
  pos[P_KEY_END] = p
  // QOS and State are not read.
  for (let skip = 0; skip < 2; skip++) {
    p++
    while (p < e && b[p] !== BAR) p++
    if (p === e) return false
  }
  const start = timeAt(b, p + 1, e, END)
  if (start === -1) return false
  const end = timeAt(b, (END[0] as number) + 1, e, END)
  if (end === -1) return false
  // NNodes: read only when the TRES has no node count.
  const n0 = (END[0] as number) + 1
  p = n0
  while (p < e && b[p] !== BAR) p++
  if (p === e) return false
  const n1 = p
  // AllocTRES: name=value settings; cpu, mem, gres/gpu and node counted.
  let cpus = 0
  let mem = 0
  let gpus = 0
  let nodes = 0
  p++
  while (p < e && b[p] !== BAR) {
    const q0 = p
    while (p < e && (c = b[p] as number) !== EQ && c !== COMMA && c !== BAR) p++
    if (c !== EQ || p === e) return false
    const len = p - q0
    const which = len === 3
      ? (b[q0] === 99 && b[q0 + 1] === 112 && b[q0 + 2] === 117 ? V_CPUS : b[q0] === 109 && b[q0 + 1] === 101 && b[q0 + 2] === 109 ? V_MEM : -1)
      : len === 4 ? (b[q0] === 110 && b[q0 + 1] === 111 && b[q0 + 2] === 100 && b[q0 + 3] === 101 ? V_NODES : -1)
        : len === 8 && b[q0] === 103 && b[q0 + 1] === 114 && b[q0 + 2] === 101 && b[q0 + 3] === 115 && b[q0 + 4] === 47 && b[q0 + 5] === 103 && b[q0 + 6] === 112 && b[q0 + 7] === 117 ? V_GPUS : -1
    p++
    if (which < 0) {
      while (p < e && (c = b[p] as number) !== COMMA && c !== BAR) p++
      if (c === COMMA) p++
      continue
    }
    const v0 = p
    let n = 0
    while (p < e && (c = b[p] as number) >= 48 && c <= 57) { n = n * 10 + c - 48; p++ }
    if (p === v0 || p - v0 > 9 || p === e) return false
    if (which === V_MEM) {
      const scale = c === 77 ? 1 : c === 71 ? 1024 : c === 84 ? 1_048_576 : 0
      if (scale === 0) return false
      mem = n * scale
      c = b[++p] as number
      if (p === e) return false
    } else if (which === V_CPUS) cpus = n
    else if (which === V_GPUS) gpus = n
    else nodes = n
    if (c === COMMA) p++
    else if (c !== BAR) return false
  }
  if (p === e) return false
  if (nodes === 0) {
    if (n1 === n0 || n1 - n0 > 9) return false
    for (let k = n0; k < n1; k++) {
      c = (b[k] as number) - 48
      if (c < 0 || c > 9) return false
      nodes = nodes * 10 + c
    }
  }
  // NodeList: the rest of the line, with no further field; hashed on with the key.
  const l0 = ++p
  h = Math.imul(h ^ BAR, 16_777_619)
  for (; p < e; p++) {
    c = b[p] as number
    if (c === BAR) return false
    h = Math.imul(h ^ c, 16_777_619)
  }
  pos[P_LIST] = l0
  pos[P_LIST_END] = e
  pos[P_HASH] = h
  out[V_START] = start
  out[V_END] = end
  out[V_NODES] = nodes
  out[V_CPUS] = cpus
  out[V_MEM] = mem
  out[V_GPUS] = gpus
  return true
}

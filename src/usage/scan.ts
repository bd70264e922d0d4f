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
  // Each digit read once, as a value that is above 9 (unsigned) when it is no digit.
  const y0 = (b[a] as number) - 48
  const y1 = (b[a + 1] as number) - 48
  const y2 = (b[a + 2] as number) - 48
  const y3 = (b[a + 3] as number) - 48
  const m0 = (b[a + 5] as number) - 48
  const m1 = (b[a + 6] as number) - 48
  const d0 = (b[a + 8] as number) - 48
  const d1 = (b[a + 9] as number) - 48
  const h0 = (b[a + 11] as number) - 48
  const h1 = (b[a + 12] as number) - 48
  const i0 = (b[a + 14] as number) - 48
  const i1 = (b[a + 15] as number) - 48
  const s0 = (b[a + 17] as number) - 48
  const s1 = (b[a + 18] as number) - 48
  if ((y0 >>> 0) > 9 || (y1 >>> 0) > 9 || (y2 >>> 0) > 9 || (y3 >>> 0) > 9 || (m0 >>> 0) > 9 || (m1 >>> 0) > 9 || (d0 >>> 0) > 9 ||
    (d1 >>> 0) > 9 || (h0 >>> 0) > 9 || (h1 >>> 0) > 9 || (i0 >>> 0) > 9 || (i1 >>> 0) > 9 || (s0 >>> 0) > 9 || (s1 >>> 0) > 9) return -1
  const y = y0 * 1000 + y1 * 100 + y2 * 10 + y3
  const mo = m0 * 10 + m1
  const d = d0 * 10 + d1
  const h = h0 * 10 + h1
  const mi = i0 * 10 + i1
  const se = s0 * 10 + s1
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1
  end[0] = a + 19
  // Days past a month's end roll over, as Date.UTC rolls them.
  return (monthDays(y, mo) + d - 1) * 86_400 + h * 3600 + mi * 60 + se
}

const END = new Int32Array(1)

const UTF8 = new TextDecoder('utf-8', { fatal: false })

/** The text of `b[from, to)` (UTF-8; an invalid sequence becomes U+FFFD, as Buffer's toString makes it). */
export function textOf(b: Uint8Array, from: number, to: number): string {
  return UTF8.decode(b.subarray(from, to))
}

/** Four bytes as `DataView.getInt32(p, true)` reads them. */
const word = (text: string): number => (text.charCodeAt(0) | (text.charCodeAt(1) << 8) | (text.charCodeAt(2) << 16) | (text.charCodeAt(3) << 24))
const CPU_EQ = word('cpu=')
const MEM_EQ = word('mem=')
const NODE = word('node')
const GRES = word('gres')
const SLASH_GPU = word('/gpu')
const BILL = word('bill')
const ING_EQ = word('ing=')

/** A DataView of the bytes of `b`, for `scanLine`. */
export function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength)
}

/** `|` in each byte of a word. */
const BARS4 = 0x7c7c7c7c

/**
 * Where the first `|` in `b[p, e)` is, or `e`: four bytes at a time (a word has a `|` when
 * its XOR with `||||` has a zero byte; the lowest such byte is the first `|`).
 */
function barIn(b: Uint8Array, view: DataView, p: number, e: number): number {
  while (p + 4 <= e) {
    const x = view.getInt32(p, true) ^ BARS4
    const zero = (x - 0x01010101) & ~x & 0x80808080
    if (zero !== 0) return p + ((31 - Math.clz32(zero & -zero)) >> 3)
    p += 4
  }
  while (p < e && b[p] !== BAR) p++
  return p
}

const FNV_BASIS = -2_128_831_035
const FNV_PRIME = 16_777_619

/** `h` hashed on with the bytes of `b[p, e)`, four at a time, the last four read even if they overlap (FNV-1a over words). */
function hashOf(b: Uint8Array, view: DataView, h: number, p: number, e: number): number {
  const length = e - p
  if (length >= 4) {
    const last = e - 4
    for (; p < last; p += 4) h = Math.imul(h ^ view.getInt32(p, true), FNV_PRIME)
    h = Math.imul(h ^ view.getInt32(last, true), FNV_PRIME)
  } else {
    while (p < e) h = Math.imul(h ^ (b[p++] as number), FNV_PRIME)
  }
  // The length, so that the key and the list cannot trade bytes.
  return Math.imul(h ^ length, FNV_PRIME)
}

/** The final mix of a hash (MurmurHash3's fmix32): every bit of the input moves the low bits the table uses. */
function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/**
 * Scans the line `b[s, e)` (no line end) in place; `view` is a DataView of the same bytes
 * (`viewOf`), to read four at once. On true, `pos` (`P_*`) holds where its
 * job id, key and node list are and their hash, and `out` (`V_*`) its times, nodes, CPUs,
 * memory (MiB) and GPUs. False when the line is not in the plain form: eleven fields, a
 * plain job id, a non-empty account and user, plain or `Unknown` times, `name=value` TRES
 * whose counted values are digits (memory with M, G or T), nodes from the TRES or a plain
 * NNodes.
 */
export function scanLine(b: Uint8Array, view: DataView, s: number, e: number, pos: Int32Array, out: Float64Array): boolean {
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
  // Account|User|Partition: a non-empty account and user.
  const k0 = ++p
  p = barIn(b, view, p, e)
  if (p === k0 || p === e) return false
  const u0 = ++p
  p = barIn(b, view, p, e)
  if (p === u0 || p === e) return false
  p = barIn(b, view, p + 1, e)
  if (p === e) return false
  const k1 = p
  // QOS and State are not read.
  p = barIn(b, view, p + 1, e)
  if (p === e) return false
  p = barIn(b, view, p + 1, e)
  if (p === e) return false
  const start = timeAt(b, p + 1, e, END)
  if (start === -1) return false
  const end = timeAt(b, (END[0] as number) + 1, e, END)
  if (end === -1) return false
  // NNodes: read only when the TRES has no node count.
  const n0 = (END[0] as number) + 1
  p = barIn(b, view, n0, e)
  if (p === e) return false
  const n1 = p
  // AllocTRES: name=value settings; cpu, mem, gres/gpu and node counted.
  let cpus = 0
  let mem = 0
  let gpus = 0
  let nodes = 0
  p++
  while (p < e && b[p] !== BAR) {
    // The usual names compared four bytes at a time; any other name byte by byte.
    let which = -1
    const w = p + 9 <= e ? view.getInt32(p, true) : 0
    if (w === CPU_EQ) { which = V_CPUS; p += 4 }
    else if (w === MEM_EQ) { which = V_MEM; p += 4 }
    else if (w === NODE && b[p + 4] === EQ) { which = V_NODES; p += 5 }
    else if (w === GRES && view.getInt32(p + 4, true) === SLASH_GPU && b[p + 8] === EQ) { which = V_GPUS; p += 9 }
    else if (w === BILL && view.getInt32(p + 4, true) === ING_EQ) p += 8
    else {
      const q0 = p
      while (p < e && (c = b[p] as number) !== EQ && c !== COMMA && c !== BAR) p++
      if (c !== EQ || p === e) return false
      const len = p - q0
      which = len === 3
        ? (b[q0] === 99 && b[q0 + 1] === 112 && b[q0 + 2] === 117 ? V_CPUS : b[q0] === 109 && b[q0 + 1] === 101 && b[q0 + 2] === 109 ? V_MEM : -1)
        : len === 4 ? (b[q0] === 110 && b[q0 + 1] === 111 && b[q0 + 2] === 100 && b[q0 + 3] === 101 ? V_NODES : -1)
          : len === 8 && b[q0] === 103 && b[q0 + 1] === 114 && b[q0 + 2] === 101 && b[q0 + 3] === 115 && b[q0 + 4] === 47 && b[q0 + 5] === 103 && b[q0 + 6] === 112 && b[q0 + 7] === 117 ? V_GPUS : -1
      p++
    }
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
  // NodeList: the rest of the line, with no further field.
  const l0 = p + 1
  if (barIn(b, view, l0, e) !== e) return false
  pos[P_KEY] = k0
  pos[P_KEY_END] = k1
  pos[P_LIST] = l0
  pos[P_LIST_END] = e
  pos[P_HASH] = mix(hashOf(b, view, hashOf(b, view, FNV_BASIS, k0, k1), l0, e))
  out[V_START] = start
  out[V_END] = end
  out[V_NODES] = nodes
  out[V_CPUS] = cpus
  out[V_MEM] = mem
  out[V_GPUS] = gpus
  return true
}

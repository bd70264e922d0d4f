// Slurm hostlist expressions (`gpu-[001-016]`, `rack[1-2]-node[01-03]`). Pure, no I/O.
// Behaviour is checked against scontrol of Slurm 22.05; the findings are recorded
// in test/integration/hostlist-oracle.test.ts.

/** Slurm refuses ranges of more than 64 Ki hosts; we apply it per expression. */
export const MAX_HOSTLIST_HOSTS = 65_536

/** Thrown for malformed hostlist expressions or host names, and for expressions over the host limit. */
export class HostlistError extends Error {
  override readonly name = 'HostlistError'
  constructor(
    message: string,
    /** The offending expression or host name, for logs and API error bodies. */
    readonly input: string,
  ) {
    super(`Invalid hostlist ${JSON.stringify(input)}: ${message}`)
  }
}

/** `width` is the minimum digit count (Slurm's `%0*lu`): the length of the low bound as written. */
interface Range {
  lo: number
  hi: number
  width: number
}
/** One comma-separated item is a list of segments: literal text or a bracket group. */
type Segment = string | Range[]

const HOST_NAME = /^[\w.-]+$/
const NAME_RULE = 'host names may only contain letters, digits, "-", "." and "_"'
const RANGE_TEXT = /^(\d+)(?:-(\d+))?$/
// Above 15 digits a Number stops being exact; real node names never get close.
const MAX_DIGITS = 15

const pad = (n: number, width: number): string => String(n).padStart(width, '0')
const rangeHosts = (r: Range): string[] => Array.from({ length: r.hi - r.lo + 1 }, (_, i) => pad(r.lo + i, r.width))
const isDigit = (c: number): boolean => c >= 48 && c <= 57

function parseRanges(body: string, expr: string): Range[] {
  return body.split(',').map((part) => {
    if (part === '') throw new HostlistError('empty range inside brackets', expr)
    const m = RANGE_TEXT.exec(part)
    if (!m) throw new HostlistError(`"${part}" is not a number or a range like 1-8 (digits only inside brackets)`, expr)
    const loText = m[1] ?? ''
    const hiText = m[2] ?? loText
    if (hiText.length > MAX_DIGITS || loText.length > MAX_DIGITS) throw new HostlistError(`"${part}" is too large`, expr)
    const [lo, hi] = [Number(loText), Number(hiText)]
    if (lo > hi) throw new HostlistError(`reversed range "${part}"`, expr)
    return { lo, hi, width: loText.length }
  })
}

/** Splits at top-level commas (commas inside brackets belong to a range list) and parses each item. */
function parse(expr: string): Segment[][] {
  const items: Segment[][] = []
  let segments: Segment[] = []
  let text = ''
  let open = -1 // index of the current '[' or -1 outside brackets
  const flushText = (): void => {
    if (text !== '' && !HOST_NAME.test(text)) {
      throw new HostlistError(`${NAME_RULE} (got "${text}")`, expr)
    }
    if (text !== '') segments.push(text)
    text = ''
  }
  for (let i = 0; i <= expr.length; i++) {
    const c = expr[i]
    if (open >= 0) {
      if (c === undefined) throw new HostlistError(`unclosed "[" at position ${open}`, expr)
      if (c === '[') throw new HostlistError(`nested "[" at position ${i}`, expr)
      if (c !== ']') continue
      segments.push(parseRanges(expr.slice(open + 1, i), expr))
      open = -1
    } else if (c === '[') {
      flushText()
      open = i
    } else if (c === ']') {
      throw new HostlistError(`"]" without "[" at position ${i}`, expr)
    } else if (c === ',' || c === undefined) {
      flushText()
      // Slurm silently skips empty items ("a,,b"); we reject them because they
      // usually mean a template substituted an empty value.
      if (segments.length === 0) throw new HostlistError(`empty item at position ${i}`, expr)
      items.push(segments)
      segments = []
    } else {
      text += c
    }
  }
  return items
}

/** Host count of parsed items, failing fast before anything big is materialised. */
function countItems(items: Segment[][], expr: string): number {
  let total = 0
  for (const segments of items) {
    let product = 1
    for (const seg of segments) {
      if (typeof seg === 'string') continue
      product *= seg.reduce((sum, r) => sum + r.hi - r.lo + 1, 0)
      if (product > MAX_HOSTLIST_HOSTS) break
    }
    total += product
    if (total > MAX_HOSTLIST_HOSTS) {
      throw new HostlistError(`expands to more than ${MAX_HOSTLIST_HOSTS} hosts (Slurm's limit)`, expr)
    }
  }
  return total
}

/**
 * Expands a Slurm hostlist expression into host names, in Slurm's order.
 *
 * Supports top-level comma lists, zero padding taken from the low bound's
 * width (`n[8-11]` -> n8..n11, `n[08-11]` -> n08..n11), value lists inside a
 * bracket (`gpu-[001-003,007]`) and several brackets per name, expanded as a
 * cartesian product with the last bracket varying fastest, as Slurm does.
 * Duplicates are kept, exactly like `scontrol show hostnames`.
 *
 * Text after the last bracket (`node[1-3]-ib`) is accepted here, but Slurm
 * 22.05 rejects it: never pass such an expression on to Slurm
 * ({@link compressHostlist} never produces one).
 *
 * @returns `[]` for the empty string (scontrol prints nothing for it).
 * @throws {HostlistError} on malformed input or more than {@link MAX_HOSTLIST_HOSTS} hosts.
 */
export function expandHostlist(expr: string): string[] {
  if (expr === '') return []
  const items = parse(expr)
  countItems(items, expr)
  const out: string[] = []
  for (const segments of items) {
    let acc = ['']
    for (const seg of segments) {
      const tails = typeof seg === 'string' ? [seg] : seg.flatMap(rangeHosts)
      acc = acc.flatMap((head) => tails.map((tail) => head + tail))
    }
    for (const host of acc) out.push(host)
  }
  return out
}

/**
 * Number of hosts an expression expands to (duplicates counted), without expanding it.
 * @throws {HostlistError} like {@link expandHostlist}.
 */
export function countHostlist(expr: string): number {
  return expr === '' ? 0 : countItems(parse(expr), expr)
}

/**
 * True when `expr` is a non-empty expression that {@link expandHostlist} accepts
 * (including the host limit). Intended for validating API input.
 */
export function isHostlistExpression(expr: string): boolean {
  try {
    return countHostlist(expr) > 0
  } catch (err) {
    if (err instanceof HostlistError) return false
    throw err
  }
}

/**
 * True when the expressions are proven to name no host twice (within one or across
 * them), without expanding them; false when that is not proven (a duplicate, a shape
 * this does not reason about, or an expression that does not parse), in which case the
 * caller expands and compares names.
 *
 * Why it holds: every host of an item `P[ranges]` is `P` followed by digits, so its
 * "stem" (the name without its trailing digits) is the stem of `P`. Hosts with different
 * stems differ; an item alone in its stem names distinct hosts when its ranges are
 * numerically disjoint (equal padded numbers are equal numbers). So it suffices that
 * every item is a literal or a single trailing bracket, stems are pairwise distinct, and
 * no two ranges of an item overlap: what a generated cluster (`q1-st-cr1-[1-1310]`) is.
 * It costs one parse per expression instead of a hash per host.
 */
export function hostsAreDistinct(exprs: readonly unknown[]): boolean {
  const stems = new Set<string>()
  for (const expr of exprs) {
    if (typeof expr !== 'string' || expr === '') return false
    let items: Segment[][]
    try {
      items = parse(expr)
      countItems(items, expr)
    } catch {
      return false
    }
    for (const segments of items) {
      const item = singleRangeItem(segments)
      if (!item) return false
      const stem = withoutTrailingDigits(item.prefix)
      if (stems.has(stem)) return false
      stems.add(stem)
      if (item.ranges && !disjoint(item.ranges)) return false
    }
  }
  return true
}

/** `name`, `[ranges]` or `prefix[ranges]`; undefined for any other item (several brackets, text after one). */
function singleRangeItem(segments: Segment[]): { prefix: string; ranges?: Range[] } | undefined {
  const [first, second] = segments
  if (segments.length === 1 && typeof first === 'string') return { prefix: first }
  if (segments.length === 1 && Array.isArray(first)) return { prefix: '', ranges: first }
  if (segments.length === 2 && typeof first === 'string' && Array.isArray(second)) return { prefix: first, ranges: second }
  return undefined
}

function withoutTrailingDigits(text: string): string {
  let end = text.length
  while (end > 0 && isDigit(text.charCodeAt(end - 1))) end--
  return text.slice(0, end)
}

function disjoint(ranges: Range[]): boolean {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo)
  return sorted.every((r, i) => i === 0 || r.lo > (sorted[i - 1]?.hi ?? -1))
}

/**
 * Slurm orders prefixes with strnatcmp (Martin Pool's natural order), so we copy
 * it: rack2 < rack10, but a run with a leading zero compares digit by digit
 * (n0087 < n81), which is what Slurm does for literal names like n0087-bmc.
 */
function strnatcmp(a: string, b: string): number {
  for (let k = 0; ; k++) {
    const ca = a.charCodeAt(k)
    const cb = b.charCodeAt(k)
    if (isDigit(ca) && isDigit(cb)) {
      const leftAligned = ca === 48 || cb === 48
      let bias = 0
      for (let d = k; ; d++) {
        const da = isDigit(a.charCodeAt(d))
        const db = isDigit(b.charCodeAt(d))
        if (!da || !db) {
          if (da !== db) return da ? 1 : -1; // the longer run of digits wins
          if (bias !== 0) return bias
          break
        }
        const diff = a.charCodeAt(d) - b.charCodeAt(d)
        if (diff !== 0 && leftAligned) return diff
        if (bias === 0) bias = diff
      }
    }
    // Past the end charCodeAt is NaN, which plays the part of C's '\0'.
    if (Number.isNaN(ca) || Number.isNaN(cb)) return Number.isNaN(ca) ? (Number.isNaN(cb) ? 0 : -1) : 1
    if (ca !== cb) return ca - cb
  }
}

/** A numbered group (prefix + the digits of each host) or, without `digits`, a name emitted as-is. */
type Block = { prefix: string; digits?: string[] }

/**
 * Compresses host names into a hostlist expression that Slurm accepts and that
 * expands back to the same set of hosts (duplicates are dropped; order is not kept).
 *
 * Names are grouped by the text before their trailing digits; each group is
 * written as `prefix[ranges]` with consecutive numbers merged while the zero
 * padding stays exact (`n[1-2,01-02,10]`). Output matches `scontrol show
 * hostlistsorted` except where Slurm's own output depends on the input order.
 * Names without trailing digits (`login`, `node1-ib`) are emitted as-is, because
 * Slurm rejects text after a bracket (`node[1-2]-ib`).
 *
 * @throws {HostlistError} for a name that is not a plain host name, or for more
 *   than {@link MAX_HOSTLIST_HOSTS} distinct hosts (the result could not be expanded).
 */
export function compressHostlist(hosts: readonly string[]): string {
  const unique = new Set(hosts)
  if (unique.size > MAX_HOSTLIST_HOSTS) {
    throw new HostlistError(`more than ${MAX_HOSTLIST_HOSTS} hosts (Slurm's limit)`, `${unique.size} hosts`)
  }
  const blocks: Block[] = []
  const numbered = new Map<string, Block>()
  for (const host of unique) {
    if (!HOST_NAME.test(host)) throw new HostlistError(NAME_RULE, host)
    let start = host.length
    while (start > 0 && isDigit(host.charCodeAt(start - 1))) start--
    if (start === host.length || host.length - start > MAX_DIGITS) {
      blocks.push({ prefix: host })
      continue
    }
    const prefix = host.slice(0, start)
    let block = numbered.get(prefix)
    if (!block) {
      block = { prefix, digits: [] }
      numbered.set(prefix, block)
      blocks.push(block)
    }
    block.digits?.push(host.slice(start))
  }
  // Literal names sort before a numbered group of the same prefix, as in Slurm.
  blocks.sort((a, b) => strnatcmp(a.prefix, b.prefix) || (a.digits ? 1 : 0) - (b.digits ? 1 : 0))
  return blocks.map((b) => (b.digits ? formatGroup(b.prefix, b.digits) : b.prefix)).join(',')
}

/**
 * Writes one prefix group. Sorting by (digit count, value) and merging only
 * neighbours reproduces `scontrol show hostlistsorted` for the vast majority of
 * sets (a sweep of 3,000 random mixed-padding sets differed in 5, all cases
 * where Slurm's own output depends on the input order, e.g. n[9-10,05] vs n[9,05,10]).
 */
function formatGroup(prefix: string, digits: string[]): string {
  const hosts = digits.map((text) => ({ text, n: Number(text) }))
  hosts.sort((a, b) => a.text.length - b.text.length || a.n - b.n)
  const ranges: Range[] = []
  for (const { text, n } of hosts) {
    const last = ranges[ranges.length - 1]
    // Extend only if the range's format reproduces this exact text, so "10" may
    // follow "09" (width 2) or "9" (width 1) but "01" never follows "0".
    if (last && n === last.hi + 1 && pad(n, last.width) === text) last.hi = n
    else ranges.push({ lo: n, hi: n, width: text.length })
  }
  const body = ranges
    .map((r) => (r.lo === r.hi ? pad(r.lo, r.width) : `${pad(r.lo, r.width)}-${pad(r.hi, r.width)}`))
    .join(',')
  return hosts.length === 1 ? prefix + body : `${prefix}[${body}]`
}

/**
 * A table from a pair of byte ranges (a job's `account|user|partition` and its node list,
 * as `scanLine` finds them in sacct's output) to a value, found by a hash of both and
 * compared byte by byte, so a known pair is found with no string cut and no allocation.
 * The bytes are kept in one arena and the entries in typed arrays (no object per entry).
 * It is a cache of at most `capacity` entries: full, it empties and fills again.
 */
export class ByteKeys<T> {
  /** Per slot (twice the capacity, a power of two): the entry's index plus one (0: empty) and its hash. */
  private readonly slots: Int32Array
  private readonly hashes: Int32Array
  /** Per entry: where its bytes start in the arena, how many are the key's, how many in all. */
  private readonly offsets: Int32Array
  private readonly keyLengths: Int32Array
  private readonly lengths: Int32Array
  private readonly values: T[] = []
  private arena = new Uint8Array(1 << 16)
  private arenaView = new DataView(this.arena.buffer)
  private used = 0

  constructor(readonly capacity: number) {
    let slots = 2
    while (slots < capacity * 2) slots *= 2
    this.slots = new Int32Array(slots)
    this.hashes = new Int32Array(slots)
    this.offsets = new Int32Array(capacity)
    this.keyLengths = new Int32Array(capacity)
    this.lengths = new Int32Array(capacity)
  }

  get size(): number {
    return this.values.length
  }

  /** The value of the key `b[k0, k1)` with the list `b[l0, l1)` whose hash is `hash`, if kept; `view` is a DataView of `b`. */
  find(b: Uint8Array, view: DataView, k0: number, k1: number, l0: number, l1: number, hash: number): T | undefined {
    const slots = this.slots
    const mask = slots.length - 1
    const keyLength = k1 - k0
    const length = keyLength + l1 - l0
    const arena = this.arena
    const arenaView = this.arenaView
    for (let i = hash & mask, e = slots[i] as number; e !== 0; i = (i + 1) & mask, e = slots[i] as number) {
      const x = e - 1
      if (this.hashes[i] !== hash || this.keyLengths[x] !== keyLength || this.lengths[x] !== length) continue
      const o = this.offsets[x] as number
      if (same(arena, arenaView, o, b, view, k0, keyLength) && same(arena, arenaView, o + keyLength, b, view, l0, length - keyLength)) return this.values[x]
    }
    return undefined
  }

  /** Keeps `value` for the key and list (not kept yet: `find` said so). */
  add(b: Uint8Array, k0: number, k1: number, l0: number, l1: number, hash: number, value: T): void {
    if (this.values.length >= this.capacity) this.clear()
    const keyLength = k1 - k0
    const length = keyLength + l1 - l0
    if (this.used + length > this.arena.length) {
      let size = this.arena.length * 2
      while (this.used + length > size) size *= 2
      const grown = new Uint8Array(size)
      grown.set(this.arena.subarray(0, this.used))
      this.arena = grown
      this.arenaView = new DataView(grown.buffer)
    }
    this.arena.set(b.subarray(k0, k1), this.used)
    this.arena.set(b.subarray(l0, l1), this.used + keyLength)
    const x = this.values.length
    this.values.push(value)
    this.offsets[x] = this.used
    this.keyLengths[x] = keyLength
    this.lengths[x] = length
    this.used += length
    const mask = this.slots.length - 1
    let i = hash & mask
    while (this.slots[i] !== 0) i = (i + 1) & mask
    this.slots[i] = x + 1
    this.hashes[i] = hash
  }

  private clear(): void {
    this.slots.fill(0)
    this.values.length = 0
    this.used = 0
  }
}

/**
 * Whether `a[ao, ao + n)` equals `b[bo, bo + n)`: four bytes at a time through the views,
 * the last four read even if they overlap the ones before; byte by byte below four.
 */
function same(a: Uint8Array, av: DataView, ao: number, b: Uint8Array, bv: DataView, bo: number, n: number): boolean {
  if (n < 4) {
    for (let k = 0; k < n; k++) if (a[ao + k] !== b[bo + k]) return false
    return true
  }
  const last = n - 4
  for (let k = 0; k < last; k += 4) if (av.getInt32(ao + k) !== bv.getInt32(bo + k)) return false
  return av.getInt32(ao + last) === bv.getInt32(bo + last)
}

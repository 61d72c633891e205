/**
 * Bounded maps. `ByteLru`: a map bounded by bytes, with second-chance (CLOCK) eviction: a hit sets a flag
 * instead of reordering, so reads cost a map lookup; when over budget, the oldest insertion goes unless it
 * was read since the last pass, in which case it moves to the back once. Backs the memory store and the L1
 * tier. `BoundedMap`: a map bounded by count, for the engine's per-key and per-tag bookkeeping.
 */
interface Slot<V> {
  value: V
  /** Bytes this value counts for against the budget. */
  size: number
  /** Read since the last eviction pass: gets a second chance (moves to the back once) instead of going. */
  referenced: boolean
}

export class ByteLru<V> {
  /** The values in insertion order (a Map iterates so): the oldest is the first eviction candidate. */
  readonly #slots = new Map<string, Slot<V>>()
  /** The byte budget. */
  readonly #maxBytes: number
  /** Bytes held now, kept in step by set and delete. */
  #bytes = 0

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  get bytes(): number {
    return this.#bytes
  }

  get count(): number {
    return this.#slots.size
  }

  get(key: string): V | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    slot.referenced = true
    return slot.value
  }

  /** Stores a value of `size` bytes. Returns false (and keeps nothing) when it exceeds the whole budget. */
  set(key: string, value: V, size: number): boolean {
    this.delete(key)
    if (size > this.#maxBytes) return false
    this.#slots.set(key, { value, size, referenced: false })
    this.#bytes += size
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#slots.entries().next()
      if (oldest.done) break
      const [oldestKey, slot] = oldest.value
      this.#slots.delete(oldestKey)
      if (slot.referenced) {
        slot.referenced = false
        this.#slots.set(oldestKey, slot)
      } else {
        this.#bytes -= slot.size
      }
    }
    return true
  }

  delete(key: string): void {
    const slot = this.#slots.get(key)
    if (slot === undefined) return
    this.#slots.delete(key)
    this.#bytes -= slot.size
  }

  clear(): void {
    this.#slots.clear()
    this.#bytes = 0
  }
}

/** Bounded per-key bookkeeping: drops the oldest insertion past `limit`, so no key space grows it without bound. */
export class BoundedMap<V> extends Map<string, V> {
  /** The most entries kept. */
  readonly #limit: number

  constructor(limit: number) {
    super()
    this.#limit = limit
  }

  override set(key: string, value: V): this {
    if (!this.has(key) && this.size >= this.#limit) {
      const oldest = this.keys().next()
      if (!oldest.done) this.delete(oldest.value)
    }
    return super.set(key, value)
  }
}

/**
 * The in-process store: decoded entries in a byte-bounded map with second-chance (CLOCK) eviction, so a
 * hit costs a map lookup and a flag write, not a reorder. Holds decoded copies made from the encoded bytes,
 * so a caller mutating a value it passed to `set` or got from `get` cannot change what is cached, and every
 * store treats values alike.
 */
import { decodeEntry, expiresAt, type Entry } from '../codec.js'
import { applyPurge, recordNeededUntil, type TagRecord } from '../freshness.js'
import type { Driver, ReadResult, TouchPolicy, WriteRequest } from './driver.js'

interface Slot {
  entry: Entry
  size: number
  storeExpiresAt: number
  /** Set on every hit; eviction gives a slot with this set a second chance. */
  referenced: boolean
}

export interface MemoryDriverOptions {
  maxBytes: number
  now: () => number
}

export class MemoryDriver implements Driver {
  readonly name = 'memory' as const
  readonly capabilities = { atomicWrites: true, atomicPurges: true, nativeTtl: true, binary: true, durable: false }
  readonly #slots = new Map<string, Slot>()
  readonly #tags = new Map<string, { record: TagRecord; expiresAt: number }>()
  readonly #maxBytes: number
  readonly #now: () => number
  #bytes = 0

  constructor(options: MemoryDriverOptions) {
    this.#maxBytes = options.maxBytes
    this.#now = options.now
  }

  /** Bytes held (encoded sizes), for stats and tests. */
  get size(): number {
    return this.#bytes
  }

  readSync(key: string, touch: TouchPolicy): { entry: Entry; size: number } | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    if (this.#now() >= slot.storeExpiresAt) {
      this.#remove(key, slot)
      return undefined
    }
    slot.referenced = true
    // Touching costs nothing here, so every read slides the eviction time (no throttle needed).
    slot.storeExpiresAt = Math.min(expiresAt(slot.entry), touch.until)
    return slot
  }

  read(key: string, touch: TouchPolicy): Promise<ReadResult> {
    return Promise.resolve(this.readSync(key, touch))
  }

  async write(request: WriteRequest): Promise<boolean> {
    const copy = await decodeEntry(request.bytes)
    const current = this.#slots.get(request.key)
    if (current !== undefined && current.entry.lastModified > request.entry.lastModified) return false
    if (request.bytes.length > this.#maxBytes) {
      // Larger than the whole budget: keeping it would evict everything else. Drop any older version.
      if (current !== undefined) this.#remove(request.key, current)
      return false
    }
    if (current !== undefined) this.#remove(request.key, current)
    this.#slots.set(request.key, {
      entry: copy,
      size: request.bytes.length,
      storeExpiresAt: request.storeExpiresAt,
      referenced: false,
    })
    this.#bytes += request.bytes.length
    this.#evict()
    return true
  }

  async delete(key: string): Promise<void> {
    const slot = this.#slots.get(key)
    if (slot !== undefined) this.#remove(key, slot)
  }

  readTagsSync(tags: readonly string[]): Array<TagRecord | undefined> {
    const now = this.#now()
    return tags.map((tag) => {
      const held = this.#tags.get(tag)
      if (held === undefined) return undefined
      if (now >= held.expiresAt) {
        this.#tags.delete(tag)
        return undefined
      }
      return held.record
    })
  }

  readTags(tags: readonly string[]): Promise<Array<TagRecord | undefined>> {
    return Promise.resolve(this.readTagsSync(tags))
  }

  async purgeTags(tags: readonly string[], now: number, expireSeconds: number, maxExpireMs: number): Promise<void> {
    for (const tag of tags) {
      const [previous] = this.readTagsSync([tag])
      const record = applyPurge(previous, now, expireSeconds)
      this.#tags.set(tag, { record, expiresAt: recordNeededUntil(record, maxExpireMs) })
    }
  }

  async close(): Promise<void> {
    this.#slots.clear()
    this.#tags.clear()
    this.#bytes = 0
  }

  #remove(key: string, slot: Slot): void {
    this.#slots.delete(key)
    this.#bytes -= slot.size
  }

  #evict(): void {
    // CLOCK: walk from the oldest insertion; referenced slots get moved to the back once, others go.
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#slots.entries().next()
      if (oldest.done) return
      const [key, slot] = oldest.value
      this.#slots.delete(key)
      if (slot.referenced && this.#now() < slot.storeExpiresAt) {
        slot.referenced = false
        this.#slots.set(key, slot)
      } else {
        this.#bytes -= slot.size
      }
    }
  }
}

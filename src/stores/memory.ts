/**
 * The in-process store: decoded entries in a byte-bounded map (lru.ts), so a hit costs a map lookup and a
 * flag write. It holds the snapshot the core decoded from the encoded bytes (never the caller's object), so
 * a caller mutating a value after passing it to `set` cannot change what is cached, and every store and
 * tier treats values alike. Values returned by reads are shared, not copied (that is what keeps a hit
 * cheap): callers must treat them as read-only.
 */
import { expiresAt, type Entry } from '../codec.js'
import { applyPurge, recordNeededUntil, type TagRecord } from '../freshness.js'
import { ByteLru } from '../lru.js'
import type { Driver, ReadResult, TouchPolicy, WriteRequest } from './driver.js'

interface Slot {
  entry: Entry
  /** When the entry goes: its hard expiry or eviction time, whichever is first (slid by reads). */
  storeExpiresAt: number
}

export interface MemoryDriverOptions {
  maxBytes: number
  now: () => number
}

export class MemoryDriver implements Driver {
  readonly name = 'memory' as const
  readonly capabilities = { atomicWrites: true, atomicPurges: true, nativeTtl: true, binary: true, durable: false, atomicLeases: true }
  /** The entries, decoded, bounded by their encoded size. */
  readonly #slots: ByteLru<Slot>
  /** Purge records by tag, each kept until no entry it concerns could still be served. */
  readonly #tags = new Map<string, { record: TagRecord; expiresAt: number }>()
  /** Regeneration leases by key (one process: they only matter to acquireLease callers such as the Next adapter). */
  readonly #leases = new Map<string, { token: string; expiresAt: number }>()
  /** The cache's clock, so that expiry follows an injected one. */
  readonly #now: () => number

  constructor(options: MemoryDriverOptions) {
    this.#slots = new ByteLru(options.maxBytes)
    this.#now = options.now
  }

  /** Bytes held (encoded sizes), for stats and tests. */
  get size(): number {
    return this.#slots.bytes
  }

  /** A read at `now` that slides the eviction time to `until` (capped by the hard expiry). */
  readAt(key: string, now: number, until: number): Entry | undefined {
    const slot = this.#slots.get(key)
    if (slot === undefined) return undefined
    if (now >= slot.storeExpiresAt) {
      this.#slots.delete(key)
      return undefined
    }
    // Touching costs nothing here, so every read slides the eviction time (no throttle needed).
    const hard = expiresAt(slot.entry)
    slot.storeExpiresAt = hard < until ? hard : until
    return slot.entry
  }

  read(key: string, touch: TouchPolicy): Promise<ReadResult> {
    const entry = this.readAt(key, touch.now, touch.until)
    return Promise.resolve(entry === undefined ? undefined : { entry })
  }

  async write(request: WriteRequest): Promise<boolean> {
    const copy = request.entry
    const current = this.#slots.get(request.key)
    if (current !== undefined && current.entry.lastModified > request.entry.lastModified) return false
    // An entry larger than the whole budget is not kept (and any older version of it goes).
    return this.#slots.set(request.key, { entry: copy, storeExpiresAt: request.storeExpiresAt }, request.bytes.length)
  }

  async delete(key: string): Promise<void> {
    this.#slots.delete(key)
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

  async acquireLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    const held = this.#leases.get(key)
    if (held !== undefined && held.token !== token && now < held.expiresAt) return false
    this.#leases.set(key, { token, expiresAt: now + ttlMs })
    return true
  }

  async extendLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    const held = this.#leases.get(key)
    if (held?.token !== token) return false
    held.expiresAt = now + ttlMs
    return true
  }

  async releaseLease(key: string, token: string): Promise<void> {
    if (this.#leases.get(key)?.token === token) this.#leases.delete(key)
  }

  async close(): Promise<void> {
    this.#leases.clear()
    this.#slots.clear()
    this.#tags.clear()
  }
}

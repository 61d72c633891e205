/**
 * The L1 tier (DESIGN §6): decoded entries of a shared store, held in process so that a hit costs no round
 * trip. An entry is trusted for `l1MaxAge` after the store last confirmed it, then re-checked (cheaply:
 * the same bytes are not decoded again); other instances' writes and purges drop entries sooner through
 * the change feed. Absent for the memory store (which is already in process) and with `l1: false`.
 */
import { envelopeSignature } from './codec.js'
import type { Held } from './entry.js'
import { ByteLru } from './lru.js'

/** An L1 entry: decoded, when it was last confirmed by the store, and the fingerprint of its bytes. */
export interface L1Slot {
  /** The entry, decoded once and shared by every hit. */
  held: Held
  /** When the store last confirmed it (read or written): the start of its l1MaxAge. */
  checkedAt: number
  /** Header and length of the stored bytes; undefined when the store never held them (a failed write). */
  signature: string | undefined
}

export class L1Tier {
  /** The entries, keyed by the caller's key (not the store key), bounded by their encoded size. */
  readonly #slots: ByteLru<L1Slot>
  /** How long an entry is served before being re-checked: bounds what a lost feed message costs. */
  readonly maxAgeMs: number
  /**
   * Store reads under way, by key: an entry deleted while its read is under way (another instance's delete,
   * a resync) must not be refilled with what that read returns, which may be what was deleted.
   */
  readonly #reads = new Map<string, Set<{ dropped: boolean }>>()

  constructor(maxBytes: number, maxAgeMs: number) {
    this.#slots = new ByteLru<L1Slot>(maxBytes)
    this.maxAgeMs = maxAgeMs
  }

  get(key: string): L1Slot | undefined {
    return this.#slots.get(key)
  }

  /** Holds an entry the store has just confirmed (read or written) as these bytes. */
  remember(key: string, held: Held, at: number, bytes: Uint8Array): void {
    this.#slots.set(key, { held, checkedAt: at, signature: envelopeSignature(bytes) }, bytes.length)
  }

  /** Holds an entry the store failed to take, so this instance serves it instead of rendering it again. */
  rememberUnwritten(key: string, held: Held, at: number, size: number): void {
    this.#slots.set(key, { held, checkedAt: at, signature: undefined }, size)
  }

  /** Marks a store read of `key` as under way; `done` must be called when it settles. */
  readStarted(key: string): { dropped: boolean } {
    const read = { dropped: false }
    let reads = this.#reads.get(key)
    if (reads === undefined) this.#reads.set(key, (reads = new Set()))
    reads.add(read)
    return read
  }

  /** The read settled: whether L1 may keep what it returned (nothing dropped the key meanwhile). */
  readDone(key: string, read: { dropped: boolean }): boolean {
    const reads = this.#reads.get(key)
    reads?.delete(read)
    if (reads?.size === 0) this.#reads.delete(key)
    return !read.dropped
  }

  /**
   * Drops an entry; `removed` (a delete) also keeps reads under way from refilling it. (Not for another
   * instance's write: what such a read returns is then no worse than what the re-check bound allows.)
   */
  forget(key: string, removed = false): void {
    this.#slots.delete(key)
    const reads = removed ? this.#reads.get(key) : undefined
    if (reads !== undefined) for (const read of reads) read.dropped = true
  }

  clear(): void {
    this.#slots.clear()
    for (const reads of this.#reads.values()) for (const read of reads) read.dropped = true
  }
}

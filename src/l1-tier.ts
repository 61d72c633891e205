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
   * Bumped whenever entries are dropped (another instance's write or delete, a resync): a store read that
   * started before must not refill L1 with what it read, which may be what was just dropped.
   */
  generation = 0

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

  forget(key: string): void {
    this.generation += 1
    this.#slots.delete(key)
  }

  clear(): void {
    this.generation += 1
    this.#slots.clear()
  }
}

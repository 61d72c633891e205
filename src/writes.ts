/**
 * Writes: a kept entry to the store, conditionally (the driver refuses to put an older entry over a newer
 * one), then to L1 and, through the feed, to the other instances. Regenerated entries "land": lookups find
 * them here until the store write is done, so a caller that got a value from getOrSet finds it on its next
 * call even while the write is under way (read-your-writes). Store failures are reported, never thrown.
 */
import type { Held, Kept } from './entry.js'
import type { Eviction } from './eviction.js'
import type { L1Tier } from './l1-tier.js'
import type { Waiters } from './leases.js'
import type { Settings } from './settings.js'
import type { Announcer, PurgeResult } from './purge-acks.js'
import { isSkipped, type StoreStack } from './store-stack.js'
import type { Telemetry } from './telemetry.js'

export class Writes {
  /** Regenerated entries whose write has not landed yet, by the caller's key: the Reader looks here first. */
  readonly landing = new Map<string, Held>()
  /**
   * How many regenerated entries have started landing so far: a `getOrSet` whose lookup missed looks again
   * if this moved meanwhile, since the regeneration it would have joined is no longer in flight.
   */
  landedCount = 0
  /** The configuration (durations in ms, the clock). */
  readonly #settings: Settings
  /** The conditional write, and the store key of each caller's key. */
  readonly #store: StoreStack
  /** Refilled with what was written (or what the store failed to take, so this instance still serves it). */
  readonly #l1: L1Tier | undefined
  /** A write sets the eviction time: the touch throttle starts over. */
  readonly #eviction: Eviction
  /** Callers waiting for another instance: a write here may be what they wait for. */
  readonly #waiters: Waiters
  /** Tells the other instances to drop their L1 copy. */
  readonly #feed: Announcer
  /** Where counters, events and handled errors go. */
  readonly #telemetry: Telemetry

  constructor(
    settings: Settings,
    store: StoreStack,
    l1: L1Tier | undefined,
    eviction: Eviction,
    waiters: Waiters,
    feed: Announcer,
    telemetry: Telemetry,
  ) {
    this.#settings = settings
    this.#store = store
    this.#l1 = l1
    this.#eviction = eviction
    this.#waiters = waiters
    this.#feed = feed
    this.#telemetry = telemetry
  }

  /** Writes a kept entry; store failures are reported, not thrown. Resolves whether the store took it. */
  async write(key: string, { snapshot: held, bytes }: Kept): Promise<boolean> {
    const at = this.#settings.now()
    const k = this.#store.storeKey(key)
    const storeExpiresAt = this.#eviction.storeExpiresAt(held, at)
    let written = false
    try {
      written = await this.#store.driver.write({ key: k, entry: held, bytes, storeExpiresAt, now: at })
      this.#eviction.written(k, at)
      this.#telemetry.stats.writes += 1
      if (written) {
        this.#l1?.remember(key, held, at, bytes)
        this.#feed.publish({ type: 'written', key: k })
      } else {
        this.#l1?.forget(key) // the store holds something newer: read it next time
      }
    } catch (error) {
      // The store is failing: keep the entry in L1 so this instance serves it instead of re-rendering.
      this.#l1?.rememberUnwritten(key, held, at, bytes.length)
      if (!isSkipped(error)) this.#telemetry.report(this.#store.error(error, 'E_STORE_WRITE', `writing "${key}" failed; the value was still returned`, key))
    }
    this.#waiters.wake(k)
    this.#telemetry.emit({ type: 'write', key, written })
    return written
  }

  /**
   * A regenerated entry is about to be written: lookups find it in `landing` until `landed` (called once
   * its write has settled). An older regeneration finishing after a newer one does not shadow it.
   */
  land(key: string, held: Held): Held {
    const newer = this.landing.get(key)
    if (newer === undefined || newer.lastModified <= held.lastModified) this.landing.set(key, held)
    this.landedCount += 1
    return held
  }

  /** The write of a landing entry has settled: lookups read it where it was written. */
  landed(key: string, held: Held): void {
    if (this.landing.get(key) === held) this.landing.delete(key)
  }

  /**
   * Removes an entry here, in the store and (through the feed) in the other instances' L1, and waits until
   * they dropped it (or `purgeAckTimeout` passed). Store failures throw.
   */
  async delete(key: string): Promise<PurgeResult> {
    const k = this.#store.storeKey(key)
    this.#l1?.forget(key, true)
    try {
      await this.#store.driver.delete(k)
    } catch (error) {
      const failure = this.#store.error(error, 'E_STORE_WRITE', `deleting "${key}" failed`, key)
      this.#telemetry.report(failure)
      throw failure
    }
    const confirmed = await this.#feed.announce({ type: 'deleted', key: k })
    this.#telemetry.emit({ type: 'delete', key, ...confirmed })
    return confirmed
  }
}

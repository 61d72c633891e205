/**
 * The 31-day eviction (DESIGN §7): a store entry lives until the earlier of its hard expiry and
 * `evictUnaccessedAfter` past its last read. Reads slide that time, throttled to once per key per
 * `touchInterval`, so a hot page does not write on every hit.
 */
import type { Held } from './entry.js'
import { BoundedMap } from './lru.js'
import type { Settings } from './settings.js'
import type { TouchPolicy } from './stores/driver.js'

export class Eviction {
  /** When each store key's eviction time was last slid, by a read or a write: the touch throttle. */
  readonly #touchedAt = new BoundedMap<number>(50_000)
  /** The configuration (durations in ms, the clock). */
  readonly #settings: Settings

  constructor(settings: Settings) {
    this.#settings = settings
  }

  /** What a read of store key `k` at `at` tells the driver: the eviction time to slide to, and whether it is due. */
  touchPolicy(k: string, at: number): TouchPolicy {
    const last = this.#touchedAt.get(k)
    const due = last === undefined || at - last >= this.#settings.touchIntervalMs
    if (due) this.#touchedAt.set(k, at)
    return { until: at + this.#settings.evictMs, due, now: at }
  }

  /** A write sets the eviction time itself: no read needs to slide it for another touchInterval. */
  written(k: string, at: number): void {
    this.#touchedAt.set(k, at)
  }

  /** When the store may drop an entry written at `at`: its hard expiry or the eviction time, whichever is first. */
  storeExpiresAt(held: Held, at: number): number {
    return Math.min(held.lastModified + held.expire * 1000, at + this.#settings.evictMs)
  }
}

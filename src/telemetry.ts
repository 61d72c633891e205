/**
 * Stats and events (DESIGN §10): the counters `stats()` returns, the `onEvent` stream and the error sink
 * (`onError`, by default one log line per kind of failure per minute). Every part reports through one
 * `Telemetry`, so a sink that throws can never take the cache down.
 */
import type { IsrCacheError } from './errors.js'
import { createDefaultReporter } from './report.js'
import type { CacheStatus, IsrCacheEvent, IsrCacheOptions, IsrCacheStats } from './types.js'

export class Telemetry {
  /** The counters `stats()` copies. Each part bumps its own counters in place: a counter costs no call. */
  readonly stats: IsrCacheStats = {
    hits: 0, stale: 0, misses: 0, writes: 0, regenerations: 0, regenerationErrors: 0, storeErrors: 0, decodeErrors: 0, purges: 0, inflight: 0,
    l1Hits: 0, leaseWaits: 0, circuit: 'closed',
  }
  /** Where handled errors go: the user's `onError`, or the default rate-limited log line. */
  readonly #sink: (error: IsrCacheError) => void
  /** The user's `onEvent`, if any: without one, a lookup builds no event object. */
  readonly #onEvent: ((event: IsrCacheEvent) => void) | undefined
  /** Set when close() has finished: nothing is reported after (a write cut short by closing is not news). */
  #silenced = false

  constructor(options: Pick<IsrCacheOptions, 'onError' | 'onEvent'>) {
    this.#sink = options.onError ?? createDefaultReporter()
    this.#onEvent = options.onEvent
  }

  /** Counts a store or decode failure and hands it to the sink. */
  report(error: IsrCacheError): void {
    if (this.#silenced) return
    if (error.code === 'E_STORE_READ' || error.code === 'E_STORE_WRITE') this.stats.storeErrors += 1
    if (error.code === 'E_DECODE') this.stats.decodeErrors += 1
    try {
      this.#sink(error)
    } catch {
      // An error sink that throws must not take the cache down with it.
    }
  }

  emit(event: IsrCacheEvent): void {
    if (this.#onEvent === undefined) return
    try {
      this.#onEvent(event)
    } catch {
      // Same for event sinks.
    }
  }

  /** Counts a lookup (every `get` and `getOrSet`), and tells `onEvent` if there is one. */
  tally(key: string, status: CacheStatus): void {
    const stats = this.stats
    if (status === 'hit') stats.hits += 1
    else if (status === 'stale') stats.stale += 1
    else stats.misses += 1
    if (this.#onEvent !== undefined) this.emit({ type: 'lookup', key, status })
  }

  /** Called once close() has finished. */
  silence(): void {
    this.#silenced = true
  }
}

/**
 * Regeneration (DESIGN §1, §5): single-flight per key (every concurrent caller joins one run), background
 * runs for stale entries, stale-if-error with exponential backoff, soft and hard timeouts, and the hand-off
 * of each result to Writes. A run goes: claim (cluster lease, see leases.ts) → produce (the user's
 * regenerate function) → keep (encode a snapshot) → settle (land the write, release the lease).
 */
import { entryFrom, keep, type Held, type Kept } from './entry.js'
import { IsrCacheError, describeError } from './errors.js'
import { BoundedMap } from './lru.js'
import type { Leases } from './leases.js'
import type { Settings } from './settings.js'
import type { StoreStack } from './store-stack.js'
import type { Telemetry } from './telemetry.js'
import { timeout } from './timers.js'
import type { GetOrSetResult, Lease, RegenerateContext } from './types.js'
import type { Writes } from './writes.js'

/** The user's regenerate function. */
type Produce<T> = (context: RegenerateContext<T>) => T | Promise<T>

/**
 * What a regeneration produced: the regenerate function's own value (for its callers) and what to keep of it
 * (or why it cannot be kept); `kept` is absent for another instance's entry, found instead of rendering.
 */
interface Regenerated {
  held: Held
  kept?: Kept | IsrCacheError
}

/** A running regeneration: what its callers await, and the purge epoch it started in. */
interface Flight {
  value: Promise<Held | undefined>
  epoch: number
}

export class Regenerations {
  /** Running regenerations by key: the single flight every concurrent caller of a key joins. */
  readonly #inflight = new Map<string, Flight>()
  /**
   * Bumped when a purge starts: a regeneration that started before a purge may render pre-purge data, so a
   * caller that has nothing to serve must not join it after the purge, but start a new one.
   */
  #purgeEpoch = 0
  /** Keys whose last background regeneration failed: how often in a row, and when the next try may start. */
  readonly #backoff = new BoundedMap<{ failures: number; retryAt: number }>(10_000)
  /** Each regeneration until its write has landed or failed (and its lease is released), for close() to wait on. */
  readonly #settling = new Set<Promise<void>>()
  /** The same by key: the next regeneration of a key lets the previous one finish writing and give its lease back. */
  readonly #settlingByKey = new Map<string, Promise<void>>()
  /** The configuration (durations in ms, the clock). */
  readonly #settings: Settings
  /** Whether the store is failing right now: then no lease is asked for (fail open). */
  readonly #store: StoreStack
  /** Cluster shielding before each run on a shared store. */
  readonly #leases: Leases
  /** Where each result lands and is written. */
  readonly #writes: Writes
  /** Where counters, events and handled errors go. */
  readonly #telemetry: Telemetry

  constructor(settings: Settings, store: StoreStack, leases: Leases, writes: Writes, telemetry: Telemetry) {
    this.#settings = settings
    this.#store = store
    this.#leases = leases
    this.#writes = writes
    this.#telemetry = telemetry
  }

  /** A purge starts: runs begun before it are not joined by callers with nothing to serve. */
  purgeStarted(): void {
    this.#purgeEpoch += 1
  }

  /** Whether a regeneration of `key` is in flight in this process (a caller would join it). */
  running(key: string): boolean {
    return this.#inflight.has(key)
  }

  /**
   * getOrSet on a stale entry: served at once (or, with `softTimeout`, after waiting that long for the new
   * value), while one background regeneration runs, unless one runs already or the key is backing off.
   */
  serveStale<T>(key: string, produce: Produce<T>, input: Record<string, unknown>, held: Held, softTimeout: number | undefined): GetOrSetResult<T> | Promise<GetOrSetResult<T>> {
    const stale: GetOrSetResult<T> = { value: held.value as T, status: 'stale', lastModified: held.lastModified }
    const waiting = this.#backoff.get(key)
    if (this.#inflight.has(key) || (waiting !== undefined && this.#settings.now() < waiting.retryAt)) return stale
    const running = this.regenerate(key, produce, input, held)
    if (softTimeout === undefined) return stale
    const fresh = running.then(
      (result): GetOrSetResult<T> => (result === undefined ? stale : { value: result.value as T, status: 'miss', lastModified: result.lastModified }),
      () => stale, // stale-if-error: the failure is reported by regenerate()
    )
    return timeout(fresh, softTimeout * 1000, () => stale)
  }

  /** getOrSet with nothing to serve: wait for the (shared) regeneration, at most `hardTimeout` seconds. */
  fill<T>(key: string, produce: Produce<T>, input: Record<string, unknown>, hardTimeout: number | undefined): Promise<GetOrSetResult<T>> {
    const running = this.regenerate(key, produce, input, undefined).then((held): GetOrSetResult<T> => {
      // A miss always resolves to an entry (its own, or another instance's); never undefined.
      const entry = held!
      return { value: entry.value as T, status: 'miss', lastModified: entry.lastModified }
    })
    if (hardTimeout === undefined) return running
    return timeout(running, hardTimeout * 1000, () => {
      throw new IsrCacheError('E_HARD_TIMEOUT', `gave up waiting for the regeneration of "${key}" after ${hardTimeout} s (hardTimeout); it continues in the background and its result will be cached`, { key })
    })
  }

  /**
   * Joins the running regeneration of `key` (if it started in this purge epoch), or starts one. Resolves
   * the value for callers (undefined when another instance regenerates a stale key); rejects with
   * E_REGENERATE when the regenerate function throws.
   */
  regenerate<T>(key: string, produce: Produce<T>, input: Record<string, unknown>, stale: Held | undefined): Promise<Held | undefined> {
    const running = this.#inflight.get(key)
    if (running !== undefined && running.epoch === this.#purgeEpoch) return running.value
    const previous = this.#settlingByKey.get(key)
    /** The lease this run holds, once claimed: released when the run has settled. */
    const hold: { lease?: Lease } = {}
    this.#telemetry.stats.inflight += 1
    const run = this.#run(key, produce, input, stale, previous, hold)
    // Callers get the value regenerate returned (their own object, never what the cache keeps).
    const value = run.then((outcome) => outcome?.held)
    value.catch(() => {}) // a background run's failure is reported by #settle, whether or not anyone awaits it
    const flight: Flight = { value, epoch: this.#purgeEpoch }
    this.#inflight.set(key, flight)
    this.#settle(key, run, flight, stale !== undefined, hold)
    return value
  }

  /** Waits for running regenerations to land, at most the write deadline (close()). */
  async drain(): Promise<void> {
    if (this.#settling.size > 0) {
      await timeout(Promise.all(this.#settling).then(() => undefined), this.#settings.writeTimeoutMs, () => undefined)
    }
  }

  /**
   * claim → produce → keep, in one async function: its awaits are exactly those of the work (a helper
   * awaited per step would delay the landing of each result by a few microtask turns).
   */
  async #run<T>(key: string, produce: Produce<T>, input: Record<string, unknown>, stale: Held | undefined, previous: Promise<void> | undefined, hold: { lease?: Lease }): Promise<Regenerated | undefined> {
    const background = stale !== undefined
    // In one process the in-process single-flight is already exact; leases are for shared stores. A store
    // whose last call failed (this very lookup's read, typically) is not asked again: render here, fail open.
    // Except for a stale entry while the store is slow rather than away (a missed deadline: overload, a busy
    // Redis): every instance would render it at once, so it keeps being served, and a later request tries.
    if (this.#leases.enabled && background && this.#store.slow) return undefined
    if (this.#leases.enabled && !this.#store.failing) {
      // The previous regeneration of this key may still be writing and holding the lease: let it finish.
      if (previous !== undefined) await previous
      const claim = await this.#leases.claim(key, background)
      if (claim === null) return undefined // another instance regenerates this stale key
      hold.lease = claim.lease
      if (claim.held !== undefined) return { held: claim.held } // another instance's entry: not written again
    }
    const startedAt = this.#settings.now()
    this.#telemetry.stats.regenerations += 1
    let value: T
    const context: RegenerateContext<T> = { key, staleValue: stale?.value as T | undefined }
    try {
      value = await produce(context)
    } catch (error) {
      throw this.#failed(key, error, background, startedAt)
    }
    const held = this.#produced(key, value, context, input, background, startedAt)
    try {
      return { held, kept: await keep(held, this.#settings.compression) }
    } catch (error) {
      // Unstorable (E_ENCODE): the callers still get their value; the failure is reported once it settles.
      return { held, kept: error instanceof IsrCacheError ? error : new IsrCacheError('E_ENCODE', describeError(error), { cause: error, key }) }
    }
  }

  /** The regenerate function returned: the key's backoff ends, and its value becomes an entry. */
  #produced<T>(key: string, value: T, context: RegenerateContext<T>, input: Record<string, unknown>, background: boolean, startedAt: number): Held {
    this.#backoff.delete(key)
    this.#telemetry.emit({ type: 'regenerate', key, background, ok: true, durationMs: this.#settings.now() - startedAt })
    // lastModified is when the regeneration started: data fetched by it may predate a purge issued meanwhile.
    return entryFrom(value, context.entryOptions === undefined ? input : { ...input, ...context.entryOptions }, startedAt, this.#settings)
  }

  /** The regenerate function threw: count it, back the key off (stale-if-error), and say what happens next. */
  #failed(key: string, error: unknown, background: boolean, startedAt: number): IsrCacheError {
    const now = this.#settings.now
    this.#telemetry.stats.regenerationErrors += 1
    const failures = (this.#backoff.get(key)?.failures ?? 0) + 1
    const delay = Math.min(this.#settings.backoffInitialMs * 2 ** (failures - 1), this.#settings.backoffMaxMs)
    this.#backoff.set(key, { failures, retryAt: now() + delay })
    this.#telemetry.emit({ type: 'regenerate', key, background, ok: false, durationMs: now() - startedAt })
    return new IsrCacheError(
      'E_REGENERATE',
      background
        ? `regenerating "${key}" failed; the stale entry stays and is retried after ${delay / 1000} s: ${describeError(error)}`
        : `regenerating "${key}" failed and there is no entry to serve: ${describeError(error)}`,
      { cause: error, key, background },
    )
  }

  /**
   * After a run: callers already have the value; lookups find it in `landing` until the write lands; the
   * lease is given up only then, so no other instance starts over in between. Failures are reported here.
   */
  #settle(key: string, run: Promise<Regenerated | undefined>, flight: Flight, background: boolean, hold: { lease?: Lease }): void {
    const settled: Promise<void> = run
      .then(async (outcome) => {
        if (this.#inflight.get(key) === flight) this.#inflight.delete(key)
        const kept = outcome?.kept
        if (kept === undefined) return
        if (kept instanceof IsrCacheError) throw kept
        const held = this.#writes.land(key, kept.snapshot)
        try {
          await this.#writes.write(key, kept)
        } finally {
          this.#writes.landed(key, held)
        }
      })
      .catch((error: unknown) => {
        if (this.#inflight.get(key) === flight) this.#inflight.delete(key)
        if (error instanceof IsrCacheError && (error.code !== 'E_REGENERATE' || background)) this.#telemetry.report(error)
      })
      .finally(async () => {
        await hold.lease?.release()
        this.#telemetry.stats.inflight -= 1
        this.#settling.delete(settled)
        if (this.#settlingByKey.get(key) === settled) this.#settlingByKey.delete(key)
      })
    this.#settling.add(settled)
    this.#settlingByKey.set(key, settled)
  }
}

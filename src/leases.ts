/**
 * Cluster shielding (DESIGN §5): a lease in the store per regenerating key, so that of all instances
 * sharing the store, one regenerates. The winner extends its lease while it works; a loser with a stale
 * entry serves it; a loser with nothing waits for the winner's entry (woken by the change feed or by
 * polling), or for the lease to come free, then renders itself. A store failure fails open (render here),
 * except a lease request that missed its deadline: its outcome is unknown, so it counts as held elsewhere.
 */
import { randomUUID } from 'node:crypto'
import type { Held } from './entry.js'
import type { L1Tier } from './l1-tier.js'
import type { Reader } from './reader.js'
import type { Settings } from './settings.js'
import { isSkipped, type StoreStack } from './store-stack.js'
import { missedDeadline } from './stores/guard.js'
import type { Telemetry } from './telemetry.js'
import type { Lease } from './types.js'

/** How often a caller waiting for another instance's regeneration looks at the store (the change feed wakes it sooner). */
const LEASE_POLL_MS = 50

/** Callers waiting for a key to be written, by store key: woken by this instance's writes and by the feed. */
export class Waiters {
  /** Each waiting caller's resolve, by store key. */
  readonly #byKey = new Map<string, Set<() => void>>()

  /** Store key `k` was written (here, or by another instance as the feed says): stop waiting. */
  wake(k: string): void {
    const waiting = this.#byKey.get(k)
    if (waiting === undefined) return
    this.#byKey.delete(k)
    for (const resolve of waiting) resolve()
  }

  /**
   * Resolves when `k` is written or after `ms`, whichever comes first. The timer is referenced (the
   * caller awaits this: see timers.ts) and cleared on a wake.
   */
  wait(k: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.#byKey.get(k)
      if (set === undefined) this.#byKey.set(k, (set = new Set()))
      const timer = setTimeout(() => {
        set.delete(done)
        if (set.size === 0 && this.#byKey.get(k) === set) this.#byKey.delete(k)
        resolve()
      }, ms)
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      set.add(done)
    })
  }
}

/**
 * How a regeneration may go ahead: `held`, another instance's fresh entry, is served instead of rendering;
 * without it, render here. `lease` is this instance's (undefined where none was needed or the store
 * failed: fail open), released by the caller once its write has landed.
 */
export interface Claim {
  lease: Lease | undefined
  held?: Held
}

export class Leases {
  /** Whether getOrSet takes leases at all: the `lease` option, on a shared store (one process needs none). */
  readonly enabled: boolean
  /** Set when close() starts: callers waiting for another instance stop waiting (and render, or give up). */
  #closing = false
  /** The configuration (durations in ms, the clock). */
  readonly #settings: Settings
  /** Takes, extends and releases leases (the guarded driver; the bare one for clean-ups past the breaker). */
  readonly #store: StoreStack
  /** For the double check under a lease: the store's entry, fresh, bypassing L1. */
  readonly #reader: Reader
  /** A won lease drops the key's L1 copy (see `acquire`). */
  readonly #l1: L1Tier | undefined
  /** Woken by writes here and by the feed: a wait for another instance ends as soon as its entry lands. */
  readonly #waiters: Waiters
  /** Where counters, events and handled errors go. */
  readonly #telemetry: Telemetry

  constructor(settings: Settings, store: StoreStack, reader: Reader, l1: L1Tier | undefined, waiters: Waiters, telemetry: Telemetry) {
    this.enabled = settings.lease && store.memory === undefined
    this.#settings = settings
    this.#store = store
    this.#reader = reader
    this.#l1 = l1
    this.#waiters = waiters
    this.#telemetry = telemetry
  }

  /**
   * Before a regeneration of `key`: take its lease, or learn that another instance holds it. Resolves
   * null when another instance regenerates a stale key (keep serving it), else how to go ahead.
   */
  async claim(key: string, background: boolean): Promise<Claim | null> {
    const k = this.#store.storeKey(key)
    let lease: Lease | undefined
    const taken = await this.take(k, this.#settings.leaseTtlMs)
    if (taken === null) {
      // Another instance regenerates this key: a stale entry keeps being served meanwhile...
      if (background) return null
      // ...and a missing one is waited for.
      const waited = await this.#awaitOtherInstance(key, k)
      if (waited.held !== undefined) return waited // another instance's entry: not written again
      lease = waited.lease
    } else {
      lease = taken
    }
    // Double-check under the lease: another instance may have finished this key just before we took it.
    if (lease !== undefined) {
      const current = await this.#reader.freshInStore(key, k)
      if (current !== undefined) return { lease, held: current }
    }
    return { lease }
  }

  /**
   * `acquireLease` for adapters whose framework regenerates by itself: a lease, undefined if another
   * instance holds it, or (the store failing) a lease that holds nothing (fail open).
   */
  async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const lease = await this.take(this.#store.storeKey(key), ttlMs)
    // undefined from take means the store failed: the caller may go ahead (fail open).
    if (lease === null) return undefined
    // Won: another instance may have stored this key and given the lease back a moment ago, before this
    // instance's L1 heard of the write. The next read of the key goes to the store.
    if (lease !== undefined) this.#l1?.forget(key)
    return lease ?? { extend: async () => false, release: async () => {} }
  }

  /**
   * A lease held by this instance, extended in the background while the work runs; null if another holds it
   * (or may: the store's answer missed its deadline), undefined if the store failed.
   */
  async take(k: string, ttlMs: number): Promise<Lease | null | undefined> {
    const { driver, resolved } = this.#store
    const now = this.#settings.now
    const token = randomUUID()
    let acquired: boolean
    try {
      acquired = await driver.acquireLease(k, token, ttlMs, now())
    } catch (error) {
      if (!isSkipped(error)) {
        this.#telemetry.report(this.#store.error(error, 'E_STORE_WRITE', 'taking a regeneration lease failed'))
        // The request may still run after its deadline (a busy Redis answers late): give back whatever it
        // takes. Sent on the same connection, the release runs after it, in order. Past the breaker, which
        // may have opened on this very failure: a clean-up must not be skipped.
        resolved.releaseLease(k, token).catch(() => {})
      }
      // A missed deadline leaves the outcome unknown: the lease may be this instance's or another's, and
      // under overload every instance misses it at once. Taken as held elsewhere (what there is keeps being
      // served, a later request tries again), not as a licence to render on every instance at once; so is a
      // call skipped because the circuit opened on such misses. A store that refuses calls (down) fails
      // open: render here.
      return missedDeadline(error) || (isSkipped(error) && this.#store.slow) ? null : undefined
    }
    if (!acquired) return null
    const timer = setInterval(() => {
      driver.extendLease(k, token, ttlMs, now()).catch(() => {}) // a lost lease expires by itself
    }, Math.max(50, ttlMs / 3))
    timer.unref()
    let released = false
    return {
      extend: () => driver.extendLease(k, token, ttlMs, now()).catch(() => false),
      release: async () => {
        if (released) return
        released = true
        clearInterval(timer)
        await driver.releaseLease(k, token).catch(() => {}) // expires by itself if this fails
      },
    }
  }

  /** close() has started: stop waiting for other instances. */
  stopWaiting(): void {
    this.#closing = true
  }

  /**
   * Another instance holds the lease of a missing key: wait for its entry (woken by the change feed or
   * by polling), or for the lease to come free, at most leaseWait. Then render here if still nothing.
   */
  async #awaitOtherInstance(key: string, k: string): Promise<Claim> {
    this.#telemetry.stats.leaseWaits += 1
    const giveUpAt = performance.now() + this.#settings.leaseWaitMs
    while (performance.now() < giveUpAt) {
      await this.#waiters.wait(k, Math.min(LEASE_POLL_MS, Math.max(1, giveUpAt - performance.now())))
      if (this.#closing) break
      // Only a fresh entry will do: the store may still hold the purged or expired one we are replacing.
      const current = await this.#reader.freshInStore(key, k)
      if (current !== undefined) return { lease: undefined, held: current }
      // The holder finished without writing, or crashed and its lease expired: take over. (A store that
      // fails gives undefined: render here, fail open.)
      const lease = await this.take(k, this.#settings.leaseTtlMs)
      if (lease !== null) return { lease }
    }
    return { lease: undefined }
  }
}

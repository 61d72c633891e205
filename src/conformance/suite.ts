/**
 * What the groups of conformance tests share: the public option types of `runStoreConformance`, the
 * `Suite` each group is handed, a fake clock, and failure messages that name the store capability at fault.
 */
import type { IsrCache, IsrCacheOptions } from '../cache.js'
import type { IsrCacheError } from '../errors.js'
import type { StoreOption } from '../stores/resolve.js'

/** The subset of a Jest/Vitest-style `expect` the suite uses. */
export interface ExpectLike {
  (actual: unknown): {
    toEqual(expected: unknown): void
    toBe(expected: unknown): void
  }
}

/** The subset of a Jest/Vitest/node:test-style `it` the suite uses. */
export type ItLike = (name: string, fn: () => Promise<void>, timeout?: number) => void

export interface ConformanceCapabilities {
  /**
   * The store's expiry follows the cache's injected clock (true for memory and SQLite, whose expiry is
   * checked by isr-cache; false for Redis and most keyv stores, which expire keys on their own clock).
   * When true, the 31-day eviction is tested with a fake clock.
   */
  followsInjectedClock?: boolean
  /** Two caches on two stores made by `createStore` share data (false for per-instance memory). Default true. */
  shared?: boolean
}

export interface ConformanceOptions {
  it: ItLike
  expect: ExpectLike
  /** Makes a store (URL, Keyv, keyv store or Map). Called once per test; may return the same backend each time. */
  createStore: () => StoreOption | Promise<StoreOption>
  capabilities?: ConformanceCapabilities
  /** Extra options for every cache the suite creates (e.g. timeouts for a slow backend). */
  cacheOptions?: Omit<IsrCacheOptions, 'store' | 'now' | 'prefix'>
  /** Per-test timeout in ms, passed to `it`. Default 20 000. */
  timeout?: number
  /**
   * Start of the key prefix of every cache the suite creates (each test appends its own suffix), so that you
   * can delete the suite's keys afterwards. Default: unique per run.
   */
  keyPrefix?: string
}

export const DAY_MS = 24 * 60 * 60 * 1000

/** The injected clock of every cache a test makes: tests move time forward instead of waiting. */
export class FakeClock {
  /** @param time now, in epoch ms: what `now()` returns until `advance` moves it. */
  constructor(public time = Date.now()) {}
  /** Passed as the cache's `now` option (an arrow, so it can be passed around unbound). */
  readonly now = (): number => this.time
  advance(seconds: number): void {
    this.time += seconds * 1000
  }
}

/** Fails with a message that names the store capability at fault (a bare "expected 1 to be 2" would not). */
export function must(condition: boolean, message: string): void {
  if (!condition) throw new Error(`[isr-cache conformance] ${message}`)
}

export const show = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

export const OVERWRITE_HINT = 'Its set(key, value) must replace a value already stored under that key'
export const SHARED_HINT =
  'createStore() must return the same backend each time (create it once, outside createStore), or pass capabilities: { shared: false } for a per-instance store'
/** What each group of conformance tests is handed by `runStoreConformance`. */
export interface Suite {
  test: (name: string, body: () => Promise<void>) => void
  expect: ExpectLike
  /** Makes the caches of one test, on a fresh key prefix. */
  setup: (extra?: Partial<IsrCacheOptions>, count?: number) => Promise<{ cache: IsrCache; caches: IsrCache[]; clock: FakeClock; errors: IsrCacheError[]; close: () => Promise<unknown> }>
  /** Two caches on stores made by `createStore` share data. */
  shared: boolean
  /** The store's expiry follows the injected clock. */
  followsClock: boolean
  /** `createStore` and `cacheOptions` as given, for a test that makes a cache of its own. */
  createStore: ConformanceOptions['createStore']
  cacheOptions: ConformanceOptions['cacheOptions']
  /** The key prefix of the caches the last `setup` made. */
  lastPrefix: () => string
}

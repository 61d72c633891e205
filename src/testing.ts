/**
 * isr-cache/testing: the store conformance suite. Run it against your own keyv store to check that
 * isr-cache behaves on it as it does on the built-in ones. The tests themselves are in conformance/, one
 * file per group; this file registers them.
 *
 * ```ts
 * import { describe, it, expect } from 'vitest'
 * import { runStoreConformance } from 'isr-cache/testing'
 * describe('my store', () => runStoreConformance({ it, expect, createStore: () => new Keyv({ store: new MyStore() }) }))
 * ```
 */
import { createIsrCache, type IsrCache, type IsrCacheOptions } from './cache.js'
import { purgeTests, scopeTests } from './conformance/purges.js'
import { copyTests, readWriteTests } from './conformance/read-write.js'
import { regenerationTests } from './conformance/regeneration.js'
import { FakeClock, type ConformanceOptions, type Suite } from './conformance/suite.js'
import type { IsrCacheError } from './errors.js'

export type { ConformanceCapabilities, ConformanceOptions, ExpectLike, ItLike } from './conformance/suite.js'

/** Numbers the suites of one process, so that each gets its own default key prefix. */
let suiteRun = 0

/** Registers the conformance tests with the given `it`. */
export function runStoreConformance(options: ConformanceOptions): void {
  const { it, expect } = options
  const followsClock = options.capabilities?.followsInjectedClock ?? false
  const shared = options.capabilities?.shared ?? true
  const timeout = options.timeout ?? 20_000
  const base = options.keyPrefix ?? `isr-conformance-${process.pid}-${Date.now().toString(36)}-${(suiteRun += 1)}`
  let testIndex = 0

  /** A fresh prefix per test, so tests never see each other's keys on a shared backend. */
  async function setup(extra: Partial<IsrCacheOptions> = {}, count = 1) {
    const clock = new FakeClock()
    const errors: IsrCacheError[] = []
    const prefix = `${base}-${(testIndex += 1)}`
    const caches: IsrCache[] = []
    for (let i = 0; i < count; i += 1) {
      caches.push(
        createIsrCache({
          // The store itself is under test: every read goes to it (the L1 tier would answer from process memory).
          l1: false,
          ...options.cacheOptions,
          tagCacheTtl: 0,
          ...extra,
          store: await options.createStore(),
          prefix,
          now: clock.now,
          onError: (error) => errors.push(error),
        }),
      )
    }
    const close = () => Promise.all(caches.map((cache) => cache.close()))
    return { cache: caches[0]!, caches, clock, errors, close }
  }

  const test = (name: string, body: () => Promise<void>) => it(name, body, timeout)

  const { createStore, cacheOptions } = options
  const suite: Suite = { test, expect, setup, shared, followsClock, createStore, cacheOptions, lastPrefix: () => `${base}-${testIndex}` }
  readWriteTests(suite)
  copyTests(suite)
  purgeTests(suite)
  scopeTests(suite)
  regenerationTests(suite)
}

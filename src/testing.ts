/**
 * isr-cache/testing: the store conformance suite. Run it against your own keyv store to check that
 * isr-cache behaves on it as it does on the built-in ones.
 *
 * ```ts
 * import { describe, it, expect } from 'vitest'
 * import { runStoreConformance } from 'isr-cache/testing'
 * describe('my store', () => runStoreConformance({ it, expect, createStore: () => new Keyv({ store: new MyStore() }) }))
 * ```
 */
import { createIsrCache, type IsrCache, type IsrCacheOptions } from './cache.js'
import type { IsrCacheError } from './errors.js'
import type { StoreOption } from './stores/resolve.js'

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

const DAY_MS = 24 * 60 * 60 * 1000

class FakeClock {
  constructor(public time = Date.now()) {}
  readonly now = (): number => this.time
  advance(seconds: number): void {
    this.time += seconds * 1000
  }
}

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

  test('misses an absent key, then hits what was set', async () => {
    const { cache, errors, close } = await setup()
    try {
      expect(await cache.get('absent')).toBe(undefined)
      expect(await cache.set('page', { html: '<h1>hi</h1>' })).toBe(true)
      const found = await cache.get('page')
      expect(found?.status).toBe('hit')
      expect(found?.value).toEqual({ html: '<h1>hi</h1>' })
      expect(errors).toEqual([])
    } finally {
      await close()
    }
  })

  test('round-trips binary and structured values exactly', async () => {
    const { cache, close } = await setup()
    try {
      const bytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 37) % 256))
      const value = {
        buffer: bytes,
        typed: new Uint8Array([0, 1, 254, 255]),
        map: new Map<string, unknown>([['a', Buffer.from('x')], ['b', { nested: [1, 'two', null] }]]),
        set: new Set([1, 2]),
        date: new Date(1_700_000_000_000),
        missing: undefined,
        text: 'héllo ✓',
        big: 2n ** 70n,
      }
      await cache.set('binary', value)
      const found = (await cache.get<typeof value>('binary'))!.value
      expect(Buffer.isBuffer(found.buffer)).toBe(true)
      expect(Buffer.compare(found.buffer, bytes)).toBe(0)
      expect(found.typed instanceof Uint8Array && !Buffer.isBuffer(found.typed)).toBe(true)
      expect([...found.typed]).toEqual([0, 1, 254, 255])
      expect(found.map instanceof Map).toBe(true)
      expect(Buffer.isBuffer(found.map.get('a'))).toBe(true)
      expect(found.map.get('b')).toEqual({ nested: [1, 'two', null] })
      expect([...found.set]).toEqual([1, 2])
      expect(found.date.getTime()).toBe(1_700_000_000_000)
      expect('missing' in found).toBe(true)
      expect(found.text).toBe('héllo ✓')
      expect(found.big).toBe(2n ** 70n)
    } finally {
      await close()
    }
  })

  test('never replaces a newer entry with an older one', async () => {
    const { cache, clock, close } = await setup()
    try {
      const t = clock.now()
      expect(await cache.set('k', 'new', { lastModified: t })).toBe(true)
      expect(await cache.set('k', 'old', { lastModified: t - 1000 })).toBe(false)
      expect((await cache.get('k'))?.value).toBe('new')
      expect(await cache.set('k', 'newer', { lastModified: t + 1 })).toBe(true)
      expect((await cache.get('k'))?.value).toBe('newer')
    } finally {
      await close()
    }
  })

  test('turns stale after revalidate and expires after expire', async () => {
    const { cache, clock, close } = await setup()
    try {
      await cache.set('k', 1, { revalidate: 10, expire: 100 })
      clock.advance(10)
      expect((await cache.get('k'))?.status).toBe('hit')
      clock.advance(1)
      expect((await cache.get('k'))?.status).toBe('stale')
      clock.advance(90)
      expect(await cache.get('k')).toBe(undefined)
    } finally {
      await close()
    }
  })

  test('hard tag purge expires tagged entries at once and spares later writes', async () => {
    const { cache, clock, close } = await setup()
    try {
      await cache.set('a', 'a', { tags: ['posts', 'home'] })
      await cache.set('b', 'b', { tags: ['other'] })
      clock.advance(1)
      await cache.revalidateTag('posts')
      expect(await cache.get('a')).toBe(undefined)
      expect((await cache.get('b'))?.status).toBe('hit')
      clock.advance(1)
      await cache.set('a', 'a2', { tags: ['posts'] })
      expect((await cache.get('a'))?.value).toBe('a2')
      expect((await cache.get('a'))?.status).toBe('hit')
    } finally {
      await close()
    }
  })

  test('soft tag purge serves stale until the window closes, and does not block re-caching', async () => {
    const { cache, clock, close } = await setup()
    try {
      await cache.set('a', 'old', { tags: ['posts'] })
      clock.advance(1)
      await cache.revalidateTag(['posts'], { expire: 60 })
      expect((await cache.get('a'))?.status).toBe('stale')
      clock.advance(61)
      expect(await cache.get('a')).toBe(undefined)
      await cache.set('a', 'new', { tags: ['posts'] })
      clock.advance(3600)
      expect((await cache.get('a'))?.status).toBe('hit')
    } finally {
      await close()
    }
  })

  test('a soft purge after a hard one does not bring purged entries back', async () => {
    const { cache, clock, close } = await setup()
    try {
      await cache.set('a', 'old', { tags: ['t'] })
      clock.advance(1)
      await cache.revalidateTag('t')
      clock.advance(1)
      await cache.revalidateTag('t', { expire: 3600 })
      expect(await cache.get('a')).toBe(undefined)
    } finally {
      await close()
    }
  })

  test('revalidatePath purges the page, and with type layout the subtree', async () => {
    const { cache, clock, close } = await setup()
    try {
      await cache.set('blog-a', 'a', { path: '/blog/a' })
      await cache.set('blog-b', 'b', { path: '/blog/b/' })
      await cache.set('about', 'c', { path: '/about' })
      clock.advance(1)
      await cache.revalidatePath('/blog/a')
      expect(await cache.get('blog-a')).toBe(undefined)
      expect((await cache.get('blog-b'))?.status).toBe('hit')
      await cache.revalidatePath('/blog', { type: 'layout', expire: 30 })
      expect((await cache.get('blog-b'))?.status).toBe('stale')
      expect((await cache.get('about'))?.status).toBe('hit')
    } finally {
      await close()
    }
  })

  test('namespaces keep entries apart but share purges', async () => {
    const one = await setup({ namespace: 'build-1' })
    try {
      const store = await options.createStore()
      const two = createIsrCache({ ...options.cacheOptions, store, tagCacheTtl: 0, namespace: 'build-2', prefix: `${base}-${testIndex}`, now: one.clock.now })
      try {
        await one.cache.set('page', 'from build 1', { tags: ['t'] })
        await two.set('page', 'from build 2', { tags: ['t'] })
        expect((await one.cache.get('page'))?.value).toBe('from build 1')
        expect((await two.get('page'))?.value).toBe('from build 2')
        if (shared) {
          one.clock.advance(1)
          await two.revalidateTag('t')
          expect(await one.cache.get('page')).toBe(undefined)
        }
      } finally {
        await two.close()
      }
    } finally {
      await one.close()
    }
  })

  if (shared) {
    test('two caches on the same backend see each other\'s writes and purges', async () => {
      const { caches, clock, close } = await setup({}, 2)
      const [a, b] = caches as [IsrCache, IsrCache]
      try {
        await a.set('k', 'v', { tags: ['t'] })
        expect((await b.get('k'))?.value).toBe('v')
        clock.advance(1)
        await b.revalidateTag('t', { expire: 100 })
        expect((await a.get('k'))?.status).toBe('stale')
      } finally {
        await close()
      }
    })
  }

  test('purges of read-time tags (get options) concern that read only', async () => {
    const { cache, clock, close } = await setup()
    try {
      await cache.set('data', 'v', { tags: ['own'] })
      clock.advance(1)
      await cache.revalidateTag('page:/a', { expire: 60 })
      expect((await cache.get('data'))?.status).toBe('hit')
      expect((await cache.get('data', { tags: ['page:/a'] }))?.status).toBe('stale')
      expect((await cache.get('data', { tags: ['page:/b'] }))?.status).toBe('hit')
      await cache.revalidateTag('page:/b')
      expect(await cache.get('data', { tags: ['page:/b'] })).toBe(undefined)
      expect((await cache.get('data'))?.status).toBe('hit')
    } finally {
      await close()
    }
  })

  test('delete removes an entry', async () => {
    const { cache, close } = await setup()
    try {
      await cache.set('k', 'v')
      await cache.delete('k')
      expect(await cache.get('k')).toBe(undefined)
    } finally {
      await close()
    }
  })

  test('getOrSet regenerates once for many concurrent callers, then hits', async () => {
    const { cache, close } = await setup()
    try {
      let runs = 0
      const regenerate = async () => {
        runs += 1
        await new Promise((resolve) => setTimeout(resolve, 20))
        return { n: runs }
      }
      const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrSet('k', regenerate)))
      expect(runs).toBe(1)
      expect(results.every((r) => r.status === 'miss' && (r.value as { n: number }).n === 1)).toBe(true)
      expect((await cache.getOrSet('k', regenerate)).status).toBe('hit')
      expect(runs).toBe(1)
    } finally {
      await close()
    }
  })

  test('getOrSet serves stale and regenerates in the background', async () => {
    const { cache, clock, close } = await setup({ revalidate: 10 })
    try {
      let version = 0
      const regenerate = async () => (version += 1)
      expect((await cache.getOrSet('k', regenerate)).value).toBe(1)
      clock.advance(11)
      const stale = await cache.getOrSet('k', regenerate)
      expect(stale.status).toBe('stale')
      expect(stale.value).toBe(1)
      // The background regeneration lands in the store; wait for it.
      for (let i = 0; i < 100 && (await cache.get('k'))?.value !== 2; i += 1) await new Promise((r) => setTimeout(r, 10))
      const fresh = await cache.getOrSet('k', regenerate)
      expect(fresh.status).toBe('hit')
      expect(fresh.value).toBe(2)
    } finally {
      await close()
    }
  })

  if (followsClock) {
    test('evicts an entry nobody read for evictUnaccessedAfter, and reads keep it', async () => {
      const { cache, clock, close } = await setup({ evictUnaccessedAfter: 31 * 86_400, touchInterval: 86_400 })
      try {
        await cache.set('read-daily', 'a')
        await cache.set('never-read', 'b')
        for (let day = 0; day < 40; day += 1) {
          clock.advance(86_400)
          expect((await cache.get('read-daily'))?.value).toBe('a')
        }
        expect(await cache.get('never-read')).toBe(undefined)
        clock.advance((31 * DAY_MS) / 1000 + 1)
        expect(await cache.get('read-daily')).toBe(undefined)
      } finally {
        await close()
      }
    })
  }
}

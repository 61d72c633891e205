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

/** Fails with a message that names the store capability at fault (a bare "expected 1 to be 2" would not). */
function must(condition: boolean, message: string): void {
  if (!condition) throw new Error(`[isr-cache conformance] ${message}`)
}

const show = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const OVERWRITE_HINT = 'Its set(key, value) must replace a value already stored under that key'
const SHARED_HINT =
  'createStore() must return the same backend each time (create it once, outside createStore), or pass capabilities: { shared: false } for a per-instance store'

/** What each group of conformance tests is handed by `runStoreConformance`. */
interface Suite {
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

/** Reads, writes and overwrites: what every store must do with bytes and lastModified. */
function readWriteTests({ test, expect, setup, shared }: Suite): void {
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
      const kept = (await cache.get('k'))?.value
      must(kept === 'new', `an older write replaced a newer one: get('k') returned ${show(kept)} where 'new' was expected`)
      expect(await cache.set('k', 'newer', { lastModified: t + 1 })).toBe(true)
      const newer = (await cache.get('k'))?.value
      must(newer === 'newer', `a newer write did not replace the stored entry: get('k') returned ${show(newer)}. ${OVERWRITE_HINT}`)
    } finally {
      await close()
    }
  })

  test('a later write replaces an earlier one, also as seen by a second cache (set overwrites)', async () => {
    const { caches, clock, close } = await setup({}, 2)
    const [a, b] = caches as [IsrCache, IsrCache]
    try {
      await a.set('k', 'first')
      clock.advance(1)
      await a.set('k', 'second')
      const own = (await a.get('k'))?.value
      must(own === 'second', `after set('k', 'first') and a later set('k', 'second'), get('k') returned ${show(own)}. ${OVERWRITE_HINT}`)
      if (shared) {
        const other = (await b.get('k'))?.value
        must(
          other === 'second',
          other === undefined
            ? `a second cache found nothing where the first had written 'first', then 'second'. ${SHARED_HINT}`
            : `a second cache on the store read ${show(other)} where the first had written 'first', then 'second'. ${OVERWRITE_HINT}`,
        )
      }
    } finally {
      await close()
    }
  })
}

/** Values are copies: no object a caller holds is ever what the cache serves. */
function copyTests({ test, expect, setup }: Suite): void {
  for (const l1 of [false, true]) {
    test(`values are copies: mutating what was stored, or what a miss returned, changes nothing cached (L1 ${l1 ? 'on' : 'off'})`, async () => {
      const { cache, close } = await setup({ l1 })
      try {
        const value = { n: 1, list: [1] }
        await cache.set('set', value)
        value.n = 99
        value.list.push(2)
        const afterSet = (await cache.get('set'))?.value
        must(show(afterSet) === show({ n: 1, list: [1] }), `a value mutated after set() changed what get() returns: ${show(afterSet)}. The cache must keep a copy`)
        const miss = await cache.getOrSet('miss', () => ({ n: 1 }))
        miss.value.n = 99
        const afterMiss = (await cache.get('miss'))?.value
        must(show(afterMiss) === show({ n: 1 }), `a value mutated after a getOrSet miss changed what get() returns: ${show(afterMiss)}. The cache must keep a copy`)
        class Page {
          constructor(readonly html: string) {}
          render(): string {
            return this.html
          }
        }
        await cache.set('instance', new Page('<p>x</p>'))
        const stored = (await cache.get('instance'))?.value
        must(
          Object.getPrototypeOf(stored) === Object.prototype,
          'a class instance came back with its prototype: every store must return what a decode of the stored bytes gives (a plain object)',
        )
        expect(stored).toEqual({ html: '<p>x</p>' })
      } finally {
        await close()
      }
    })
  }
}

/** Freshness by time and by tag purge (hard, soft, repeated). */
function purgeTests({ test, expect, setup }: Suite): void {
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
      const recached = await cache.get('a')
      must(recached?.value === 'new', `an entry written again after a purge read back as ${show(recached?.value)}. ${OVERWRITE_HINT}`)
      expect(recached?.status).toBe('hit')
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

  test('a second purge of a tag takes effect (purge records are overwritten)', async () => {
    const { cache, clock, close } = await setup()
    try {
      await cache.set('a', 'v1', { tags: ['t'] })
      clock.advance(1)
      await cache.revalidateTag('t', { expire: 3600 })
      must((await cache.get('a'))?.status === 'stale', 'a soft purge did not turn a tagged entry stale: the purge record was not stored or not read back')
      clock.advance(1)
      await cache.set('a', 'v2', { tags: ['t'] })
      const rewritten = await cache.get('a')
      must(rewritten?.value === 'v2' && rewritten.status === 'hit', `after a soft purge, a new write of the entry read back as ${show(rewritten?.value)} (${rewritten?.status ?? 'missing'}). ${OVERWRITE_HINT}`)
      clock.advance(1)
      await cache.revalidateTag('t')
      const afterSecond = await cache.get('a')
      must(afterSecond === undefined, `a second (hard) purge of tag "t" was lost: the entry is still served as ${afterSecond?.status}. The purge record is rewritten on each purge. ${OVERWRITE_HINT}`)
    } finally {
      await close()
    }
  })
}

/** What a purge concerns: paths and layouts, namespaces, read-time tags. */
function scopeTests({ test, expect, setup, shared, createStore, cacheOptions, lastPrefix }: Suite): void {
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
      const store = await createStore()
      const two = createIsrCache({ ...cacheOptions, store, tagCacheTtl: 0, namespace: 'build-2', prefix: lastPrefix(), now: one.clock.now })
      try {
        await one.cache.set('page', 'from build 1', { tags: ['t'] })
        await two.set('page', 'from build 2', { tags: ['t'] })
        expect((await one.cache.get('page'))?.value).toBe('from build 1')
        expect((await two.get('page'))?.value).toBe('from build 2')
        if (shared) {
          one.clock.advance(1)
          await two.revalidateTag('t')
          must((await one.cache.get('page')) === undefined, `a purge made through a second store from createStore() did not reach the first cache. ${SHARED_HINT}`)
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
        const seen = (await b.get('k'))?.value
        must(seen === 'v', `capabilities.shared is true, but a cache on a second store from createStore() read ${show(seen)} after the first wrote 'v'. ${SHARED_HINT}`)
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
}

/** Deletes, getOrSet single-flight and stale-while-revalidate, and (where the store follows the injected clock) eviction. */
function regenerationTests({ test, expect, setup, followsClock }: Suite): void {
  test('delete removes an entry', async () => {
    const { cache, close } = await setup()
    try {
      await cache.set('k', 'v')
      await cache.delete('k')
      must((await cache.get('k')) === undefined, 'an entry was still served after delete(): the store\'s delete(key) must remove it')
      await cache.set('k', 'again')
      must((await cache.get('k'))?.value === 'again', 'a key written again after delete() did not read back: the store\'s set() after delete() must store it')
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
      must(fresh.value === 2, `the background regeneration's value (2) never replaced the stale one (got ${show(fresh.value)}). ${OVERWRITE_HINT}`)
      expect(fresh.status).toBe('hit')
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

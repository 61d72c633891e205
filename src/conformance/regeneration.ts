/** Conformance tests: delete, getOrSet single-flight and stale-while-revalidate, eviction. */
import { DAY_MS, must, show, OVERWRITE_HINT, type Suite } from './suite.js'

/** Deletes, getOrSet single-flight and stale-while-revalidate, and (where the store follows the injected clock) eviction. */
export function regenerationTests({ test, expect, setup, followsClock }: Suite): void {
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
      const looked = () => {
        const { hits, misses, stale } = cache.stats()
        return hits + misses + stale
      }
      const regenerate = async () => {
        runs += 1
        // The run lands only once every caller has looked: a store may serve concurrent reads one after
        // another (a createSentinel client passed in does), and a caller whose read is served after the
        // landing rightly finds a hit. Bounded, so that a lookup that never ends fails the test below.
        for (const giveUpAt = Date.now() + 10_000; looked() < 50 && Date.now() < giveUpAt; ) await new Promise((resolve) => setTimeout(resolve, 2))
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

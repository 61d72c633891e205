/** Conformance tests: freshness by time and by purge, and what a purge concerns (paths, namespaces, read-time tags). */
import { createIsrCache, type IsrCache } from '../cache.js'
import { must, show, OVERWRITE_HINT, SHARED_HINT, type Suite } from './suite.js'

/** Freshness by time and by tag purge (hard, soft, repeated). */
export function purgeTests({ test, expect, setup }: Suite): void {
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
export function scopeTests({ test, expect, setup, shared, createStore, cacheOptions, lastPrefix }: Suite): void {
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

/**
 * The change feed between two instances on one topology (a Redis Cluster, a Sentinel set), shared by the
 * topology suites: a purge, a write and a delete on A reach B, whose L1 and tag cache would otherwise hold
 * for a minute, and the purge and the delete are acknowledged by B before they return.
 */
import { expect } from 'vitest'
import { createIsrCache, type IsrCacheOptions } from '../../src/index.js'
import { waitFor } from './redis-topologies.js'

/** `subscribers`: how many subscriptions the feed's channel has now, as the server counts them. */
export async function feedCarriesChanges(options: IsrCacheOptions, subscribers: () => Promise<number>): Promise<void> {
  // Long l1MaxAge and tagCacheTtl: without the feed, `b` would serve its L1 copy for a minute.
  const settings = { ...options, l1MaxAge: 60, tagCacheTtl: 60 }
  const a = createIsrCache(settings)
  const b = createIsrCache(settings)
  try {
    await a.set('page', 'v1', { tags: ['posts'] })
    await a.set('other', 'o1')
    expect((await b.get('page'))?.status).toBe('hit')
    expect((await b.get('other'))?.value).toBe('o1')
    // Both instances are subscribed (the publish reply counts them).
    await waitFor('two subscribers on the feed channel', 5000, async () => (await subscribers()) === 2)
    await new Promise((resolve) => setTimeout(resolve, 2))
    // Acknowledged over this transport too: once the purge has returned, b has applied it (no waiting).
    expect(await a.revalidateTag('posts')).toEqual({ acknowledged: 1, live: 1, complete: true })
    expect(await b.get('page')).toBeUndefined()
    await a.set('other', 'o2')
    await waitFor('b to see the write', 5000, async () => (await b.get('other'))?.value === 'o2')
    expect(await a.delete('other')).toEqual({ acknowledged: 1, live: 1, complete: true })
    expect(await b.get('other')).toBeUndefined()
  } finally {
    await Promise.all([a.close(), b.close()])
  }
}

/**
 * peekFresh: the HTTP layer's in-process HIT path. It must answer exactly the fresh entries `getOrSet`
 * would answer as a hit without a store call, count them as hits, and answer nothing (counting nothing) for
 * every other case, so that getOrSet then decides and counts: stale, missing, purged, an L1 copy past its
 * re-check age, a regeneration landing, a closed cache, a cache object that is not ours.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache, peekFresh, type IsrCache } from '../src/cache.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'

const clock = { time: 1_700_000_000_000 }
const now = () => clock.time

describe('peekFresh on the memory store', () => {
  it('answers a fresh entry as a counted hit, and nothing for stale, missing, purged or closed', async () => {
    const cache = createIsrCache({ now })
    await cache.set('/a', 'A', { revalidate: 10, tags: ['t'] })
    expect(peekFresh(cache, '/a')).toMatchObject({ value: 'A', status: 'hit', lastModified: clock.time })
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 0, stale: 0 })
    expect(peekFresh(cache, '/missing')).toBeUndefined()
    clock.time += 11_000
    expect(peekFresh(cache, '/a'), 'stale: getOrSet decides').toBeUndefined()
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 0, stale: 0 })
    await cache.set('/a', 'A2', { revalidate: 10, tags: ['t'] })
    expect(peekFresh(cache, '/a')?.value).toBe('A2')
    await cache.revalidateTag('t')
    expect(peekFresh(cache, '/a'), 'purged').toBeUndefined()
    await cache.close()
    expect(peekFresh(cache, '/a')).toBeUndefined()
  })

  it('answers nothing while a regeneration is landing, and nothing for a cache object that is not ours', async () => {
    const cache = createIsrCache({ now })
    await cache.set('/b', 'B', { revalidate: 1 })
    clock.time += 2_000
    let finish!: (value: string) => void
    const stale = await cache.getOrSet('/b', () => new Promise<string>((resolve) => (finish = resolve)))
    expect(stale.status).toBe('stale')
    finish('B2')
    // Landing (its value handed over, the write under way) or written: never the old value as fresh.
    const peeked = peekFresh<string>(cache, '/b')
    expect(peeked === undefined || peeked.value === 'B2').toBe(true)
    const foreign = { ...cache } as IsrCache
    expect(peekFresh(foreign, '/b')).toBeUndefined()
    await cache.close()
  })
})

describe.runIf(redisAvailable)('peekFresh on Redis with the L1 tier', () => {
  const prefix = uniquePrefix('peek')
  afterAll(() => dropPrefix(prefix))

  it('answers a young L1 entry whose tag records are at hand; nothing past l1MaxAge or before the tags were read', async () => {
    const writer = createIsrCache({ store: REDIS_URL, prefix, now })
    const reader = createIsrCache({ store: REDIS_URL, prefix, now, l1MaxAge: 1 })
    await writer.set('/c', 'C', { revalidate: 60, tags: ['p'] })
    expect(peekFresh(reader, '/c'), 'not in L1 yet').toBeUndefined()
    expect((await reader.get('/c'))?.status).toBe('hit')
    expect(peekFresh(reader, '/c')).toMatchObject({ value: 'C', status: 'hit' })
    expect(reader.stats().l1Hits).toBeGreaterThanOrEqual(1)
    clock.time += 1_000
    expect(peekFresh(reader, '/c'), 'the L1 copy is due for its re-check').toBeUndefined()
    await Promise.all([writer.close(), reader.close()])
  })
})

/**
 * Redis specifics, on the real server: bytes stored raw (no base64), the store TTL follows
 * min(hard expiry, last read + evictUnaccessedAfter) and a due read slides it in the same round trip,
 * a write never replaces a newer entry even from another client, and an existing Keyv is used as is.
 */
import { Keyv } from 'keyv'
import KeyvRedis from '@keyv/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache } from '../src/index.js'
import { REDIS_URL, dropPrefix, rawClient, redisAvailable, uniquePrefix } from './support/redis.js'

const DAY = 86_400

describe.runIf(redisAvailable)('Redis store', () => {
  const prefixes: string[] = []
  const prefix = (name: string) => {
    const p = uniquePrefix(name)
    prefixes.push(p)
    return p
  }
  afterAll(async () => {
    for (const p of prefixes) await dropPrefix(p)
  })

  it('stores a 50 KB binary page in about 50 KB (no base64)', async () => {
    const p = prefix('size')
    const cache = createIsrCache({ store: REDIS_URL, prefix: p })
    const rscData = Buffer.alloc(50 * 1024, 1)
    await cache.set('/page', { html: '<html></html>', rscData })
    const raw = await rawClient()
    const length = await raw.strLen(`${p}:e:default:/page`)
    expect(length / (rscData.length + 13)).toBeLessThan(1.01)
    const stored = (await raw.get(`${p}:e:default:/page`)) as unknown as Buffer
    expect(stored.subarray(0, 4).toString()).toBe('ISR1')
    await raw.quit()
    expect(Buffer.compare((await cache.get<{ rscData: Buffer }>('/page'))!.value.rscData, rscData)).toBe(0)
    await cache.close()
  })

  it('sets the store TTL to the earlier of hard expiry and 31 days, and a due read slides it', async () => {
    const p = prefix('ttl')
    let time = Date.now()
    const cache = createIsrCache({ store: REDIS_URL, prefix: p, now: () => time, touchInterval: DAY })
    const raw = await rawClient()
    await cache.set('short', 1, { expire: 3600 })
    await cache.set('long', 2)
    const ttl = (key: string) => raw.pTTL(`${p}:e:default:${key}`)
    expect(Math.abs((await ttl('short')) - 3600_000)).toBeLessThan(5_000)
    expect(Math.abs((await ttl('long')) - 31 * DAY * 1000)).toBeLessThan(5_000)
    // A read within the touch interval does not rewrite the TTL...
    await raw.pExpire(`${p}:e:default:long`, 10 * DAY * 1000)
    time += 3_600_000
    await cache.get('long')
    expect(Math.abs((await ttl('long')) - 10 * DAY * 1000)).toBeLessThan(5_000)
    // ...one after it does, to 31 days from the (injected) now, in the same call.
    time += DAY * 1000
    await cache.get('long')
    expect(Math.abs((await ttl('long')) - 31 * DAY * 1000)).toBeLessThan(5_000)
    // And never past the hard expiry.
    time += DAY * 1000
    await cache.get('short')
    expect(await ttl('short')).toBeLessThanOrEqual(1) // already past its hour: the store drops it
    await raw.quit()
    await cache.close()
  })

  it('keeps the newer entry when two instances write out of order', async () => {
    const p = prefix('order')
    const a = createIsrCache({ store: REDIS_URL, prefix: p })
    const b = createIsrCache({ store: REDIS_URL, prefix: p })
    const t = Date.now()
    expect(await a.set('k', 'newer', { lastModified: t })).toBe(true)
    expect(await b.set('k', 'older', { lastModified: t - 1 })).toBe(false)
    expect((await b.get('k'))?.value).toBe('newer')
    await a.close()
    await b.close()
  })

  it('uses an existing Keyv with a @keyv/redis store, and leaves its connection open on close', async () => {
    const p = prefix('keyv')
    const store = new KeyvRedis(REDIS_URL)
    const keyv = new Keyv({ store })
    const cache = createIsrCache({ store: keyv, prefix: p })
    expect(cache.storeKind).toBe('redis')
    await cache.set('k', Buffer.from([0, 255]))
    expect((await cache.get('k'))?.value).toEqual(Buffer.from([0, 255]))
    await cache.close()
    expect((store.client as { isOpen: boolean }).isOpen).toBe(true)
    await store.disconnect()
  })

  it('fails open when Redis is unreachable: misses, regenerated values, reported errors, no hang', async () => {
    const errors: string[] = []
    const cache = createIsrCache({ store: 'redis://127.0.0.1:1', readTimeout: 0.2, writeTimeout: 0.2, onError: (e) => errors.push(e.code) })
    const started = performance.now()
    expect(await cache.get('k')).toBeUndefined()
    expect((await cache.getOrSet('k', () => 'rendered')).value).toBe('rendered')
    expect(performance.now() - started).toBeLessThan(3000)
    expect(errors).toContain('E_STORE_READ')
    await cache.close()
  })
})

describe.runIf(redisAvailable)('Redis store from a client the app made (TLS options, ACLs, pools)', () => {
  it('uses a node-redis client passed as the store, connects it, and leaves it open on close', async () => {
    const { createClient } = await import('@redis/client')
    const client = createClient({ url: REDIS_URL })
    client.on('error', () => {})
    const p = uniquePrefix('client')
    const cache = createIsrCache({ store: client, prefix: p })
    expect(cache.storeKind).toBe('redis')
    await cache.set('k', Buffer.from([1, 2, 3]))
    expect((await cache.get('k'))?.value).toEqual(Buffer.from([1, 2, 3]))
    await cache.close()
    expect(client.isOpen).toBe(true)
    await client.quit()
    await dropPrefix(p)
  })
})

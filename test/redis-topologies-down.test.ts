/**
 * A Redis Cluster or Sentinel store that is not there at all (refused ports): pages still render, reads
 * are misses, purges are reported, and close() returns.
 */
import { describe, expect, it } from 'vitest'
import { createIsrCache, IsrCacheError } from '../src/index.js'
import { freePort } from './support/redis-server.js'

describe.each([
  ['redis+cluster', async () => `redis+cluster://127.0.0.1:${await freePort()},127.0.0.1:${await freePort()}`],
  ['redis+sentinel', async () => `redis+sentinel://127.0.0.1:${await freePort()}/mymaster`],
])('a %s store that is down', (_, url) => {
  it('renders pages, misses reads, reports purges as failed, and closes', async () => {
    const reports: unknown[] = []
    const cache = createIsrCache({ store: await url(), readTimeout: 0.5, writeTimeout: 0.5, onError: (error) => reports.push(error) })
    const started = performance.now()
    try {
      expect(await cache.get('k')).toBe(undefined)
      const rendered = await cache.getOrSet('k', async () => 'page')
      expect(rendered).toMatchObject({ value: 'page', status: 'miss' })
      const purge = await cache.revalidateTag('posts').then(() => undefined, (error: unknown) => error)
      expect(purge).toBeInstanceOf(IsrCacheError)
      expect(['E_STORE_WRITE', 'E_STORE_UNAVAILABLE']).toContain((purge as IsrCacheError).code)
      expect(reports.length).toBeGreaterThan(0)
    } finally {
      await cache.close()
    }
    console.log(`[redis-topologies-down] ${_}: get, getOrSet, purge and close in ${(performance.now() - started).toFixed(0)} ms`)
  }, 30_000)
})

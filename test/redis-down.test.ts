/**
 * A Redis that is not there costs nothing per call: a client that is not connected fails a call at once
 * (it reconnects in the background), a getOrSet whose read failed does not also try for a lease, close()
 * returns promptly and nothing is reported after it, and an idle connection does not keep a script alive.
 *
 * "At once" is asserted against deadlines far longer than the test's own timeout (readTimeout and
 * writeTimeout of 60 s): a call that waited for its deadline would time the test out, whatever the speed of
 * the machine. Exits are checked in child processes, where the process ending is the bound.
 */
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCacheError } from '../src/index.js'
import { runScript } from './support/child-script.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'
import { freePort, redisServerAvailable, startPrivateRedis, type PrivateRedis } from './support/redis-server.js'

const DIST = new URL('../dist/index.js', import.meta.url).href
const LONG = { readTimeout: 60, writeTimeout: 60 }

describe('a Redis nobody listens on', () => {
  it('fails every call at once, renders a miss without asking for a lease, and close() is prompt', { timeout: 20_000 }, async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    const errors: IsrCacheError[] = []
    const cache = createIsrCache({ store: url, ...LONG, onError: (error) => errors.push(error) })
    const started = performance.now()
    for (const key of ['a', 'b', 'c']) expect(await cache.get(key)).toBe(undefined)
    let renders = 0
    const miss = await cache.getOrSet('page', () => ({ n: (renders += 1) }))
    expect(miss).toMatchObject({ status: 'miss', value: { n: 1 } })
    const purge = await cache.revalidateTag('posts').then(
      () => 'resolved',
      (error: IsrCacheError) => error.code,
    )
    // A purge that did not happen must not look like one that did.
    expect(['E_STORE_WRITE', 'E_STORE_UNAVAILABLE']).toContain(purge)
    await cache.close()
    console.log(`[redis down] 3 gets, a getOrSet miss, a purge and close() on a refused port: ${(performance.now() - started).toFixed(0)} ms (deadlines: 60 s)`)
    expect(renders).toBe(1)
    const messages = errors.map((error) => error.message)
    expect(messages.some((message) => /not connected to Redis|could not connect to Redis/.test(message))).toBe(true)
    // The read failed, so the lease was not tried: no second failure for the same request.
    expect(messages.filter((message) => message.includes('lease'))).toEqual([])
  })

  it('reports nothing after close() has returned, and the script exits', { timeout: 20_000 }, async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    const result = await runScript<{ before: number; after: string[]; value: number }>(`
      import { createIsrCache } from ${JSON.stringify(DIST)}
      let closed = false
      const before = [], after = []
      const cache = createIsrCache({ store: ${JSON.stringify(url)}, readTimeout: 60, writeTimeout: 60,
        onError: (error) => (closed ? after : before).push(error.message) })
      // A miss leaves a write settling in the background; close() right after it.
      const { value } = await cache.getOrSet('k', () => 42)
      await cache.close()
      closed = true
      process.on('exit', () => console.log(JSON.stringify({ before: before.length, after, value })))
    `)
    expect(result.value).toBe(42)
    expect(result.before).toBeGreaterThan(0)
    expect(result.after).toEqual([])
  })
})

describe.runIf(redisServerAvailable)('a Redis that stops answering (connected, asleep)', () => {
  let redis: PrivateRedis
  beforeAll(async () => {
    redis = await startPrivateRedis({ args: ['--enable-debug-command', 'yes'] })
  })
  afterAll(() => redis?.close())

  it('a getOrSet miss waits for one deadline (the read), not for the lease deadline too', { timeout: 20_000 }, async () => {
    const errors: IsrCacheError[] = []
    const cache = createIsrCache({ store: redis.url, readTimeout: 0.5, writeTimeout: 1, onError: (error) => errors.push(error) })
    const sleeper = createClient({ url: redis.url })
    await sleeper.connect()
    try {
      await cache.set('warm', 1) // connected
      const asleep = sleeper.sendCommand(['DEBUG', 'SLEEP', '3']).catch(() => {})
      const miss = await cache.getOrSet('page', () => 'rendered')
      expect(miss).toMatchObject({ status: 'miss', value: 'rendered' })
      const reads = errors.filter((error) => error.code === 'E_STORE_READ' && error.message.includes('missed its'))
      expect(reads.length).toBeGreaterThan(0)
      expect(errors.filter((error) => error.message.includes('lease'))).toEqual([])
      await asleep
    } finally {
      await cache.close()
      await sleeper.quit().catch(() => {})
    }
  })
})

describe.runIf(redisAvailable)('an idle, healthy Redis connection', () => {
  const prefix = uniquePrefix('idle-exit')
  afterAll(() => dropPrefix(prefix))

  it('does not keep a script alive that never calls close(), and what it wrote has landed', { timeout: 20_000 }, async () => {
    const result = await runScript<{ value: unknown }>(`
      import { createIsrCache } from ${JSON.stringify(DIST)}
      const cache = createIsrCache({ store: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(prefix)} })
      await cache.set('before', 1)
      // The last thing the script does: a miss, whose write settles after getOrSet has returned.
      const { value } = await cache.getOrSet('k', () => ({ n: 7 }))
      process.on('exit', () => console.log(JSON.stringify({ value })))
    `)
    expect(result.value).toEqual({ n: 7 })
    const reader = createIsrCache({ store: REDIS_URL, prefix })
    try {
      expect((await reader.get('k'))?.value).toEqual({ n: 7 })
    } finally {
      await reader.close()
    }
  })
})

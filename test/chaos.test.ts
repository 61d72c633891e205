/**
 * Failure behaviour: a store that throws, stalls or returns damaged bytes, and regenerations that fail or
 * hang. The cache must fail open (a miss, never an exception at the caller of get/getOrSet), keep the last
 * good page, report each problem, and retry failed regenerations with backoff.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache, IsrCacheError, type IsrCacheOptions } from '../src/index.js'
import { createDefaultReporter } from '../src/report.js'
import { chaosStore } from './support/chaos-store.js'

function setup(extra: Partial<IsrCacheOptions> = {}) {
  const { keyv, chaos } = chaosStore()
  const errors: IsrCacheError[] = []
  const clock = { time: 1_800_000_000_000 }
  // No L1 tier here unless a test asks: these tests look at what the store does.
  const cache = createIsrCache({ store: keyv, now: () => clock.time, onError: (e) => errors.push(e), readTimeout: 0.2, writeTimeout: 0.2, tagCacheTtl: 0, l1: false, circuitBreaker: false, ...extra })
  return { cache, chaos, errors, clock, keyv }
}

/** Caches whose close() waits out a stall: closed after the tests. */
const closeLater: Array<{ close(): Promise<void> }> = []
afterAll(async () => {
  await Promise.all(closeLater.map((cache) => cache.close()))
}, 15_000)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
async function settle(cache: { stats(): { inflight: number } }) {
  while (cache.stats().inflight > 0) await sleep(2)
}

describe('a failing store', () => {
  it('turns failed reads into misses and still serves regenerated values', async () => {
    const { cache, chaos, errors } = setup()
    chaos.failing.add('get').add('set')
    expect(await cache.get('k')).toBeUndefined()
    const result = await cache.getOrSet('k', () => 'rendered')
    expect(result).toMatchObject({ value: 'rendered', status: 'miss' })
    await settle(cache)
    expect(await cache.set('k', 'v')).toBe(false)
    expect(errors.map((e) => e.code)).toContain('E_STORE_READ')
    expect(errors.map((e) => e.code)).toContain('E_STORE_WRITE')
    expect(errors.every((e) => e instanceof IsrCacheError && e.message.startsWith('[isr-cache]'))).toBe(true)
    expect(cache.stats().storeErrors).toBeGreaterThan(0)
    await cache.close()
  })

  it('keeps the last good page when a write fails', async () => {
    const { cache, chaos, clock } = setup({ revalidate: 10 })
    await cache.set('k', 'good')
    clock.time += 11_000
    chaos.failing.add('set')
    expect((await cache.getOrSet('k', () => 'new')).value).toBe('good')
    await settle(cache)
    chaos.failing.clear()
    expect((await cache.get('k'))?.value).toBe('good')
    await cache.close()
  })

  it('answers within the read deadline when the store stalls', async () => {
    const { cache, chaos, errors } = setup({ readTimeout: 0.05 })
    chaos.delayMs = 2000
    const started = performance.now()
    expect(await cache.get('k')).toBeUndefined()
    const result = await cache.getOrSet('k2', () => 'fresh')
    expect(result.value).toBe('fresh')
    // Deadline is 50 ms per call; two calls must not wait for the 2 s stall.
    expect(performance.now() - started).toBeLessThan(1500)
    expect(errors.some((e) => e.code === 'E_STORE_READ' && /deadline/.test(e.message))).toBe(true)
    chaos.delayMs = 0
    await cache.close()
  })

  it('holds a regeneration up for the read deadline when taking its lease stalls, not the write deadline', { timeout: 2500 }, async () => {
    // Taking a lease is on the request's path, like a read: a page must not wait writeTimeout for it.
    // With the write deadline this would wait out the 4 s stall, past the test's 2.5 s timeout.
    const { cache, chaos } = setup({ readTimeout: 0.05, writeTimeout: 30 })
    chaos.delayMs = 4000
    expect((await cache.getOrSet('k', () => 'fresh')).value).toBe('fresh')
    chaos.delayMs = 0
    // close() waits for the stalled write of 'k' to settle: done in afterAll, outside this test's timeout.
    closeLater.push(cache)
  })

  it('treats damaged entries as misses, reports E_DECODE, and regenerates over them', async () => {
    const { cache, chaos, errors } = setup()
    await cache.set('k', { html: 'hello' })
    chaos.corrupt = true
    expect(await cache.get('k')).toBeUndefined()
    expect(errors.some((e) => e.code === 'E_DECODE' && e.key === 'k')).toBe(true)
    chaos.corrupt = false
    expect((await cache.getOrSet('k2', () => 'ok')).value).toBe('ok')
    expect(cache.stats().decodeErrors).toBe(1)
    await cache.close()
  })

  it('throws E_STORE_WRITE from revalidateTag when the purge could not be stored, so callers know', async () => {
    const { cache, chaos, errors } = setup()
    chaos.failing.add('set')
    await expect(cache.revalidateTag('posts')).rejects.toMatchObject({ code: 'E_STORE_WRITE' })
    expect(errors.some((e) => e.code === 'E_STORE_WRITE')).toBe(true)
    await cache.close()
  })
})

describe('the circuit breaker', () => {
  it('reports a failing store once when the circuit opens, not once per lookup', async () => {
    const { cache, chaos, errors } = setup({ l1: true, l1MaxAge: 0, circuitBreaker: { failures: 3, cooldown: 60 } })
    await cache.set('k', 'v', { tags: ['t'] }) // in L1, with a tag whose record must be read on each lookup
    chaos.failing.add('get')
    for (let i = 0; i < 200; i += 1) expect((await cache.get('k'))?.value).toBe('v') // served from L1 throughout
    expect(cache.stats().circuit).toBe('open')
    expect(errors.filter((e) => e.code === 'E_STORE_UNAVAILABLE')).toHaveLength(1)
    expect(errors.filter((e) => e.code === 'E_STORE_READ').length).toBeLessThanOrEqual(3)
    await cache.close()
  })
})

describe('failing regenerations', () => {
  it('serve stale (stale-if-error), report in the background, and retry with backoff', async () => {
    const { cache, clock, errors } = setup({ revalidate: 10, retryBackoff: { initial: 5, max: 20 } })
    await cache.set('k', 'good')
    clock.time += 11_000
    let calls = 0
    const failing = () => {
      calls += 1
      throw new Error('origin down')
    }
    expect(await cache.getOrSet('k', failing)).toMatchObject({ value: 'good', status: 'stale' })
    await settle(cache)
    expect(calls).toBe(1)
    const reported = errors.find((e) => e.code === 'E_REGENERATE')!
    expect(reported.background).toBe(true)
    expect(reported.key).toBe('k')
    expect((reported.cause as Error).message).toBe('origin down')
    // Within the 5 s backoff: stale, no new attempt.
    clock.time += 4_000
    expect((await cache.getOrSet('k', failing)).status).toBe('stale')
    await settle(cache)
    expect(calls).toBe(1)
    // After it: one more attempt, which fails again; the backoff doubles to 10 s.
    clock.time += 1_500
    await cache.getOrSet('k', failing)
    await settle(cache)
    expect(calls).toBe(2)
    clock.time += 9_000
    await cache.getOrSet('k', failing)
    await settle(cache)
    expect(calls).toBe(2)
    clock.time += 1_500
    expect((await cache.getOrSet('k', () => 'recovered')).value).toBe('good')
    await settle(cache)
    expect(await cache.get('k')).toMatchObject({ value: 'recovered', status: 'hit' })
    await cache.close()
  })

  it('throw E_REGENERATE to every waiter of a missing key, and the next call retries at once', async () => {
    const { cache } = setup()
    let calls = 0
    const failing = async () => {
      calls += 1
      await sleep(10)
      throw new Error('boom')
    }
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.getOrSet('k', failing)))
    expect(calls).toBe(1)
    for (const r of results) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'E_REGENERATE', key: 'k', background: false })
    }
    expect((await cache.getOrSet('k', () => 'ok')).value).toBe('ok')
    await cache.close()
  })

  it('soft timeout: a slow regeneration of a stale key returns stale, and its result lands later', async () => {
    const { cache, clock } = setup({ revalidate: 10 })
    await cache.set('k', 'old')
    clock.time += 11_000
    const slow = async () => {
      await sleep(300)
      return 'new'
    }
    const started = performance.now()
    expect(await cache.getOrSet('k', slow, { softTimeout: 0.05 })).toMatchObject({ value: 'old', status: 'stale' })
    expect(performance.now() - started).toBeLessThan(250)
    await settle(cache)
    expect((await cache.get('k'))?.value).toBe('new')
    // A regeneration that beats the soft timeout is served fresh.
    clock.time += 11_000
    expect(await cache.getOrSet('k', async () => 'newer', { softTimeout: 1 })).toMatchObject({ value: 'newer', status: 'miss' })
    await cache.close()
  })

  it('hard timeout: callers stop waiting with E_HARD_TIMEOUT; the regeneration still lands', async () => {
    const { cache } = setup()
    const slow = async () => {
      await sleep(300)
      return 'late'
    }
    await expect(cache.getOrSet('k', slow, { hardTimeout: 0.05 })).rejects.toMatchObject({ code: 'E_HARD_TIMEOUT', key: 'k' })
    await settle(cache)
    expect((await cache.get('k'))?.value).toBe('late')
    await cache.close()
  })

  it('an error sink or event sink that throws does not break the cache', async () => {
    const cache = createIsrCache({
      onError: () => {
        throw new Error('sink broke')
      },
      onEvent: () => {
        throw new Error('events broke')
      },
    })
    await expect(cache.getOrSet('k', () => 1)).resolves.toMatchObject({ value: 1 })
    await cache.close()
  })
})

describe('the default error sink', () => {
  it('logs one line per kind of error per minute, then counts the rest', () => {
    const lines: string[] = []
    const report = createDefaultReporter((line) => lines.push(line))
    for (let i = 0; i < 100; i += 1) report(new IsrCacheError('E_STORE_READ', 'reading "k" failed', { cause: new Error('ECONNREFUSED') }))
    report(new IsrCacheError('E_DECODE', 'bad entry'))
    expect(lines).toEqual(['[isr-cache] reading "k" failed: ECONNREFUSED', '[isr-cache] bad entry'])
  })
})

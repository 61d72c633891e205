/**
 * Single-flight under shuffled concurrency: fast-check's scheduler decides the order in which callers
 * arrive, regenerations finish and store calls resolve. Whatever the order, N callers of one key cause
 * exactly one regeneration and all receive its value.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createIsrCache } from '../src/index.js'

describe('single-flight regeneration', () => {
  it('runs once for N concurrent callers of a missing key, and all get the same value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 40 }), async (s, callers) => {
        const cache = createIsrCache({ onError: () => {} })
        let runs = 0
        const regenerate = s.scheduleFunction(async () => ({ run: (runs += 1) }))
        const results: Array<Promise<{ value: { run: number }; status: string }>> = []
        for (let i = 0; i < callers; i += 1) {
          results.push(s.schedule(Promise.resolve()).then(() => cache.getOrSet('page', regenerate)))
        }
        const settled = await s.waitFor(Promise.all(results))
        expect(runs).toBe(1)
        expect(settled.every((r) => r.value.run === 1)).toBe(true)
        await cache.close()
      }),
      { numRuns: 200 },
    )
  })

  it('runs once for N concurrent callers of a stale key; each gets the stale or the new value, never an error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 2, max: 40 }), async (s, callers) => {
        let time = 1_800_000_000_000
        const cache = createIsrCache({ revalidate: 10, now: () => time, onError: () => {} })
        await cache.set('page', { run: 0 })
        time += 11_000
        let runs = 0
        const regenerate = s.scheduleFunction(async () => ({ run: (runs += 1) }))
        const results: Array<Promise<{ value: { run: number }; status: string }>> = []
        for (let i = 0; i < callers; i += 1) {
          results.push(s.schedule(Promise.resolve()).then(() => cache.getOrSet('page', regenerate)))
        }
        const settled = await s.waitFor(Promise.all(results))
        await s.waitAll() // the background regeneration
        while (cache.stats().inflight > 0) await new Promise((resolve) => setTimeout(resolve, 1))
        expect(runs).toBe(1)
        for (const r of settled) expect(r.status === 'stale' ? r.value.run === 0 : r.value.run === 1).toBe(true)
        expect((await cache.get('page'))?.value).toEqual({ run: 1 })
        await cache.close()
      }),
      { numRuns: 200 },
    )
  })

  it('keeps one regeneration per key, not per cache: different keys regenerate independently', async () => {
    const cache = createIsrCache()
    const runs = new Map<string, number>()
    const regenerate = async ({ key }: { key: string }) => {
      runs.set(key, (runs.get(key) ?? 0) + 1)
      await new Promise((resolve) => setTimeout(resolve, 10))
      return key
    }
    const keys = ['a', 'b', 'c']
    const results = await Promise.all(keys.flatMap((key) => Array.from({ length: 20 }, () => cache.getOrSet(key, regenerate))))
    expect([...runs.values()]).toEqual([1, 1, 1])
    expect(results.map((r) => r.value)).toEqual(keys.flatMap((key) => Array(20).fill(key)))
    await cache.close()
  })

  it('does not hand pre-purge content to a caller that arrives after a hard purge', async () => {
    let time = 1_800_000_000_000
    const cache = createIsrCache({ revalidate: 10, now: () => time })
    await cache.set('k', 'v1', { tags: ['t'] })
    time += 11_000
    let content = 'v1'
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    // The background regeneration reads the content, then is slow to finish.
    const slow = async () => {
      const read = content
      await gate
      return read
    }
    expect((await cache.getOrSet('k', slow, { tags: ['t'] })).status).toBe('stale')
    content = 'v2'
    time += 1
    await cache.revalidateTag('t')
    time += 1
    const after = cache.getOrSet('k', async () => content, { tags: ['t'] })
    release()
    expect(await after).toMatchObject({ value: 'v2', status: 'miss' })
    while (cache.stats().inflight > 0) await new Promise((resolve) => setTimeout(resolve, 1))
    // The late pre-purge write lost to the newer one.
    expect(await cache.get('k')).toMatchObject({ value: 'v2', status: 'hit' })
    await cache.close()
  })
})

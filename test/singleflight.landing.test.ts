/**
 * Single-flight across the moment a regeneration finishes: a `getOrSet` whose lookup starts while the
 * regeneration of its key is still in flight, and whose lookup answers only after that regeneration has
 * left the in-flight table (its value landing, or already written), must not render the key again. The
 * second caller is started at every microtask offset (and, on Redis, every event-loop turn) after the
 * first render returns, so the window is hit whatever its width on this machine.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCache } from '../src/index.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'

/** Starts a second getOrSet of the same key `delay` microtasks (or turns, with `turns`) after the first render returns; counts renders. */
async function rendersWithSecondCallerAt(cache: IsrCache, key: string, delay: number, turns = false): Promise<number> {
  let renders = 0
  let second: Promise<unknown> | undefined
  const later = async () => {
    for (let i = 0; i < delay; i++) await (turns ? new Promise((resolve) => setImmediate(resolve)) : null)
    second ??= cache.getOrSet(key, produce)
  }
  const produce = async () => {
    renders += 1
    void later()
    return { rendered: renders }
  }
  const first = await cache.getOrSet(key, produce)
  expect(first.status).toBe('miss')
  await later()
  const answer = (await second) as { value: { rendered: number } }
  expect(answer.value.rendered).toBe(1)
  return renders
}

describe('single-flight while a regeneration lands', () => {
  it('memory store: one render whatever the microtask the second caller starts at', async () => {
    for (let delay = 0; delay <= 24; delay++) {
      const cache = createIsrCache()
      expect(await rendersWithSecondCallerAt(cache, `k${delay}`, delay), `second caller ${delay} microtasks after the render`).toBe(1)
      await cache.close()
    }
  })

  describe.runIf(redisAvailable)('Redis', () => {
    const prefix = uniquePrefix('landing')
    afterAll(() => dropPrefix(prefix))

    it('one render whatever the microtask or event-loop turn the second caller starts at', async () => {
      const cache = createIsrCache({ store: REDIS_URL, prefix })
      try {
        for (let delay = 0; delay <= 24; delay++) {
          expect(await rendersWithSecondCallerAt(cache, `m${delay}`, delay), `second caller ${delay} microtasks after the render`).toBe(1)
          expect(await rendersWithSecondCallerAt(cache, `t${delay}`, delay, true), `second caller ${delay} turns after the render`).toBe(1)
        }
      } finally {
        await cache.close()
      }
    })
  })
})

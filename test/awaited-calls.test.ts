/**
 * A call a script awaits keeps its process alive until it settles. An idle cache holds nothing open (its
 * connections are unref'd, so a script that never calls close() still exits), but a call that is waiting
 * for another instance must not let Node find an empty event loop: an ES module script whose top-level
 * await never settles exits at once with code 13 and prints nothing, before the call's answer.
 *
 * Both waits are on another instance, held here in the test process, so the child has nothing of its own
 * in flight while it waits:
 *   - a purge waiting for an acknowledgement that never comes (a raw subscriber on the change channel
 *     counts in Redis's PUBLISH reply and never answers), until `purgeAckTimeout`;
 *   - a getOrSet of a key whose regeneration lease another instance holds, until that instance's entry.
 */
import { createClient } from '@redis/client'
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache } from '../src/index.js'
import { runScript } from './support/child-script.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'

const DIST = new URL('../dist/index.js', import.meta.url).href

describe.runIf(redisAvailable)('an awaited call keeps a script alive until it settles', () => {
  const prefixes: string[] = []
  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(prefix)
  })

  it('a purge waiting for an acknowledgement that never comes resolves at purgeAckTimeout, and the script goes on', { timeout: 20_000 }, async () => {
    const prefix = uniquePrefix('awaited-purge')
    prefixes.push(prefix)
    const silent = createClient({ url: REDIS_URL })
    silent.on('error', () => {})
    await silent.connect()
    let heard = 0
    await silent.subscribe(`${prefix}:bus`, () => (heard += 1))
    try {
      const result = await runScript<{ purge: unknown; after: string }>(`
        import { createIsrCache } from ${JSON.stringify(DIST)}
        const cache = createIsrCache({ store: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(prefix)}, purgeAckTimeout: 1 })
        await cache.set('page', 'v', { tags: ['posts'] })
        const purge = await cache.revalidateTag('posts')
        const after = (await cache.get('page'))?.status ?? 'absent'
        await cache.close()
        console.log(JSON.stringify({ purge, after }))
      `)
      // The silent subscriber counted in PUBLISH's reply (live: 1, the script's own subscription not counted) and never answered.
      expect(result).toEqual({ purge: { acknowledged: 0, live: 1, complete: false }, after: 'absent' })
      expect(heard).toBeGreaterThan(0)
    } finally {
      await silent.quit().catch(() => {})
    }
  })

  it("a getOrSet waiting for another instance's regeneration gets that instance's render", { timeout: 20_000 }, async () => {
    const prefix = uniquePrefix('awaited-lease')
    prefixes.push(prefix)
    const holder = createIsrCache({ store: REDIS_URL, prefix })
    let finish!: () => void
    const rendering = new Promise<void>((resolve) => (finish = resolve))
    let started!: () => void
    const leaseTaken = new Promise<void>((resolve) => (started = resolve))
    const held = holder.getOrSet('page', async () => {
      started()
      await rendering
      return 'rendered by the holder'
    })
    try {
      await leaseTaken
      const child = runScript<{ value: unknown; renders: number }>(`
        import { createIsrCache } from ${JSON.stringify(DIST)}
        const cache = createIsrCache({ store: ${JSON.stringify(REDIS_URL)}, prefix: ${JSON.stringify(prefix)} })
        let renders = 0
        const pending = cache.getOrSet('page', () => { renders += 1; return 'rendered by the script' })
        // Once it waits on the holder's lease, say so (a key the test polls for), then only await it.
        while (cache.stats().leaseWaits === 0) await new Promise((resolve) => setTimeout(resolve, 5))
        await cache.set('waiting', true)
        const { value } = await pending
        await cache.close()
        console.log(JSON.stringify({ value, renders }))
      `)
      let childEnded = false
      child.then(
        () => (childEnded = true),
        () => (childEnded = true),
      )
      // The holder's render lands once the child is waiting with nothing of its own in flight. A child that
      // ended before it said so fails the test at once, with how it ended (runScript's error), below.
      while (!childEnded && (await holder.get('waiting')) === undefined) await new Promise((resolve) => setTimeout(resolve, 20))
      finish()
      expect(await child).toEqual({ value: 'rendered by the holder', renders: 0 })
      expect((await held).value).toBe('rendered by the holder')
    } finally {
      finish()
      await held.catch(() => {})
      await holder.close()
    }
  })
})

/**
 * Redis Sentinel, for real: a master, a replica and three sentinels (quorum 2) on free loopback ports,
 * started by this file. The conformance suite runs through the `redis+sentinel://` URL and through a
 * `createSentinel` client passed in; then `SENTINEL FAILOVER` under load: no caller errors, and every purge
 * either recorded on the new master or reported as failed. Nothing is skipped.
 */
import { createSentinel } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIsrCache, IsrCacheError } from '../src/index.js'
import { runStoreConformance } from '../src/testing.js'
import { feedCarriesChanges } from './support/feed-scenario.js'
import { command, startPrivateSentinel, waitFor, type PrivateSentinel } from './support/redis-topologies.js'

let sentinel: PrivateSentinel
let run = 0
const prefix = (name: string) => `isr-rs-${name}-${process.pid}-${(run += 1)}`

beforeAll(async () => {
  sentinel = await startPrivateSentinel('mymaster')
}, 60_000)
afterAll(() => sentinel?.close())

const makeClient = () => createSentinel({ name: sentinel.name, sentinelRootNodes: sentinel.sentinelRootNodes })

describe('Redis Sentinel (master + replica + 3 sentinels): conformance through the redis+sentinel:// URL', () => {
  runStoreConformance({ it, expect, createStore: () => sentinel.url, keyPrefix: prefix('conformance-url') })
})

describe('Redis Sentinel: conformance through a createSentinel client passed in', () => {
  let client: ReturnType<typeof makeClient> | undefined
  afterAll(() => client?.close())
  runStoreConformance({ it, expect, createStore: () => (client ??= makeClient()), keyPrefix: prefix('conformance-client') })
})

describe('Redis Sentinel: a client passed in', () => {
  it('is left open by close(), with its replies still strings (isr-cache never changes its type mapping)', async () => {
    const client = makeClient()
    const p = prefix('client')
    const cache = createIsrCache({ store: client, prefix: p })
    try {
      await cache.set('page', Buffer.from([0, 1, 2, 255]), { tags: ['posts'] })
      expect((await cache.get('page'))?.value).toEqual(Buffer.from([0, 1, 2, 255]))
    } finally {
      await cache.close()
    }
    expect(client.isOpen).toBe(true)
    await client.set(`${p}:mine`, 'text')
    expect(await client.get(`${p}:mine`)).toBe('text')
    await client.close()
  })
})

describe('Redis Sentinel: the change feed', () => {
  it('carries a purge and a write to another instance, whose L1 and tag cache would otherwise hold for 60 s', async () => {
    const p = prefix('feed')
    await feedCarriesChanges({ store: sentinel.url, prefix: p }, async () => {
      const [, count] = (await command(await sentinel.masterPort(), ['PUBSUB', 'NUMSUB', `${p}:bus`])) as [string, number]
      return Number(count)
    })
  })
})

describe('Redis Sentinel: SENTINEL FAILOVER under load', () => {
  it('costs no caller errors for getOrSet, and every purge is recorded on the new master or reported as failed', async () => {
    const p = prefix('failover')
    const reports: unknown[] = []
    // Deadlines above the failover's few seconds would hide nothing: the defaults (1 s and 2 s) are kept.
    const options = { store: sentinel.url, prefix: p, l1MaxAge: 60, tagCacheTtl: 60, onError: (error: unknown) => reports.push(error) }
    const caches = [createIsrCache(options), createIsrCache(options)]
    const purges: Array<{ tag: string; at: number; ok: boolean; error?: unknown }> = []
    const getOrSetErrors: unknown[] = []
    let calls = 0
    let stopped = false
    const loops = caches.flatMap((cache, c) =>
      Array.from({ length: 4 }, async (_, lane) => {
        for (let i = 0; !stopped; i += 1) {
          const key = `/load/${(i * 7 + lane) % 40}`
          calls += 1
          await cache.getOrSet(key, async () => `${key} ${i}`, { tags: [`st-${i % 10}`], revalidate: 1 }).catch((error: unknown) => getOrSetErrors.push(error))
          if (i % 10 === lane) {
            const tag = `purge-${c}-${lane}-${i}`
            const at = Date.now()
            await cache.revalidateTag(tag).then(
              () => purges.push({ tag, at, ok: true }),
              (error: unknown) => purges.push({ tag, at, ok: false, error }),
            )
          }
          await new Promise((resolve) => setTimeout(resolve, 1))
        }
      }),
    )
    try {
      await new Promise((resolve) => setTimeout(resolve, 500))
      const before = await sentinel.masterPort()
      expect(await command(sentinel.sentinels[0]!.port, ['SENTINEL', 'FAILOVER', sentinel.name])).toBe('OK')
      await waitFor('the sentinels to name the replica as master', 30_000, async () => (await sentinel.masterPort()) !== before)
      const after = await sentinel.masterPort()
      // The old master rejoins as a replica of the new one; load goes on meanwhile.
      await waitFor(`the old master ${before} to replicate from ${after}`, 30_000, async () =>
        String(await command(before, ['INFO', 'replication'])).includes(`master_port:${after}`),
      )
      await new Promise((resolve) => setTimeout(resolve, 1000))
      stopped = true
      await Promise.all(loops)
      const failed = purges.filter((purge) => !purge.ok)
      console.log(
        `[redis-sentinel] SENTINEL FAILOVER ${before} -> ${after} under load: ${calls} getOrSet, ${purges.length} purges ` +
          `(${failed.length} reported as failed), ${getOrSetErrors.length} getOrSet errors, ${reports.length} reported errors`,
      )
      expect(calls).toBeGreaterThan(100)
      expect(getOrSetErrors).toEqual([])
      for (const purge of failed) {
        expect(purge.error).toBeInstanceOf(IsrCacheError)
        expect(['E_STORE_WRITE', 'E_STORE_UNAVAILABLE']).toContain((purge.error as IsrCacheError).code)
      }
      // Every purge that returned is on the new master (read there directly), from that purge or later.
      for (const purge of purges.filter((purge) => purge.ok)) {
        const raw = (await command(after, ['GET', `${p}:t:${purge.tag}`])) as string | null
        expect(raw, `the record of ${purge.tag}, whose purge returned`).not.toBe(null)
        expect(JSON.parse(raw!).b).toBeGreaterThanOrEqual(purge.at)
      }
      // And both instances work on the new master again, once its replica (the old master) has caught up.
      // Both: purges that no replica confirmed in time (WAIT, while the old master resynced) count as
      // store failures, and an instance whose circuit opened on them skips the store for its cooldown (5 s).
      await waitFor('a purge and a write on the new master from one instance, and a read from the other', 20_000, async () => {
        await caches[0]!.revalidateTag('after-warmup')
        const written = (await caches[0]!.set('after', 'x')) && (await command(after, ['EXISTS', `${p}:e:default:after`])) === 1
        return written && (await caches[1]!.get('after'))?.status === 'hit'
      })
      // The feed survived the failover: with a minute of l1MaxAge and tagCacheTtl, only it can tell the other.
      expect(await caches[0]!.set('/after', 'x', { tags: ['after-tag'] })).toBe(true)
      expect((await caches[1]!.get('/after'))?.status, `reported: ${reports.slice(-3).map(String).join(' | ')}`).toBe('hit')
      await new Promise((resolve) => setTimeout(resolve, 2))
      await caches[0]!.revalidateTag('after-tag')
      await waitFor('the other instance to see a purge made after the failover', 5000, async () => (await caches[1]!.get('/after')) === undefined)
    } finally {
      stopped = true
      await Promise.all(loops)
      await Promise.all(caches.map((cache) => cache.close()))
    }
  }, 90_000)
})

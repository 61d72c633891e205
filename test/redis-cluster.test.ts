/**
 * Redis Cluster, for real: 3 masters with a replica each (6 redis-server processes on free loopback ports,
 * joined by `redis-cli --cluster create`), started by this file. The conformance suite runs on it through
 * the `redis+cluster://` URL and through a `createCluster` client passed in; then where the keys went, the
 * change feed over sharded pub/sub, and a master failover (`CLUSTER FAILOVER` on a replica) under load.
 * Nothing is skipped: a redis-server without cluster support fails the start with its own output.
 */
import { createCluster } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCache } from '../src/index.js'
import { runStoreConformance } from '../src/testing.js'
import { keySlot } from '../src/stores/redis-topology.js'
import { feedCarriesChanges } from './support/feed-scenario.js'
import { command, startPrivateCluster, waitFor, type PrivateCluster } from './support/redis-topologies.js'

let cluster: PrivateCluster
let run = 0
const prefix = (name: string) => `isr-rc-${name}-${process.pid}-${(run += 1)}`

beforeAll(async () => {
  cluster = await startPrivateCluster(3, 1)
}, 60_000)
afterAll(() => cluster?.close())

/** Every key under `match` on every master, by scanning each master (a cluster SCAN is per node). */
async function keysOnMasters(match: string): Promise<Map<number, string[]>> {
  const byPort = new Map<number, string[]>()
  for (const node of cluster.nodes) {
    const role = String(await command(node.port, ['ROLE']))
    if (!role.startsWith('master')) continue
    const keys: string[] = []
    let cursor = '0'
    do {
      const [next, batch] = (await command(node.port, ['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'])) as [string, string[]]
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
    byPort.set(node.port, keys)
  }
  return byPort
}

describe('Redis Cluster (3 masters + 3 replicas): conformance through the redis+cluster:// URL', () => {
  runStoreConformance({ it, expect, createStore: () => cluster.url, keyPrefix: prefix('conformance-url') })
})

describe('Redis Cluster: conformance through a createCluster client passed in', () => {
  let client: ReturnType<typeof createCluster> | undefined
  afterAll(() => client?.close())
  runStoreConformance({
    it,
    expect,
    createStore: () => (client ??= createCluster({ rootNodes: cluster.rootNodes, defaults: { disableOfflineQueue: true } })),
    keyPrefix: prefix('conformance-client'),
  })
})

describe('Redis Cluster: where the keys go', () => {
  it('computes the slot of a key (hash tags included) as the server does', async () => {
    const keys = ['', 'a', 'isr-cache:bus', 'x:e:{default:/p}', '{}', 'a{}b', '{a}{b}', 'a}b{c', '€uro{ü}', ...Array.from({ length: 40 }, (_, i) => `k${i * 7919}`)]
    const port = cluster.nodes.find((node) => node.running)!.port
    for (const key of keys) expect(keySlot(key), key).toBe(Number(await command(port, ['CLUSTER', 'KEYSLOT', key])))
  })

  it('spreads entries over every master, keeps each entry and its lease in one slot, and leaves a client passed in open', async () => {
    const client = createCluster({ rootNodes: cluster.rootNodes })
    const p = prefix('layout')
    const cache = createIsrCache({ store: client, prefix: p, namespace: 'build1' })
    try {
      for (let i = 0; i < 30; i += 1) await cache.set(`/page/${i}`, `page ${i}`, { tags: [`t${i}`] })
      const lease = await cache.acquireLease('/page/7', { ttl: 30 })
      expect(lease).not.toBe(undefined)
      const byPort = await keysOnMasters(`${p}:*`)
      const entries = [...byPort.values()].map((keys) => keys.filter((key) => key.startsWith(`${p}:e:`)).length)
      expect(entries.length).toBe(3)
      // Every master holds some of the 30 entries (which ones is fixed by the key names, so this is stable).
      expect(entries.every((count) => count > 0)).toBe(true)
      expect(entries.reduce((a, b) => a + b, 0)).toBe(30)
      const all = [...byPort.values()].flat()
      expect(all).toContain(`${p}:e:{build1:/page/7}`)
      expect(all).toContain(`${p}:l:{build1:/page/7}`)
      const slotOf = async (key: string) => Number(await command(cluster.nodes.find((node) => node.running)!.port, ['CLUSTER', 'KEYSLOT', key]))
      expect(await slotOf(`${p}:l:{build1:/page/7}`)).toBe(await slotOf(`${p}:e:{build1:/page/7}`))
      await lease!.release()
    } finally {
      await cache.close()
    }
    // close() leaves the user's client open and usable.
    expect(client.isOpen).toBe(true)
    expect(await client.set(`${p}:still-open`, '1')).toBe('OK')
    await client.close()
  })

  it('purges 20 tags whose records lie in different slots in one revalidateTag call: one record per tag, no scan', async () => {
    const p = prefix('tags')
    const cache = createIsrCache({ store: cluster.url, prefix: p })
    try {
      const tags = Array.from({ length: 20 }, (_, i) => `tag-${i}`)
      for (const [i, tag] of tags.entries()) await cache.set(`k${i}`, i, { tags: [tag, 'shared'] })
      await new Promise((resolve) => setTimeout(resolve, 2)) // the purge in a later millisecond than the writes
      await cache.revalidateTag(tags)
      for (let i = 0; i < tags.length; i += 1) expect(await cache.get(`k${i}`)).toBe(undefined)
      const records = [...(await keysOnMasters(`${p}:t:*`)).values()].flat().sort()
      expect(records).toEqual(tags.map((tag) => `${p}:t:{${tag}}`).sort())
      const slots = new Set(await Promise.all(records.map(async (key) => Number(await command(cluster.nodes.find((node) => node.running)!.port, ['CLUSTER', 'KEYSLOT', key])))))
      expect(slots.size).toBeGreaterThan(1) // the call did cross slots, so the per-slot split was exercised
    } finally {
      await cache.close()
    }
  })
})

describe('Redis Cluster: the change feed over sharded pub/sub', () => {
  it('carries a purge and a write to another instance, whose L1 and tag cache would otherwise hold for 60 s', async () => {
    const p = prefix('feed')
    // One shard channel, SPUBLISH's reply counting its subscribers.
    await feedCarriesChanges({ store: cluster.url, prefix: p }, async () => {
      const [, count] = (await command(await cluster.masterOf(`${p}:bus`), ['PUBSUB', 'SHARDNUMSUB', `${p}:bus`])) as [string, number]
      return Number(count)
    })
  })
})

/** Runs getOrSet and purges from two instances until `stop`; counts what callers saw. */
function load(caches: IsrCache[], tagPrefix: string) {
  const outcome = { calls: 0, getOrSetErrors: [] as unknown[], purgeErrors: [] as unknown[], purges: [] as Array<{ tag: string; at: number; ok: boolean }> }
  let stopped = false
  const loops = caches.flatMap((cache, c) =>
    Array.from({ length: 4 }, async (_, lane) => {
      for (let i = 0; !stopped; i += 1) {
        const key = `/load/${(i * 7 + lane) % 40}`
        outcome.calls += 1
        await cache.getOrSet(key, async () => `${key} ${i}`, { tags: [`${tagPrefix}${i % 10}`], revalidate: 1 }).catch((error: unknown) => outcome.getOrSetErrors.push(error))
        if (i % 10 === lane) {
          const tag = `${tagPrefix}purge-${c}-${lane}-${i}`
          const at = Date.now()
          await cache.revalidateTag(tag).then(
            () => outcome.purges.push({ tag, at, ok: true }),
            (error: unknown) => {
              outcome.purges.push({ tag, at, ok: false })
              outcome.purgeErrors.push(error)
            },
          )
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
    }),
  )
  return {
    outcome,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
    },
  }
}

describe('Redis Cluster: a master failover under load', () => {
  it('CLUSTER FAILOVER on a replica while two instances run getOrSet and purges: no caller errors, every purge recorded', async () => {
    const p = prefix('failover')
    const reports: unknown[] = []
    const options = { store: cluster.url, prefix: p, l1MaxAge: 60, tagCacheTtl: 60, onError: (error: unknown) => reports.push(error) }
    const caches = [createIsrCache(options), createIsrCache(options)]
    try {
      const running = load(caches, 'ft-')
      await new Promise((resolve) => setTimeout(resolve, 500))
      // The shard of the feed's channel: its subscriptions must move too.
      const oldMaster = await cluster.masterOf(`${p}:bus`)
      const replica = await cluster.replicaOf(oldMaster)
      expect(await command(replica, ['CLUSTER', 'FAILOVER'])).toBe('OK')
      await waitFor(`the replica on ${replica} to be master`, 15_000, async () => (await cluster.masterOf(`${p}:bus`)) === replica)
      await new Promise((resolve) => setTimeout(resolve, 1000)) // load goes on against the new master
      await running.stop()
      const { outcome } = running
      console.log(
        `[redis-cluster] failover ${oldMaster} -> ${replica} under load: ${outcome.calls} getOrSet, ${outcome.purges.length} purges, ` +
          `${outcome.getOrSetErrors.length + outcome.purgeErrors.length} caller errors, ${reports.length} reported errors`,
      )
      expect(outcome.calls).toBeGreaterThan(100)
      expect(outcome.getOrSetErrors).toEqual([])
      expect(outcome.purgeErrors).toEqual([])
      // Every purge that returned is recorded: its tag's record is in the cluster, from that purge or later.
      const reader = createCluster({ rootNodes: cluster.rootNodes })
      await reader.connect()
      try {
        for (const purge of outcome.purges) {
          const raw = await reader.get(`${p}:t:{${purge.tag}}`)
          expect(raw, `the record of ${purge.tag}`).not.toBe(null)
          expect(JSON.parse(raw!).b).toBeGreaterThanOrEqual(purge.at)
        }
      } finally {
        await reader.close()
      }
      // The feed survived the failover: with a minute of l1MaxAge and tagCacheTtl, only it can tell the other.
      await caches[0]!.set('/after', 'x', { tags: ['after-tag'] })
      expect((await caches[1]!.get('/after'))?.status).toBe('hit')
      await new Promise((resolve) => setTimeout(resolve, 2))
      await caches[0]!.revalidateTag('after-tag')
      await waitFor('the other instance to see a purge made after the failover', 5000, async () => (await caches[1]!.get('/after')) === undefined)
      const [, subscribers] = (await command(replica, ['PUBSUB', 'SHARDNUMSUB', `${p}:bus`])) as [string, number]
      expect(Number(subscribers)).toBe(2) // both instances listen on the new master
    } finally {
      await Promise.all(caches.map((cache) => cache.close()))
    }
  }, 60_000)
})

describe('Redis Cluster: a master killed under load (last: it leaves the cluster one node short)', () => {
  it('SIGKILL of a master: no getOrSet rejects, each purge is recorded or reported, and its slots work again on the promoted replica', async () => {
    const p = prefix('kill')
    const reports: unknown[] = []
    const options = { store: cluster.url, prefix: p, onError: (error: unknown) => reports.push(error) }
    const caches = [createIsrCache(options), createIsrCache(options)]
    const probeKey = `${p}:e:{default:/load/0}`
    try {
      const running = load(caches, 'kt-')
      await new Promise((resolve) => setTimeout(resolve, 500))
      const oldMaster = await cluster.masterOf(probeKey)
      const replica = await cluster.replicaOf(oldMaster)
      const killedAt = performance.now()
      await cluster.nodes.find((node) => node.port === oldMaster)!.kill()
      await waitFor(`the replica on ${replica} to take over`, 20_000, async () => (await cluster.masterOf(probeKey)) === replica)
      const promotedAfter = performance.now() - killedAt
      // The instances find the new master by themselves: a purge and a write in that slot succeed again.
      await waitFor('purges and writes to succeed on the promoted replica', 20_000, async () => {
        await caches[0]!.revalidateTag('kt-after')
        return (await caches[0]!.set('/load/0', 'after', { tags: ['kt-after'] })) === true
      })
      const recoveredAfter = performance.now() - killedAt
      await running.stop()
      const { outcome } = running
      const failed = outcome.purges.filter((purge) => !purge.ok)
      console.log(
        `[redis-cluster] master ${oldMaster} killed under load: replica ${replica} promoted after ${promotedAfter.toFixed(0)} ms, ` +
          `instances recovered after ${recoveredAfter.toFixed(0)} ms; ${outcome.calls} getOrSet, ${outcome.purges.length} purges ` +
          `(${failed.length} reported as failed), ${reports.length} reported errors`,
      )
      // getOrSet fails open: a read or write that fails is a miss or a report, never a rejection.
      expect(outcome.getOrSetErrors).toEqual([])
      // A purge that did not return was reported, as an IsrCacheError that says the store write failed.
      for (const error of outcome.purgeErrors) expect(['E_STORE_WRITE', 'E_STORE_UNAVAILABLE']).toContain((error as { code?: string }).code)
      const reader = createCluster({ rootNodes: cluster.rootNodes.filter((node) => node.socket.port !== oldMaster) })
      await reader.connect()
      try {
        for (const purge of outcome.purges.filter((purge) => purge.ok)) {
          const raw = await reader.get(`${p}:t:{${purge.tag}}`)
          expect(raw, `the record of ${purge.tag}, whose purge returned`).not.toBe(null)
          expect(JSON.parse(raw!).b).toBeGreaterThanOrEqual(purge.at)
        }
      } finally {
        await reader.close()
      }
    } finally {
      await Promise.all(caches.map((cache) => cache.close()))
    }
  }, 60_000)
})

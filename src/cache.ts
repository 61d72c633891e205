/**
 * createIsrCache: the ISR engine, composed of named parts (see docs/architecture.md). Each part keeps its
 * own state and is handed the parts it uses; this file wires them and holds the `IsrCache` object, whose
 * methods check their input and delegate:
 *
 *   settings.ts       options → Settings             call-options.ts  per-call options
 *   telemetry.ts      stats, events, error sink      store-stack.ts   driver + deadlines + circuit breaker
 *   l1-tier.ts        in-process tier of a store     tag-records.ts   purge records: cache, epoch, purge
 *   eviction.ts       31-day eviction, touch         reader.ts        read path: landing → memory/L1 → store → freshness
 *   writes.ts         writes, landing, delete        leases.ts        cluster shielding, waiters
 *   regeneration.ts   single-flight, backoff, timeouts, settling      sync.ts  the change feed between instances
 *
 * The hit paths: `get` → Reader.memoryGet / Reader.l1Get (no promise but the one returned, no store);
 * `getOrSet` → Reader.lookup, then the `status: 'hit'` return below.
 */
import { randomUUID } from 'node:crypto'
import { acquireLeaseOptions, checkGetOptions, getOrSetOptions, purgeExpire, revalidatePathOptions, revalidateTagOptions, setOptions } from './call-options.js'
import { entryFrom, keep } from './entry.js'
import { IsrCacheError } from './errors.js'
import { Eviction } from './eviction.js'
import { L1Tier } from './l1-tier.js'
import { Leases, Waiters } from './leases.js'
import { Reader, type Lookup } from './reader.js'
import { Regenerations } from './regeneration.js'
import type { PurgeResult } from './purge-acks.js'
import { settingsFrom, type Settings } from './settings.js'
import type { Driver } from './stores/driver.js'
import { StoreStack } from './store-stack.js'
import { InstanceSync } from './sync.js'
import { TagRecords } from './tag-records.js'
import { Telemetry } from './telemetry.js'
import type {
  CacheResult,
  GetOptions,
  GetOrSetOptions,
  GetOrSetResult,
  IsrCacheOptions,
  IsrCacheStats,
  Lease,
  RegenerateContext,
  SetOptions,
} from './types.js'
import { checkFunction, checkKey, checkPath, checkTags } from './validate.js'
import { Writes } from './writes.js'

export type {
  CacheResult,
  CacheStatus,
  EntryOptions,
  GetOptions,
  GetOrSetOptions,
  GetOrSetResult,
  IsrCacheEvent,
  IsrCacheOptions,
  IsrCacheStats,
  Lease,
  RegenerateContext,
  SetOptions,
} from './types.js'
export type { PurgeResult } from './purge-acks.js'

export interface IsrCache {
  /** Reads an entry: `hit` (fresh) or `stale`; undefined when missing or expired. Never throws for store failures. */
  get<T = unknown>(key: string, options?: GetOptions): Promise<CacheResult<T> | undefined>
  /** Writes an entry, unless the store holds a newer one. Resolves false when skipped or when the store failed (reported). */
  set(key: string, value: unknown, options?: SetOptions): Promise<boolean>
  /** ISR in one call: fresh → hit; stale → served while one background regeneration runs; missing → one regeneration shared by all callers. */
  getOrSet<T>(key: string, regenerate: (context: RegenerateContext<T>) => T | Promise<T>, options?: GetOrSetOptions): Promise<GetOrSetResult<T>>
  /**
   * Purges by tag: without `expire` (or 0) entries expire now; with `expire` they turn stale now and expire
   * after `expire` seconds. Resolves once every live instance sharing the store has applied it, or after
   * `purgeAckTimeout`: the `PurgeResult` says which (see docs/concepts/tiers-and-bus.md).
   */
  revalidateTag(tags: string | string[], options?: { expire?: number }): Promise<PurgeResult>
  /** Purges the entries of a path (`type: 'page'`, default), or of a path and everything below it (`type: 'layout'`). Resolves as `revalidateTag`. */
  revalidatePath(path: string, options?: { type?: 'page' | 'layout'; expire?: number }): Promise<PurgeResult>
  /** Removes one entry, here and in every live instance's L1. Resolves as `revalidateTag`. */
  delete(key: string): Promise<PurgeResult>
  /**
   * Takes the cluster-wide regeneration lease of a key: resolves a `Lease` if this instance may regenerate
   * it, undefined if another instance is regenerating it now. Held until released or `ttl` seconds pass
   * (default: the cache's lease ttl). Where the store cannot answer, resolves a lease (fail open). On winning,
   * this instance's L1 copy of the key is dropped, so the next `get` of it reads the store (which may hold a
   * newer entry another instance stored just before the lease came free). For adapters whose framework
   * regenerates by itself (Next.js); `getOrSet` uses leases on its own.
   */
  acquireLease(key: string, options?: { ttl?: number }): Promise<Lease | undefined>
  stats(): IsrCacheStats
  /** Waits for running regenerations (up to the write deadline) and closes the store connections the cache opened. */
  close(): Promise<void>
  /** Which driver serves this cache: 'memory', 'redis', 'sqlite' or 'keyv' (generic). */
  readonly storeKind: Driver['name']
}


/** Each cache's in-process answer for fresh entries (see `peekFresh`). */
const peeks = new WeakMap<IsrCache, (key: string) => CacheResult<unknown> | undefined>()

/**
 * A fresh entry of `cache` if it can be answered in process right now (the memory store, or a young L1 entry
 * whose tag records are at hand), counted as a hit; undefined otherwise, counting nothing. Internal, for the
 * HTTP layer's HIT path: no promise, no option checks; the caller goes on to `getOrSet` when it gets
 * undefined (always, for a cache object that is not one of ours).
 */
export function peekFresh<T>(cache: IsrCache, key: string): CacheResult<T> | undefined {
  return peeks.get(cache)?.(key) as CacheResult<T> | undefined
}

/** The parts of one cache, wired together. */
interface Engine {
  /** The configuration every part reads. */
  settings: Settings
  /** Counters, events, the error sink; silenced once close() has finished. */
  telemetry: Telemetry
  /** The driver behind deadlines and the breaker; closed by close(). */
  store: StoreStack
  /** The in-process tier of a shared store (undefined for memory or `l1: false`); cleared by close(). */
  l1: L1Tier | undefined
  /** Purge records: `revalidateTag` and `revalidatePath` write through them. */
  tags: TagRecords
  /** The read path: every `get` and `getOrSet` starts here. */
  reader: Reader
  /** `set` and `delete`, and the landing of regenerated entries. */
  writes: Writes
  /** Cluster shielding; `acquireLease` for adapters. */
  leases: Leases
  /** getOrSet's stale and missing cases; close() drains it. */
  regenerations: Regenerations
  /** The change feed; closed by close(). */
  sync: InstanceSync
}

/** Builds the parts, each handed what it uses. The order is the order of their dependencies. */
function assemble(options: IsrCacheOptions): Engine {
  const settings = settingsFrom(options)
  const telemetry = new Telemetry(options)
  const store = new StoreStack(options.store, settings, telemetry)
  const l1 = store.memory === undefined && settings.l1 ? new L1Tier(settings.maxMemoryBytes, settings.l1MaxAgeMs) : undefined
  const instanceId = randomUUID()
  const sync = new InstanceSync()
  const eviction = new Eviction(settings)
  const tags = new TagRecords(settings, store, sync, telemetry)
  const waiters = new Waiters()
  const writes = new Writes(settings, store, l1, eviction, waiters, sync, telemetry)
  const reader = new Reader(settings, store, l1, tags, eviction, writes.landing, telemetry, sync)
  const leases = new Leases(settings, store, reader, l1, waiters, telemetry)
  const regenerations = new Regenerations(settings, store, leases, writes, telemetry)
  sync.open(store, options.bus, instanceId, { l1, tags, waiters, telemetry }, { timeoutMs: settings.purgeAckTimeoutMs, now: settings.now })
  return { settings, telemetry, store, l1, tags, reader, writes, leases, regenerations, sync }
}

/** Creates an ISR cache. Throws `IsrCacheError` (`E_INVALID_OPTION`, `E_MISSING_PEER`) for bad configuration. */
export function createIsrCache(options: IsrCacheOptions = {}): IsrCache {
  const engine = assemble(options)
  const { settings, telemetry, store, l1, reader, writes, leases, regenerations } = engine
  /** Set when close() starts: every later call throws E_CLOSED. */
  let closed = false
  const assertOpen = (): void => {
    if (closed) throw new IsrCacheError('E_CLOSED', 'this cache was closed; create a new one with createIsrCache()')
  }

  const cache: IsrCache = {
    storeKind: store.resolved.name,

    get<T>(key: string, getOptions?: GetOptions): Promise<CacheResult<T> | undefined> {
      // Not an async function, so that an in-memory or L1 hit allocates no extra promise; errors still reject.
      let found: Lookup | Promise<Lookup>
      try {
        assertOpen()
        checkKey(key)
        if (getOptions !== undefined) checkGetOptions(getOptions)
        const extraTags = getOptions?.tags === undefined ? undefined : checkTags(getOptions.tags, 'get options tags')
        if (extraTags !== undefined && extraTags.length > 0) {
          found = reader.lookup(key, extraTags)
        } else if (!reader.anyLanding) {
          // The hit paths: answered in process, without a store call.
          if (store.memory !== undefined) return Promise.resolve(reader.memoryGet<T>(key))
          const fast = l1 === undefined ? undefined : reader.l1Get<T>(key)
          if (fast !== undefined) return Promise.resolve(fast.result)
          found = reader.lookup(key)
        } else {
          found = reader.lookup(key)
        }
      } catch (error) {
        return Promise.reject(error)
      }
      if (found instanceof Promise) return found.then((resolved) => reader.answer<T>(key, resolved?.held, resolved?.state ?? 'expired'))
      return Promise.resolve(reader.answer<T>(key, found?.held, found?.state ?? 'expired'))
    },

    async set(key, value, options = {}) {
      assertOpen()
      checkKey(key)
      const { input, lastModified } = setOptions(options, settings.now)
      return writes.write(key, await keep(entryFrom(value, input, lastModified, settings), settings.compression))
    },

    async getOrSet<T>(key: string, produce: (context: RegenerateContext<T>) => T | Promise<T>, options: GetOrSetOptions = {}): Promise<GetOrSetResult<T>> {
      assertOpen()
      checkKey(key)
      checkFunction(produce, 'the regenerate function (second argument of getOrSet)')
      const input = getOrSetOptions(options, settings)
      const landedBefore = writes.landedCount
      let found = await reader.lookup(key)
      // The lookup awaited: a regeneration (of this key, perhaps) may have finished meanwhile, its value
      // landing or already written, no longer in flight for the single-flight check that follows. Look
      // again rather than render a second time.
      if (found?.state !== 'fresh' && writes.landedCount !== landedBefore && !regenerations.running(key)) found = await reader.lookup(key)
      telemetry.tally(key, found === undefined ? 'miss' : found.state === 'fresh' ? 'hit' : 'stale')
      if (found !== undefined && found.state === 'fresh') {
        return { value: found.held.value as T, status: 'hit', lastModified: found.held.lastModified }
      }
      if (found !== undefined) return regenerations.serveStale(key, produce, input, found.held, input.softTimeout as number | undefined)
      return regenerations.fill(key, produce, input, input.hardTimeout as number | undefined)
    },

    async revalidateTag(tags, options = {}) {
      assertOpen()
      const list = checkTags(tags)
      return purge(list, revalidateTagOptions(options))
    },

    async revalidatePath(path, options = {}) {
      assertOpen()
      const { tag, expire } = revalidatePathOptions(checkPath(path), options)
      return purge([tag], expire)
    },

    async delete(key) {
      assertOpen()
      checkKey(key)
      return writes.delete(key)
    },

    async acquireLease(key, leaseOptions = {}) {
      assertOpen()
      checkKey(key)
      return leases.acquire(key, acquireLeaseOptions(leaseOptions, settings))
    },

    stats(): IsrCacheStats {
      return { ...telemetry.stats }
    },

    async close() {
      if (closed) return
      closed = true
      leases.stopWaiting()
      await regenerations.drain()
      await engine.sync.close()
      await store.driver.close()
      l1?.clear()
      telemetry.silence()
    },
  }
  peeks.set(cache, (key) => (closed || reader.anyLanding ? undefined : reader.peekFresh(key)))
  return cache

  /**
   * Both purges: a tag record per tag in the store (never a scan of entries), then every instance hears of
   * it. Not async: the caller awaits the store's purge itself, with no extra turn in between.
   */
  function purge(tags: string[], expireInput: unknown): Promise<PurgeResult> {
    const expire = purgeExpire(expireInput, settings)
    regenerations.purgeStarted()
    return engine.tags.purge(tags, expire)
  }
}

/**
 * The public types of the core API: options, per-call options, results, events and stats. `cache.ts`
 * re-exports them beside the `IsrCache` interface; they live here so that the parts of the engine can use
 * them without importing `cache.ts`, which imports the parts (no import circle).
 */
import type { IsrCacheBus } from './bus.js'
import type { IsrCacheError } from './errors.js'
import type { PurgeResult } from './purge-acks.js'
import type { StoreOption } from './stores/resolve.js'

/** Options of `createIsrCache`. Durations are in seconds. */
export interface IsrCacheOptions {
  /**
   * Where entries live: `'memory://'`, `'redis://…'` / `'rediss://…'` (needs `@keyv/redis`),
   * `'sqlite://path/to/file.sqlite'` (needs `@keyv/sqlite`), a `Keyv` instance, any keyv store, or a `Map`.
   * Default: in memory, bounded by `maxMemoryBytes`.
   */
  store?: StoreOption
  /**
   * Entries are read and written under this namespace (e.g. a build id); other namespaces' entries stay in
   * the store, unread, so rolling back finds them warm. Tag and path purges apply to every namespace.
   * Default `'default'`.
   */
  namespace?: string
  /** Prefix of every key this cache writes to a shared store. Default `'isr-cache'`. */
  prefix?: string
  /** Default seconds after which an entry is stale (served, and regenerated in the background), or `false`: only a purge makes it stale. Default `false`. */
  revalidate?: number | false
  /** Default seconds after which an entry can no longer be served at all. Default one year. */
  expire?: number
  /**
   * Upper bound of any entry's `expire` (larger values are clamped). Purge records are kept this long, which
   * is what guarantees that a purge is never forgotten while an entry it concerns could still be served.
   * Default: the larger of `expire` and one year.
   */
  maxExpire?: number
  /** Seconds after the last read when an entry is evicted from the store, whatever its `expire`. Default 31 days (Vercel's rule). */
  evictUnaccessedAfter?: number
  /** A read slides the eviction time at most once per key per this many seconds. Default one day (or a quarter of `evictUnaccessedAfter` if smaller). */
  touchInterval?: number
  /** Deadline of a store read, in seconds; a read that misses it is a miss. Default 1. */
  readTimeout?: number
  /** Deadline of a store write, in seconds; a write that misses it is reported. Default 5. */
  writeTimeout?: number
  /** How long tag purge records read from a shared store are reused before being read again, in seconds. Default 1. */
  tagCacheTtl?: number
  /** Byte budget of the in-memory store, or of the L1 tier in front of a shared store. Default 64 MiB. */
  maxMemoryBytes?: number
  /**
   * Keep decoded entries of a shared store (Redis, SQLite, keyv) in process (the L1 tier), so a hit costs
   * no round trip. Other instances' writes and purges reach it through the store's change feed (Redis
   * pub/sub, SQLite's change counter); entries are re-checked against the store after `l1MaxAge` seconds
   * whatever happens, so a lost message costs at most that. Default true (ignored for the memory store).
   */
  l1?: boolean
  /** Seconds after which an L1 entry is re-checked against the store. Default 1. */
  l1MaxAge?: number
  /**
   * Cluster-wide single-flight: a lease in the store per regenerating key, so that of all instances sharing
   * the store, one regenerates. `ttl`: seconds a lease lasts unless extended (it is, while the work runs),
   * so a crashed holder blocks nobody longer than that (default 10); `wait`: seconds a caller with nothing
   * to serve waits for another instance's result before rendering itself (default: `ttl`). `false`: each
   * instance regenerates on its own (still once per key per instance).
   */
  lease?: false | { ttl?: number; wait?: number }
  /**
   * After `failures` consecutive store failures (default 5), skip the store for `cooldown` seconds
   * (default 5), then let one call probe it. `false` to never skip.
   */
  circuitBreaker?: false | { failures?: number; cooldown?: number }
  /**
   * Your own pub/sub for the change feed, for stores without one (any keyv store), or to replace Redis
   * pub/sub. See `IsrCacheBus`. Default: the store's own (Redis pub/sub, SQLite's change counter), if any.
   */
  bus?: IsrCacheBus
  /** Compress entry bodies of at least `threshold` bytes (default 16 KiB) with gzip (default) or brotli. Default off. */
  compression?: false | { threshold?: number; algorithm?: 'gzip' | 'brotli' }
  /** After a failed background regeneration, wait `initial` seconds before the next try, doubling up to `max`. Default 1 and 60. */
  retryBackoff?: { initial?: number; max?: number }
  /** Receives every error the cache handles without throwing. Default: one log line per kind of error per minute. */
  onError?: (error: IsrCacheError) => void
  /**
   * How long `revalidateTag`, `revalidatePath` and `delete` wait, in seconds, for every other live instance
   * sharing the store to acknowledge that it applied the change (Redis). Past it they resolve anyway, with
   * `complete: false` and the count of acknowledgements; an instance that missed one resyncs before serving.
   * Default 0.25.
   */
  purgeAckTimeout?: number
  /** Receives an event for every lookup, regeneration, write, purge and delete. */
  onEvent?: (event: IsrCacheEvent) => void
  /** The clock, in epoch ms. Default `Date.now`. */
  now?: () => number
}

/** Options of `get`. */
export interface GetOptions {
  /**
   * More tags whose purges concern this read, besides the entry's own: tags known only when reading (such
   * as the implicit tags of the page that reads a shared data entry, Next.js's "soft tags").
   */
  tags?: string[]
}

/** Per-entry options of `set` and `getOrSet`. */
export interface EntryOptions {
  /** Tags to purge this entry by. */
  tags?: string | string[]
  /** The URL path this entry renders, for `revalidatePath`. */
  path?: string
  /** Seconds until stale, or `false`. Default: the cache's `revalidate`. */
  revalidate?: number | false
  /** Seconds until the entry can no longer be served. Default: the cache's `expire`. */
  expire?: number
}

export interface SetOptions extends EntryOptions {
  /** When the data was produced (epoch ms). Default: now. A write older than the stored entry is skipped. */
  lastModified?: number
}

export interface GetOrSetOptions extends EntryOptions {
  /** Seconds to wait for the regeneration of a stale entry before serving the stale one (which keeps regenerating). Default: serve stale at once. */
  softTimeout?: number
  /** Seconds after which a caller stops waiting for a regeneration and gets an `E_HARD_TIMEOUT` error. Default: wait. */
  hardTimeout?: number
}

export type CacheStatus = 'hit' | 'stale' | 'miss'

export interface CacheResult<T> {
  value: T
  status: 'hit' | 'stale'
  lastModified: number
  tags: string[]
}

export interface GetOrSetResult<T> {
  value: T
  status: CacheStatus
  lastModified: number
}

/** What a regenerate function is given. */
export interface RegenerateContext<T> {
  key: string
  /** The stale value being replaced, if any. */
  staleValue: T | undefined
  /**
   * Set by the regenerate function to replace getOrSet's `tags`, `path`, `revalidate` and `expire` for the
   * value it returns, when only the regeneration knows them (an HTTP response's own cache headers), or to
   * keep a hot getOrSet call free of options it would check on every hit.
   */
  entryOptions?: Pick<EntryOptions, 'tags' | 'path' | 'revalidate' | 'expire'>
}

export type IsrCacheEvent =
  | { type: 'lookup'; key: string; status: CacheStatus }
  | { type: 'circuit'; state: 'open' | 'closed' }
  | { type: 'regenerate'; key: string; background: boolean; ok: boolean; durationMs: number }
  | { type: 'write'; key: string; written: boolean }
  /** A purge made here: how many other instances acknowledged it before it returned (see `PurgeResult`). */
  | ({ type: 'purge'; tags: string[]; expire: number } & PurgeResult)
  /** A `delete` made here, with its acknowledgements. */
  | ({ type: 'delete'; key: string } & PurgeResult)

export interface IsrCacheStats {
  hits: number
  stale: number
  misses: number
  writes: number
  regenerations: number
  regenerationErrors: number
  storeErrors: number
  decodeErrors: number
  purges: number
  /** Regenerations running now (until their write lands). */
  inflight: number
  /** Lookups answered from the L1 tier without a store round trip. */
  l1Hits: number
  /** Times a caller waited for another instance's regeneration of a missing key. */
  leaseWaits: number
  /** The circuit breaker's state: 'open' while the store is being skipped. */
  circuit: 'closed' | 'open'
}

/** A regeneration lease held by this instance (see `acquireLease`). */
export interface Lease {
  /** Extends it by its ttl; false if it was lost (expired and taken by another instance). */
  extend(): Promise<boolean>
  /** Gives it up (only if still held by this instance). Idempotent. */
  release(): Promise<void>
}

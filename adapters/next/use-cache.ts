/**
 * Next.js `cacheHandlers` ('use cache'): a plain object Next registers once per process. Entries are
 * streams: consumed once in `set`, stored as bytes, and handed back as a new stream on every `get`. A `get`
 * during a pending `set` of the same key waits for it. Soft tags (the implicit tags of the page) are
 * checked inside `get`, so `getExpiration` has nothing left to add.
 */
import { coreTags, purgeTags, shared, splitOptions, storageKey, lifetimes, type NextIsrCacheOptions, type Shared } from './shared.js'

/** A 'use cache' entry as Next hands it over and expects it back (times in ms, durations in seconds). */
export interface NextUseCacheEntry {
  value: ReadableStream<Uint8Array>
  tags: string[]
  stale: number
  timestamp: number
  expire: number
  revalidate: number
}

interface StoredUseCacheEntry {
  bytes: Buffer
  tags: string[]
  stale: number
  timestamp: number
  expire: number
  revalidate: number
}

/** The object shape Next expects for `cacheHandlers` (16: updateTags, getExpiration(tags); 15.5: expireTags, getExpiration(...tags)). */
export interface NextUseCacheHandler {
  get(cacheKey: string, softTags?: string[]): Promise<NextUseCacheEntry | undefined>
  set(cacheKey: string, pendingEntry: Promise<NextUseCacheEntry>): Promise<void>
  refreshTags(): Promise<void>
  getExpiration(...tags: Array<string | string[]>): Promise<number>
  updateTags(tags: string[], durations?: { expire?: number }): Promise<void>
  expireTags(...tags: string[]): Promise<void>
  receiveExpiredTags(...tags: string[]): Promise<void>
}

async function consume(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

function streamOf(bytes: Buffer): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(bytes))
      controller.close()
    },
  })
}

/**
 * Creates the object for Next's `cacheHandlers` option (`default`, or any other kind). Handlers made with
 * the same store share one core cache and one connection per process with `createNextCacheHandler`.
 *
 * ```js
 * // use-cache-handler.mjs
 * import { createNextUseCacheHandler } from 'isr-cache/next'
 * export default createNextUseCacheHandler({ store: process.env.ISR_CACHE_STORE })
 * ```
 */
export function createNextUseCacheHandler(options: NextIsrCacheOptions = {}): NextUseCacheHandler {
  splitOptions(options)
  let state: Shared | undefined
  const s = (): Shared => (state ??= shared(options))
  // Pending sets of this process, so that a get waits for one in flight. Keys only: no stream or entry is
  // kept beyond the set (Next's rule), and each is dropped when its set settles.
  const pending = new Map<string, Promise<void>>()

  return {
    async get(cacheKey, softTags = []) {
      try {
        await pending.get(cacheKey)
        const readTags = coreTags(softTags)
        const found = await s().cache.get<StoredUseCacheEntry>(storageKey(s(), 'use-cache', cacheKey), readTags.length > 0 ? { tags: readTags } : undefined)
        if (found === undefined) return undefined
        const entry = found.value
        return {
          value: streamOf(entry.bytes),
          tags: entry.tags,
          stale: entry.stale,
          timestamp: entry.timestamp,
          expire: entry.expire,
          // Stale (by time or by a soft purge): -1 makes Next serve it once and refresh it in the background.
          revalidate: found.status === 'stale' ? -1 : entry.revalidate,
        }
      } catch (error) {
        s().report(error)
        return undefined
      }
    },

    async set(cacheKey, pendingEntry) {
      const work = (async () => {
        const entry = await pendingEntry
        const bytes = await consume(entry.value)
        if (!(entry.expire > 0)) return // Next's own handler does not keep entries that expire at once
        const life = lifetimes(s(), entry.revalidate, entry.expire)
        await s().cache.set(
          storageKey(s(), 'use-cache', cacheKey),
          { bytes, tags: entry.tags, stale: entry.stale, timestamp: entry.timestamp, expire: entry.expire, revalidate: entry.revalidate } satisfies StoredUseCacheEntry,
          { tags: coreTags(entry.tags), ...life, lastModified: Math.floor(entry.timestamp) },
        )
      })()
      const settled = work.catch((error: unknown) => s().report(error))
      pending.set(cacheKey, settled)
      await settled
      if (pending.get(cacheKey) === settled) pending.delete(cacheKey)
    },

    async refreshTags() {
      // Tag records are read with each entry (and kept current by the change feed): nothing to refresh.
    },

    async getExpiration() {
      // Soft tags are checked in get(), with soft purges served stale once: nothing to add here. (0 rather
      // than Infinity: Next 15.5 does not know Infinity's meaning, and 0 says the same to both.)
      return 0
    },

    async updateTags(tags, durations) {
      await purgeTags(s(), tags, durations?.expire)
    },

    async expireTags(...tags) {
      await purgeTags(s(), tags, undefined)
    },

    async receiveExpiredTags() {
      // Purges reach every instance through the store; nothing to receive.
    },
  }
}

/**
 * For `npm run bench:next` only: the least a Next `cacheHandler` can do, a Map in this process. What a
 * server with it loses against Next's built-in cache is what Next itself spends per request on any custom
 * handler (it imports the handler's module and constructs the class on every request), and so the ceiling
 * for isr-cache's `nextHitRpsVsBuiltin`. Not a cache to use: one process, no tags, no expiry, no bound.
 */
const entries = (globalThis.__isrCacheBenchMapHandler ??= new Map())

export default class MapCacheHandler {
  async get(key) {
    return entries.get(key) ?? null
  }

  async set(key, value) {
    entries.set(key, { value, lastModified: Date.now() })
  }

  async revalidateTag() {}

  resetRequestCache() {}
}

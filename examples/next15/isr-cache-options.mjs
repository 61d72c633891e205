// The options both handler modules pass (they share one core cache per store and prefix, made with the
// options of whichever Next constructs first, so both give the same).
// No ISR_CACHE_STORE: a SQLite file under .next/cache/ (with @keyv/sqlite installed), else memory.
export const isrCacheOptions = {
  store: process.env.ISR_CACHE_STORE,
  prefix: process.env.ISR_CACHE_PREFIX,
  // ISR_CACHE_LOG_PURGES=1: a line per purge once every live instance has applied it (or purgeAckTimeout
  // passed). Next runs a route handler's revalidateTag after its response is sent; the end-to-end tests
  // wait for this line before reading on the other instance.
  onEvent:
    process.env.ISR_CACHE_LOG_PURGES === '1'
      ? (event) => {
          if (event.type === 'purge') console.log(`[isr-cache] purge ${JSON.stringify({ at: Date.now(), tags: event.tags, complete: event.complete })}`)
        }
      : undefined,
}

// Next's `cacheHandler`: pages, route handlers and fetch data. The default export is a class.
import { createNextCacheHandler } from 'isr-cache/next'

// No ISR_CACHE_STORE: a SQLite file under .next/cache/ (with @keyv/sqlite installed), else memory.
export default createNextCacheHandler({ store: process.env.ISR_CACHE_STORE, prefix: process.env.ISR_CACHE_PREFIX })

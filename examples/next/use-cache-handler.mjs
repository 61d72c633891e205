// Next's `cacheHandlers.default`: 'use cache' entries. The default export is a plain object.
import { createNextUseCacheHandler } from 'isr-cache/next'

export default createNextUseCacheHandler({ store: process.env.ISR_CACHE_STORE, prefix: process.env.ISR_CACHE_PREFIX })

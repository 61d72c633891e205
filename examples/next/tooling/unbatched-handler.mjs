/**
 * For `npm run bench:next` (set-up `isrCacheUnbatched`) and the end-to-end tests: the example's isr-cache
 * handler (cache-handler.mjs) with `batchPageLookups: false`, to show what that option changes.
 */
import { createNextCacheHandler } from 'isr-cache/next'

export default createNextCacheHandler({ store: process.env.ISR_CACHE_STORE, prefix: process.env.ISR_CACHE_PREFIX, batchPageLookups: false })

// Next's `cacheHandlers.default`: 'use cache' entries. The default export is a plain object.
import { createNextUseCacheHandler } from 'isr-cache/next'
import { isrCacheOptions } from './isr-cache-options.mjs'

export default createNextUseCacheHandler(isrCacheOptions)

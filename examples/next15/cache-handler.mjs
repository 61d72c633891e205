// Next's `cacheHandler`: pages, route handlers and fetch data. The default export is a class.
import { createNextCacheHandler } from 'isr-cache/next'
import { isrCacheOptions } from './isr-cache-options.mjs'

export default createNextCacheHandler(isrCacheOptions)

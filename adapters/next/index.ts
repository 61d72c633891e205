/**
 * isr-cache/next: Next.js `cacheHandler` (a class) and `cacheHandlers` ('use cache', an object) on the
 * isr-cache core. See docs/adapters/next.md.
 */
export { createNextCacheHandler } from './handler.js'
export type { NextCacheHandlerClass, NextCacheHandlerValue } from './handler.js'
export { createNextUseCacheHandler } from './use-cache.js'
export type { NextUseCacheEntry, NextUseCacheHandler } from './use-cache.js'
export type { NextIsrCacheOptions, StoredNextEntry } from './shared.js'
export { withIsrCache } from './config.js'
export type { IsrCacheNextConfigFields, ModuleLocation, NextConfigFunction, NextConfigInput, WithIsrCacheOptions } from './config.js'

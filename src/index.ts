/**
 * isr-cache: Incremental Static Regeneration for self-hosted apps, on any keyv store.
 *
 * ```ts
 * import { createIsrCache } from 'isr-cache'
 * const cache = createIsrCache({ store: 'redis://127.0.0.1:6379', revalidate: 60 })
 * const { value, status } = await cache.getOrSet('/blog/hello', renderPost, { tags: ['posts'], path: '/blog/hello' })
 * await cache.revalidateTag('posts')
 * ```
 */
export { createIsrCache } from './cache.js'
export type {
  CacheResult,
  CacheStatus,
  EntryOptions,
  GetOptions,
  GetOrSetOptions,
  GetOrSetResult,
  IsrCache,
  IsrCacheEvent,
  IsrCacheOptions,
  IsrCacheStats,
  Lease,
  PurgeResult,
  RegenerateContext,
  SetOptions,
} from './cache.js'
export type { IsrCacheBus } from './bus.js'
export { IsrCacheError } from './errors.js'
export type { IsrCacheErrorCode } from './errors.js'
export type { KeyvStoreLike, RedisClientOption, RedisClusterOption, RedisSentinelOption, StoreOption } from './stores/resolve.js'

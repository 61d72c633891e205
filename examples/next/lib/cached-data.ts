import { randomUUID } from 'node:crypto'
import { cacheLife, cacheTag } from 'next/cache'

/**
 * A `'use cache'` function: its result goes to `cacheHandlers.default` (use-cache-handler.mjs), shared by
 * every page that calls it, and is purged by `revalidateTag('cached-data', …)`.
 */
export async function getCachedData() {
  'use cache'
  cacheTag('cached-data')
  cacheLife('hours')
  return { cachedAt: new Date().toISOString(), cachedId: randomUUID() }
}

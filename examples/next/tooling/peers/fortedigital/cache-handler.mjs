/**
 * For `npm run bench:next` only: @fortedigital/nextjs-cache-handler set up as its README's "Production Setup
 * Example" (one node-redis client per process kept on globalThis, the composite of its LRU and
 * redis-strings handlers, no Redis during `next build`), on BENCH_PEER_REDIS_URL under the key prefix
 * BENCH_PEER_PREFIX. Installed by the bench on first use (tooling/peers/fortedigital/package.json).
 */
import { PHASE_PRODUCTION_BUILD } from 'next/constants.js'
import { CacheHandler } from '@fortedigital/nextjs-cache-handler'
import createCompositeHandler from '@fortedigital/nextjs-cache-handler/composite'
import createLruHandler from '@fortedigital/nextjs-cache-handler/local-lru'
import createRedisHandler from '@fortedigital/nextjs-cache-handler/redis-strings'
import { createClient } from 'redis'

async function configure() {
  const lru = createLruHandler()
  if (process.env.NEXT_PHASE === PHASE_PRODUCTION_BUILD) return { handlers: [lru] }
  const client = createClient({ url: process.env.BENCH_PEER_REDIS_URL, pingInterval: 10_000 })
  client.on('error', (error) => console.warn('[bench peer fortedigital] Redis error', error))
  await client.connect()
  const redis = createRedisHandler({ client, keyPrefix: process.env.BENCH_PEER_PREFIX })
  // The README's composite: the LRU only for entries tagged memory-cache, Redis for everything else.
  return { handlers: [createCompositeHandler({ handlers: [lru, redis], setStrategy: (ctx) => (ctx?.tags.includes('memory-cache') ? 0 : 1) })] }
}

CacheHandler.onCreation(() => (globalThis.__benchFortedigitalConfig ??= configure()))

export default CacheHandler

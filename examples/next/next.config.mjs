import { fileURLToPath } from 'node:url'
import { withIsrCache } from 'isr-cache/next'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

// ISR_CACHE_DISABLED=1 (read by `next build` and `next start`) leaves Next's built-in cache in place:
// bench.mjs uses it to compare both on the same build.
const useIsrCache = process.env.ISR_CACHE_DISABLED !== '1'
// ISR_CACHE_BENCH_HANDLER (bench.mjs only, read by `next start`) puts another cacheHandler in place of
// isr-cache for pages: `map`, a do-nothing Map (what Next itself spends on any custom handler), `unbatched`
// (isr-cache with batchPageLookups: false), or a peer that users pick instead (`fortedigital`, `trieb`:
// installed by the bench into tooling/peers/).
const benchHandlers = {
  map: './tooling/map-handler.mjs',
  unbatched: './tooling/unbatched-handler.mjs',
  fortedigital: './tooling/peers/fortedigital/cache-handler.mjs',
  trieb: './tooling/peers/trieb/cache-handler.cjs',
}
const pagesHandler = benchHandlers[process.env.ISR_CACHE_BENCH_HANDLER] ?? './cache-handler.mjs'
// ISR_CACHE_COUNT_GETS_PORT (bench.mjs and the end-to-end tests): that handler, with its get calls counted
// and the count served on this loopback port (tooling/counting-handler.mjs).
const countGets = Boolean(process.env.ISR_CACHE_COUNT_GETS_PORT)
if (countGets) process.env.ISR_CACHE_COUNTED_HANDLER = here(pagesHandler)

/** @type {import('next').NextConfig} */
const nextConfig = {
  // NEXT_DIST_DIR lets a test build a second output next to the first (the unreachable-store build test).
  distDir: process.env.NEXT_DIST_DIR || '.next',
  experimental: {
    // 'use cache' without cacheComponents, so `export const revalidate` stays legal in the other routes.
    useCache: true,
  },
  // This app sits inside the isr-cache repository, which has a lockfile of its own: pin the root.
  turbopack: { root: here('.') },
  outputFileTracingRoot: here('.'),
}

// The peers are set up as their READMEs say: their module named as cacheHandler (Next imports it on every
// request). isr-cache (and the bench's Map reference) go through withIsrCache, which registers the class
// once at `next start` (ISR_CACHE_NEXT_REGISTER_AT_START=0, read by `next start`, turns that off).
const peer = process.env.ISR_CACHE_BENCH_HANDLER === 'fortedigital' || process.env.ISR_CACHE_BENCH_HANDLER === 'trieb'
const cacheHandler = here(countGets ? './tooling/counting-handler.mjs' : pagesHandler)
const useCacheHandlers = { default: here('./use-cache-handler.mjs') }

export default !useIsrCache
  ? nextConfig
  : peer
    ? { ...nextConfig, cacheHandler, cacheHandlers: useCacheHandlers, cacheMaxMemorySize: 0 }
    : // Pages, route handlers and fetch data (a class; Next constructs it per request), 'use cache' entries
      // (a plain object), and cacheMaxMemorySize: 0 (isr-cache keeps its own L1 tier, kept current across
      // instances; a second in-memory copy in Next would only hide purges).
      withIsrCache(nextConfig, {
        cacheHandler,
        cacheHandlers: useCacheHandlers,
        registerAtStart: process.env.ISR_CACHE_NEXT_REGISTER_AT_START !== '0',
      })

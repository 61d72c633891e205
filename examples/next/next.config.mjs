import { fileURLToPath } from 'node:url'

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
  ...(useIsrCache && {
    // Pages, route handlers and fetch data (a class; Next constructs it per request).
    cacheHandler: here(countGets ? './tooling/counting-handler.mjs' : pagesHandler),
    // 'use cache' entries (a plain object).
    cacheHandlers: { default: here('./use-cache-handler.mjs') },
    // No second in-memory copy in Next: isr-cache keeps its own L1 tier, kept current across instances.
    cacheMaxMemorySize: 0,
  }),
  experimental: {
    // 'use cache' without cacheComponents, so `export const revalidate` stays legal in the other routes.
    useCache: true,
  },
  // This app sits inside the isr-cache repository, which has a lockfile of its own: pin the root.
  turbopack: { root: here('.') },
  outputFileTracingRoot: here('.'),
}

export default nextConfig

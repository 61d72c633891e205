import { fileURLToPath } from 'node:url'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

// ISR_CACHE_DISABLED=1 (read by `next build` and `next start`) leaves Next's built-in cache in place:
// bench.mjs uses it to compare both on the same build.
const useIsrCache = process.env.ISR_CACHE_DISABLED !== '1'
// ISR_CACHE_BENCH_HANDLER=map (bench.mjs only) puts a do-nothing Map handler in place of isr-cache for pages,
// to measure what Next itself spends on any custom cacheHandler.
const pagesHandler = process.env.ISR_CACHE_BENCH_HANDLER === 'map' ? './tooling/map-handler.mjs' : './cache-handler.mjs'

/** @type {import('next').NextConfig} */
const nextConfig = {
  // NEXT_DIST_DIR lets a test build a second output next to the first (the unreachable-store build test).
  distDir: process.env.NEXT_DIST_DIR || '.next',
  ...(useIsrCache && {
    // Pages, route handlers and fetch data (a class; Next constructs it per request).
    cacheHandler: here(pagesHandler),
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

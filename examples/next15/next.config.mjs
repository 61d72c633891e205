import { fileURLToPath } from 'node:url'
import { withIsrCache } from 'isr-cache/next'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/** @type {import('next').NextConfig} */
const nextConfig = {
  // In 15.5 the 'use cache' handlers are experimental (top-level `cacheHandlers` from Next 16 on):
  // withIsrCache puts them there on 15.5.
  experimental: { useCache: true },
  // This app sits inside the isr-cache repository, which has a lockfile of its own: pin the root.
  outputFileTracingRoot: here('.'),
}

// cacheHandler, experimental.cacheHandlers.default and cacheMaxMemorySize: 0; under `next start` the
// cacheHandler class is registered with Next once (Next 15.5 reads the same global as 16).
export default withIsrCache(nextConfig, {
  cacheHandler: new URL('./cache-handler.mjs', import.meta.url),
  cacheHandlers: { default: new URL('./use-cache-handler.mjs', import.meta.url) },
})

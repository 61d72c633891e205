import { fileURLToPath } from 'node:url'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))

/** @type {import('next').NextConfig} */
const nextConfig = {
  cacheHandler: here('./cache-handler.mjs'),
  cacheMaxMemorySize: 0,
  experimental: {
    // In 15.5 the 'use cache' handlers are experimental (top-level `cacheHandlers` from Next 16 on).
    useCache: true,
    cacheHandlers: { default: here('./use-cache-handler.mjs') },
  },
  // This app sits inside the isr-cache repository, which has a lockfile of its own: pin the root.
  outputFileTracingRoot: here('.'),
}

export default nextConfig

// The Astro 7 fixture: route caching is Astro's own API (Astro.cache.set, routeRules,
// context.cache.invalidate); isr-cache is the provider behind it. FIXTURE_CACHE=memory builds the same
// app on Astro's memoryCache() instead, into dist-memory/, for the side-by-side run and the benchmark.
import { defineConfig, memoryCache } from 'astro/config'
import node from '@astrojs/node'
import { isrCacheProvider } from 'isr-cache/astro'

const memory = process.env.FIXTURE_CACHE === 'memory'

export default defineConfig({
  output: 'server',
  outDir: memory ? './dist-memory' : './dist',
  adapter: node({ mode: 'standalone' }),
  cache: { provider: memory ? memoryCache() : isrCacheProvider() },
  routeRules: {
    '/blog/[...slug]': { maxAge: 3600, swr: 600, tags: ['posts'] },
  },
})

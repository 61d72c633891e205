// Self-hosted ISR for Nitro's own `isr` route rule (isr-cache/nuxt). The store, the secret and the bypass
// token are runtime settings: NUXT_ISR_CACHE_STORE, NUXT_ISR_CACHE_SECRET, NUXT_ISR_CACHE_BYPASS_TOKEN.
export default defineNuxtConfig({
  compatibilityDate: '2025-07-15',
  devtools: { enabled: false },
  telemetry: false,
  modules: ['isr-cache/nuxt'],
  isrCache: { revalidationPath: '/api/revalidate' },
  routeRules: {
    '/': { isr: 60 },
    // 10 s until stale; the page may shorten it with CDN-Cache-Control (REVALIDATE, see server/api/page-data).
    '/isr': { isr: 10 },
    // Until purged: tagged `posts` by its Cache-Tag header.
    '/tagged': { isr: true },
    '/blog/**': { isr: { expiration: 3600, allowQuery: ['page'] } },
    '/cookie': { isr: 60 },
    '/stampede': { isr: true },
    '/api/posts': { isr: 300 },
    // Nitro's native per-process cache, for comparison (npm run bench:nuxt, test/nuxt.e2e.test.ts).
    '/swr': { swr: 10 },
    // npm run bench:nuxt: one page under each rule.
    '/bench': { isr: 3600 },
    '/bench-swr': { swr: 3600 },
    '/__map/**': { isr: false },
  },
})

// A plain Nitro 2 app: Nitro's `isr` route rule served by isr-cache on the node-server preset.
export default defineNitroConfig({
  compatibilityDate: '2025-07-15',
  modules: ['isr-cache/nitro'],
  isrCache: { revalidationPath: '/api/revalidate' },
  routeRules: {
    '/': { isr: 60 },
    '/blog/**': { isr: { expiration: 3600, tags: ['posts'], allowQuery: ['page'] } },
  },
})

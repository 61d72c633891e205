// A plain Nitro 3 (beta, h3 v2) app: Nitro's `isr` route rule served by isr-cache on the node preset.
// jiti is a devDependency: without it, `nitro build` installs it by itself to read this file on Node 20.
import { defineConfig } from 'nitro'

export default defineConfig({
  // Nitro 3 scans routes/ only with serverDir set.
  serverDir: './',
  modules: ['isr-cache/nitro'],
  isrCache: { revalidationPath: '/api/revalidate' },
  routeRules: {
    '/': { isr: 60 },
    // @ts-expect-error isr-cache reads `tags` too; Nitro 3's type of the rule (VercelISRConfig) does not list it
    '/blog/**': { isr: { expiration: 3600, tags: ['posts'], allowQuery: ['page'] } },
  },
})

// Astro 5 on Node: every page is rendered on demand (output: 'server') unless it exports prerender = true,
// and src/middleware.ts puts isr-cache in front of them.
import { defineConfig } from 'astro/config'
import node from '@astrojs/node'
import preact from '@astrojs/preact'

export default defineConfig({
  output: 'server',
  adapter: node({ mode: 'standalone' }),
  integrations: [preact()],
})

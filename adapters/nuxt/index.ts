/**
 * isr-cache/nuxt: the Nuxt module. Nitro's own `isr` route rule, which Nuxt's `node-server` output
 * otherwise ignores, becomes self-hosted ISR on a shared store: pages, their `_payload.json` (one entry, one
 * render) and server routes, with tags, purges and cluster-wide single-flight.
 *
 * ```ts
 * // nuxt.config.ts
 * export default defineNuxtConfig({
 *   modules: ['isr-cache/nuxt'],
 *   isrCache: { revalidationPath: '/api/revalidate' },
 *   routeRules: { '/': { isr: 60 }, '/blog/**': { isr: { expiration: 3600, allowQuery: ['page'] } } },
 * })
 * ```
 *
 * Written against `nuxt.options` and its hooks, not `@nuxt/kit`: importing this file needs nothing
 * installed, and the module works with the Nuxt the app has.
 */
import { configureNitro, type IsrCacheModuleOptions, type NitroConfigLike } from '../nitro/module.js'

export type { IsrCacheModuleOptions } from '../nitro/module.js'

/** The part of the `Nuxt` object the module uses. */
export interface NuxtLike {
  options: {
    rootDir: string
    isrCache?: IsrCacheModuleOptions
    experimental: { payloadExtraction?: boolean | 'client' }
  }
  hook(name: 'nitro:config', fn: (config: NitroConfigLike) => void): unknown
  hook(name: 'prepare:types', fn: (context: { references: Array<{ types?: string; path?: string }>; declarations: string[] }) => void): unknown
}

/** What Nuxt reads from a module function. */
export interface NuxtModuleLike {
  (inlineOptions: IsrCacheModuleOptions | undefined, nuxt: NuxtLike): void
  getMeta(): { name: string; configKey: string; compatibility: { nuxt: string } }
}

function isrCacheNuxtModule(inlineOptions: IsrCacheModuleOptions | undefined, nuxt: NuxtLike): void {
  const options = { ...nuxt.options.isrCache, ...inlineOptions }
  // A page inlines its whole payload, and `_payload.json` (client-side navigation) is derived from the
  // page's cached HTML: one render and one entry for both. With `true`, the HTML would hold only part of
  // the payload and each instance would render the rest on its own. `false` (no payloads) is kept.
  if (nuxt.options.experimental.payloadExtraction === true) nuxt.options.experimental.payloadExtraction = 'client'
  nuxt.hook('nitro:config', (config) => {
    configureNitro(config, options, { nuxt: true, envPrefix: 'NUXT_', rootDir: nuxt.options.rootDir })
  })
  // Types in the app: the `isrCache` key of nuxt.config.ts, and `tags` in the `isr` route rule.
  nuxt.hook('prepare:types', ({ declarations }) => {
    declarations.push(
      [
        "declare module '@nuxt/schema' {",
        "  interface NuxtConfig { isrCache?: import('isr-cache/nuxt').IsrCacheModuleOptions }",
        "  interface NuxtOptions { isrCache?: import('isr-cache/nuxt').IsrCacheModuleOptions }",
        '}',
      ].join('\n'),
    )
  })
}

/** The Nuxt module: `modules: ['isr-cache/nuxt']` in nuxt.config.ts; options under `isrCache`. */
const nuxtModule: NuxtModuleLike = Object.assign(isrCacheNuxtModule, {
  getMeta: () => ({ name: 'isr-cache', configKey: 'isrCache', compatibility: { nuxt: '>=4.0.0' } }),
})
export default nuxtModule
/** The same module, by name: `modules: [isrCacheModule]` in a config that imports it. */
export { nuxtModule as isrCacheModule }

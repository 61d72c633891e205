/**
 * isr-cache/nitro: ISR for plain Nitro 2 apps (`nitro.config.ts`), and the server utilities the Nuxt module
 * auto-imports. Routes opt in with Nitro's own `isr` route rule, which the `node-server` preset otherwise
 * ignores:
 *
 * ```ts
 * // nitro.config.ts
 * export default defineNitroConfig({
 *   modules: ['isr-cache/nitro'],
 *   isrCache: { revalidationPath: '/api/revalidate' },
 *   routeRules: { '/': { isr: 60 }, '/blog/**': { isr: { expiration: 3600, allowQuery: ['page'] } } },
 * })
 * ```
 */
import { configureNitro, type IsrCacheModuleOptions, type NitroConfigLike } from './module.js'

export { defineIsrEventHandler } from './handler.js'
export type { IsrEventHandler, IsrEventHandlerOptions } from './handler.js'
export { useIsrCache } from './state.js'
export type { IsrCacheModuleOptions } from './module.js'
export type { NitroIsrConfig, NitroIsrRule } from './rules.js'

/** The part of Nitro's `Nitro` object the module uses. */
export interface NitroLike {
  options: NitroConfigLike & { isrCache?: IsrCacheModuleOptions; rootDir: string }
}

/** The Nitro module: `modules: ['isr-cache/nitro']` in nitro.config.ts; options under `isrCache`. */
const isrCacheNitroModule = {
  name: 'isr-cache',
  setup(nitro: NitroLike): void {
    configureNitro(nitro.options, nitro.options.isrCache, { nuxt: false, envPrefix: 'NITRO_', rootDir: nitro.options.rootDir })
  },
}
export default isrCacheNitroModule

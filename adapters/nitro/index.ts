/**
 * isr-cache/nitro: ISR for plain Nitro apps (`nitro.config.ts`; Nitro 2, and Nitro 3 beta: the module tells
 * them apart by `nitro.meta.majorVersion`), and the server utilities the Nuxt module auto-imports. Routes opt in with Nitro's own `isr` route rule, which the `node-server` preset otherwise
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
import { configureNitro3, type Nitro3OptionsLike } from './module3.js'

export { defineIsrEventHandler } from './handler.js'
export type { IsrEventHandler, IsrEventHandlerOptions } from './handler.js'
export { useIsrCache } from './state.js'
export type { IsrCacheModuleOptions } from './module.js'
export type { NitroIsrConfig, NitroIsrRule } from './rules.js'

/** The part of Nitro's `Nitro` object the module uses (Nitro 2's, or Nitro 3's with its `meta`). */
export interface NitroLike {
  options: NitroConfigLike & { isrCache?: IsrCacheModuleOptions; rootDir: string }
  meta?: { majorVersion?: number }
}

/** The Nitro module: `modules: ['isr-cache/nitro']` in nitro.config.ts; options under `isrCache`. */
const isrCacheNitroModule = {
  name: 'isr-cache',
  setup(nitro: NitroLike): void {
    if ((nitro.meta?.majorVersion ?? 2) >= 3) return configureNitro3(nitro.options as unknown as Nitro3OptionsLike)
    configureNitro(nitro.options, nitro.options.isrCache, { nuxt: false, envPrefix: 'NITRO_', rootDir: nitro.options.rootDir })
  },
}
export default isrCacheNitroModule

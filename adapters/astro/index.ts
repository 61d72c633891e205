/**
 * isr-cache/astro: ISR for Astro on a Node server (`@astrojs/node`). Two entry points onto one HTTP layer
 * (`createIsrHandler`, isr-cache/http), with no freshness logic of their own:
 *
 * ```ts
 * // Astro 7 (Astro 6: under experimental): astro.config.mjs. Pages keep Astro.cache.set() and routeRules.
 * cache: { provider: isrCacheProvider() }
 *
 * // Astro 5: src/middleware.ts
 * export const onRequest = createIsrMiddleware({ cache, routes: { '/': { revalidate: 60 } } })
 * ```
 */
export { createIsrMiddleware } from './middleware.js'
export type { IsrMiddleware, IsrMiddlewareOptions } from './middleware.js'
export { isrCacheProvider } from './provider.js'
export type { IsrCacheProviderConfig, IsrCacheProviderOptions, IsrProviderConfig, ProviderCacheOptions } from './provider.js'
export type { AstroContextLike, AstroCookiesLike, AstroNext } from './context.js'

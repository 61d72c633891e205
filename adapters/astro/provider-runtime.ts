/**
 * isr-cache/astro/provider: the module Astro 7 imports at run time for `cache: { provider: isrCacheProvider() }`
 * (its default export is Astro's `CacheProviderFactory`). Users never import it themselves.
 *
 * Astro calls `onRequest` around the whole render, user middleware included; `next()` renders, and what
 * `Astro.cache.set()` and `routeRules` declared arrives on the rendered response as `CDN-Cache-Control` and
 * `Cache-Tag`, which `createIsrHandler` reads. The cache is created when the server starts, from
 * `ISR_CACHE_STORE` (else in memory), `ISR_CACHE_PREFIX` and `ISR_CACHE_BYPASS_TOKEN`: nothing
 * per-environment or secret is in the build.
 */
import { createIsrCache, type IsrCache } from '../../src/cache.js'
import { createIsrHandler, type IsrHandlerOptions } from '../../src/http/handler.js'
import { passesThrough, renderCookieless, withCookiesOf, type AstroNext } from './context.js'
import type { IsrProviderConfig } from './provider.js'

/** The part of Astro's `CacheProvider` context used here (Astro 7 adds `waitUntil` and `logger`). */
export interface AstroProviderContext {
  request: Request
  url: URL
}

/** Astro's `InvalidateOptions`: `context.cache.invalidate({ tags } | { path })`. */
export interface AstroInvalidateOptions {
  path?: string
  tags?: string | string[]
}

/** Astro's `CacheProvider`, as this module returns it. */
export interface IsrAstroCacheProvider {
  name: string
  onRequest(context: AstroProviderContext, next: AstroNext): Promise<Response>
  invalidate(options: AstroInvalidateOptions): Promise<void>
  /** The cache this provider serves from (for a revalidation endpoint, `cache.stats()`, tests). */
  cache: IsrCache
}

/**
 * Astro's `CacheProviderFactory` (this module's default export, and named for tests): called once per
 * server with the config `isrCacheProvider()` wrote into the build.
 */
export function cacheProviderFactory(config: IsrProviderConfig | undefined): IsrAstroCacheProvider {
  const env = typeof process === 'undefined' ? {} : process.env
  const cacheOptions = { ...config?.cacheOptions }
  const cache = createIsrCache({
    ...cacheOptions,
    store: env.ISR_CACHE_STORE || undefined,
    ...(env.ISR_CACHE_PREFIX ? { prefix: env.ISR_CACHE_PREFIX } : {}),
  })
  const handlerOptions: IsrHandlerOptions = { ...config?.handler, cache }
  if (env.ISR_CACHE_BYPASS_TOKEN) handlerOptions.bypassToken = env.ISR_CACHE_BYPASS_TOKEN
  const isr = createIsrHandler(handlerOptions)

  return {
    name: 'isr-cache',
    cache,
    async onRequest(context, next) {
      const request = context.request
      if ((request.method !== 'GET' && request.method !== 'HEAD') || passesThrough(context)) return next()
      // The render this request itself ran (a MISS, a bypass, a pass-through) carries its Astro.cookies;
      // renders started later are background regenerations, whose jar belongs to nobody.
      let foreground = true
      let own: Response | undefined
      const response = await isr(request, async (asked) => {
        const mine = foreground
        const rendered = asked === request ? await next() : await renderCookieless(context, next, asked)
        if (mine) own = rendered
        return rendered
      })
      foreground = false
      const state = response.headers.get('x-isr-cache')
      if (own === undefined || state === 'HIT' || state === 'STALE') return response
      return withCookiesOf(own, response)
    },
    async invalidate({ path, tags }) {
      // Astro's invalidate has no soft form: entries expire now (soft purges: the revalidation endpoint).
      if (tags !== undefined && (!Array.isArray(tags) || tags.length > 0)) await cache.revalidateTag(tags)
      if (path !== undefined) await cache.revalidatePath(new URL(path, 'http://invalid').pathname)
    },
  }
}

export default cacheProviderFactory

/**
 * The Astro 5 adapter: an `onRequest` middleware that maps an Astro request onto one call of
 * `createIsrHandler` (isr-cache/http) and back. What is stored, when it is stale and who regenerates it
 * are the HTTP layer's and the core's; this file decides only what is Astro's:
 *
 * - which requests go through the cache: GET/HEAD of on-demand routes (prerendered pages are the
 *   adapter's static files; Astro's own `/_image`, `/_server-islands/…` and `/_actions/…` pass through);
 * - how a cacheable page is rendered: `next()` on a `context.request` stripped of the visitor's cookies
 *   (see context.ts), for a MISS as for a background regeneration in the stale visitor's context;
 * - the visitor's `Astro.cookies`: Astro attaches its jar to the Response the middleware returns, so the MISS
 *   visitor gets the cookies its render set, and a HIT or STALE answer carries none (no page ran).
 */
import type { IsrHandlerOptions } from '../../src/http/handler.js'
import { createIsrHandler } from '../../src/http/handler.js'
import { passesThrough, renderCookieless, type AstroContextLike, type AstroNext } from './context.js'

/** Options of `createIsrMiddleware`: those of `createIsrHandler` (isr-cache/http). */
export type IsrMiddlewareOptions = IsrHandlerOptions

/** An Astro middleware (`onRequest`): assignable to Astro's `MiddlewareHandler`, composes with `sequence()`. */
export type IsrMiddleware = (context: AstroContextLike, next: AstroNext) => Promise<Response>

/**
 * An Astro `onRequest` middleware serving on-demand pages and endpoints from the cache:
 * `export const onRequest = createIsrMiddleware({ cache, routes: { '/': { revalidate: 60 } } })` in
 * `src/middleware.ts`, or inside `sequence()` (first, so that no earlier middleware reads the visitor's
 * cookies before a cacheable render). A page opts in through `routes`, or by itself with
 * `Astro.response.headers.set('cache-control', 's-maxage=60')` (and `cache-tag: posts`); an endpoint by the
 * same headers on its Response. Non-GET requests and prerendered pages pass through.
 * Throws `IsrCacheError` `E_INVALID_OPTION` for bad options.
 */
export function createIsrMiddleware(options: IsrMiddlewareOptions): IsrMiddleware {
  const isr = createIsrHandler(options)
  return async function isrMiddleware(context, next) {
    const request = context.request
    if ((request.method !== 'GET' && request.method !== 'HEAD') || passesThrough(context)) return next()
    // The visitor's own request is rendered as it is (a preview, or a route that may opt in by its headers:
    // the HTTP layer never stores what a request with cookies rendered); any other is a cacheable render.
    return isr(request, (asked) => (asked === request ? next() : renderCookieless(context, next, asked)))
  }
}

/**
 * The Astro 5 adapter: an `onRequest` middleware that maps an Astro request onto one call of
 * `createIsrHandler` (isr-cache/http) and back. What is stored, when it is stale and who regenerates it
 * are the HTTP layer's and the core's; this file decides only what is Astro's:
 *
 * - which requests go through the cache: GET/HEAD of on-demand routes (prerendered pages are the
 *   adapter's static files; Astro's own `/_image`, `/_server-islands/…` and `/_actions/…` pass through);
 * - how a cacheable page is rendered: `context.rewrite()` of the HTTP layer's cookie-less request, which
 *   gives the render a fresh `Astro.cookies` jar parsed from that request and runs the middleware chain
 *   again (so a middleware before the cache sees no cookie either); our own middleware lets that inner
 *   request through by a per-process marker. `next()` would render `context.request` with the visitor's
 *   jar, which a middleware before us may already have read;
 * - the visitor's `Astro.cookies`: Astro attaches the context's jar to the Response the middleware returns,
 *   so the MISS visitor gets the cookies its render set; a HIT or STALE answer carries none. A background
 *   regeneration starts only once the stale visitor's answer has its jar, so the cookies that render sets
 *   (into the rewrite's own jar) reach nobody.
 */
import { randomBytes } from 'node:crypto'
import type { IsrHandlerOptions } from '../../src/http/handler.js'
import { createIsrHandler, isBackgroundRender } from '../../src/http/handler.js'
import { secretDigest, secretMatches } from '../../src/http/secret.js'
import { markPrivate, passesThrough, renderCookieless, warnTainted, type AstroContextLike, type AstroNext } from './context.js'

/** Options of `createIsrMiddleware`: those of `createIsrHandler` (isr-cache/http). */
export type IsrMiddlewareOptions = IsrHandlerOptions

/** An Astro middleware (`onRequest`): assignable to Astro's `MiddlewareHandler`, composes with `sequence()`. */
export type IsrMiddleware = (context: AstroContextLike, next: AstroNext) => Promise<Response>

/** The request header that marks our own renders (a rewrite that runs the middleware chain again). */
const INTERNAL_HEADER = 'x-isr-cache-internal'
/** Astro marks the page responses of a rewrite with it (for its dev server): not part of the page. */
const REWRITE_HEADER = 'x-astro-rewrite'

/**
 * The marker's value: a secret of this process, so a visitor cannot send it to skip the cache. On a named
 * global, because a build may hold more than one copy of this module.
 */
const TOKEN_KEY = Symbol.for('isr-cache.astro.internal-token')
function internalToken(): { value: string; digest: Buffer } {
  const holder = globalThis as { [TOKEN_KEY]?: { value: string; digest: Buffer } }
  holder[TOKEN_KEY] ??= (() => {
    const value = randomBytes(24).toString('hex')
    return { value, digest: secretDigest(value) }
  })()
  return holder[TOKEN_KEY]
}

/** Whether a cookie jar already holds cookies set for this visitor (by a middleware before the cache). */
function hasOutgoing(jar: AstroContextLike['cookies']): boolean {
  if (jar === undefined || typeof jar.headers !== 'function') return false
  for (const _cookie of jar.headers()) return true
  return false
}

/**
 * Renders `asked` (the HTTP layer's cookie-less request) through Astro's rewrite: a fresh jar, the chain
 * run again. The visitor's jar is merged into the rewrite's, so cookies a middleware before the cache set
 * for this visitor would be readable by the render: then it is served `private, no-store`.
 */
async function renderByRewrite(context: AstroContextLike & Required<Pick<AstroContextLike, 'rewrite'>>, asked: Request): Promise<Response> {
  const clean = !hasOutgoing(context.cookies)
  const headers = new Headers(asked.headers)
  headers.set(INTERNAL_HEADER, internalToken().value)
  // Astro keeps one `locals` object across a rewrite: what a middleware put there for this visitor (their
  // user, their session) is taken out, for good (components go on rendering while the body streams); the
  // middleware before the cache fill it again for the cookie-less request.
  const locals = (context.locals ?? {}) as Record<string, unknown>
  for (const name of Object.keys(locals)) delete locals[name]
  const response = await context.rewrite(new Request(asked.url, { method: 'GET', headers }))
  try {
    response.headers.delete(REWRITE_HEADER)
  } catch {
    // Immutable headers (an endpoint's fetch Response): the header is harmless, only noise.
  }
  if (clean) return response
  warnTainted(context.url.pathname, 'a middleware earlier in sequence() set a cookie for this visitor, which the render could read')
  return markPrivate(response)
}

/**
 * An Astro `onRequest` middleware serving on-demand pages and endpoints from the cache:
 * `export const onRequest = createIsrMiddleware({ cache, routes: { '/': { revalidate: 60 } } })` in
 * `src/middleware.ts`, or inside `sequence()` (first is best: middleware before it runs again, cookie-less,
 * for each cached render). A page opts in through `routes`, or by itself with
 * `Astro.response.headers.set('cache-control', 's-maxage=60')` (and `cache-tag: posts`); an endpoint by the
 * same headers on its Response. Non-GET requests and prerendered pages pass through.
 * Throws `IsrCacheError` `E_INVALID_OPTION` for bad options.
 */
export function createIsrMiddleware(options: IsrMiddlewareOptions): IsrMiddleware {
  const isr = createIsrHandler(options)
  return async function isrMiddleware(context, next) {
    const request = context.request
    const marker = request.headers.get(INTERNAL_HEADER)
    if (marker !== null) {
      // One of our own renders (the rewrite below): rendered as it is, without the marker.
      if (secretMatches(marker, internalToken().digest)) {
        request.headers.delete(INTERNAL_HEADER)
        return next()
      }
      request.headers.delete(INTERNAL_HEADER) // a visitor's guess: ignored
    }
    if ((request.method !== 'GET' && request.method !== 'HEAD') || passesThrough(context)) return next()
    let answered!: () => void
    const sent = new Promise<void>((resolve) => (answered = resolve))
    try {
      // The visitor's own request is rendered as it is (a preview, or a route that may opt in by its
      // headers: the HTTP layer never stores what a request with cookies rendered); any other is a cacheable render.
      return await isr(request, async (asked) => {
        if (asked === request) return next()
        if (typeof context.rewrite !== 'function') return renderCookieless(context, next, asked)
        // A background regeneration waits until Astro has attached the stale visitor's jar to its answer:
        // the rewrite then swaps the context's jar, and the regenerated page's cookies go nowhere.
        if (isBackgroundRender(asked)) await sent.then(() => new Promise((resolve) => setImmediate(resolve)))
        return renderByRewrite(context as AstroContextLike & Required<Pick<AstroContextLike, 'rewrite'>>, asked)
      })
    } finally {
      answered()
    }
  }
}

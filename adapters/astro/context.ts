/**
 * What the Astro middleware and the Astro 7 cache provider share: the part of Astro's API they use (typed
 * here, so that the package needs no `astro` to load or to type-check), and the cookie-less render.
 *
 * Astro renders `context.request`, whatever Request a middleware hands to `next()` (a Request passed to
 * `next()` is a rewrite that keeps the visitor's cookie jar), and a background regeneration calls `next()`
 * again in the stale visitor's own context. So a cacheable render is made cookie-less in place: the headers
 * the HTTP layer left out of its internal request are deleted from `context.request`, and the cookie jar is
 * checked to hold none of the visitor's cookies before `next()` renders. Where that cannot be proven (a
 * middleware earlier in the chain already read the jar), the render is marked `private, no-store`: served,
 * never stored.
 */

/** The part of Astro's `AstroCookies` used here. */
export interface AstroCookiesLike {
  has(key: string): boolean
  /** The Set-Cookie values of the cookies set so far. */
  headers(): Iterable<string>
}

/** The part of Astro's `APIContext` (middleware) and of a cache provider's context used here. */
export interface AstroContextLike {
  request: Request
  url: URL
  cookies?: AstroCookiesLike
  /** Whether the route was prerendered at build time (those are the static handler's, never ours). */
  isPrerendered?: boolean
  /** The route's pattern, e.g. `/blog/[slug]`; Astro's own routes (`/_image`, `/_server-islands/[name]`, `/_actions/…`) start with `/_`. */
  routePattern?: string
  /** `Astro.locals`: one object for the request, shared with a rewrite. */
  locals?: object
  /** Astro's rewrite (middleware context, Astro >= 4.13): renders another Request with a fresh cookie jar. */
  rewrite?(payload: Request): Promise<Response>
}

/** Astro's `next()`: renders the route (a payload would be a rewrite; never passed here). */
export type AstroNext = () => Promise<Response>

/** The symbol Astro carries a request's `Astro.cookies` on, from the rendered Response to the one sent. */
export const ASTRO_COOKIES = Symbol.for('astro.cookies')

/** Astro's own on-demand routes: the image endpoint (its query selects the image), server islands, actions. */
const ASTRO_INTERNAL = /(?:^|\/)_(?:image|server-islands|actions)(?:\/|$)/

/** Whether a request is never ours: prerendered pages and Astro's internal routes (images, islands, actions). */
export function passesThrough(context: AstroContextLike): boolean {
  if (context.isPrerendered === true) return true
  // Astro ignores page files whose name starts with `_`: a route pattern that does is Astro's own.
  if (typeof context.routePattern === 'string' && context.routePattern.startsWith('/_')) return true
  return ASTRO_INTERNAL.test(context.url.pathname)
}

/** The cookies of a Cookie header, name → raw value. */
function cookiePairs(header: string | null): Map<string, string> {
  const pairs = new Map<string, string>()
  if (header === null) return pairs
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    const name = (eq === -1 ? pair : pair.slice(0, eq)).trim()
    if (name !== '' && !pairs.has(name)) pairs.set(name, eq === -1 ? '' : pair.slice(eq + 1).trim())
  }
  return pairs
}

/** Whether the Astro.cookies jar a render left on its Response still reads one of the visitor's cookies. */
function jarHoldsVisitorCookie(response: Response, visitor: Map<string, string>): boolean {
  const jar = Reflect.get(response, ASTRO_COOKIES) as { get?(key: string): { value?: string } | undefined } | undefined
  if (visitor.size === 0 || typeof jar?.get !== 'function') return false
  for (const [name, raw] of visitor) {
    let value: string | undefined
    try {
      value = jar.get(name)?.value
    } catch {
      return true // a jar that cannot be read cannot be proven clean
    }
    if (value !== undefined && (value === raw || value === safeDecode(raw))) return true
  }
  return false
}

function safeDecode(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    return raw
  }
}

let warned = false
/** One line, once per process: a render that might have seen a visitor's cookie was served, not stored. */
export function warnTainted(pathname: string, why: string): void {
  if (warned) return
  warned = true
  console.warn(
    `[isr-cache] astro: ${pathname} was not cached: ${why}. Put createIsrMiddleware() first in sequence(), so that a cached render never sees a visitor's cookies. (Logged once.)`,
  )
}

/**
 * Renders the visitor's route as the HTTP layer's `asked` request (the same URL without the visitor's
 * cookies, authorization and conditional headers): those headers are deleted from `context.request`, then
 * `next()` renders. A render that may still see a visitor's cookie comes back `private, no-store`.
 */
export async function renderCookieless(context: AstroContextLike, next: AstroNext, asked: Request): Promise<Response> {
  const headers = context.request.headers
  const visitor = cookiePairs(headers.get('cookie'))
  const names = [...visitor.keys()]
  let clean = true
  try {
    const removed: string[] = []
    headers.forEach((_value, name) => {
      if (!asked.headers.has(name)) removed.push(name)
    })
    for (const name of removed) headers.delete(name)
  } catch {
    clean = false // immutable headers: the render would see them
  }
  // The jar parses the Cookie header on first use: if something read it before the header was removed, it
  // still holds the visitor's cookies (or an earlier middleware set one of the same name) and the page sees them.
  if (clean && context.cookies !== undefined) clean = !names.some((name) => context.cookies!.has(name))
  if (clean) clean = !headers.has('cookie') && !headers.has('authorization')
  const response = await next()
  // Without a jar to look at beforehand (a cache provider's context), the one the render used, afterwards.
  if (clean && context.cookies === undefined) clean = !jarHoldsVisitorCookie(response, visitor)
  if (clean) return response
  warnTainted(context.url.pathname, "the visitor's cookies were read before isr-cache rendered it (a middleware earlier in sequence() used context.cookies)")
  return markPrivate(response)
}

/** A response the HTTP layer will serve and never store. */
export function markPrivate(response: Response): Response {
  try {
    response.headers.set('cache-control', 'private, no-store')
    response.headers.delete('cdn-cache-control')
    return response
  } catch {
    const headers = new Headers(response.headers)
    headers.set('cache-control', 'private, no-store')
    headers.delete('cdn-cache-control')
    return withCookiesOf(response, new Response(response.body, { status: response.status, statusText: response.statusText, headers }))
  }
}

/** `to`, carrying the `Astro.cookies` jar that rode on `from` (the MISS visitor's own cookies). */
export function withCookiesOf(from: Response, to: Response): Response {
  if (from === to) return to
  const jar: unknown = Reflect.get(from, ASTRO_COOKIES)
  if (jar !== undefined && Reflect.get(to, ASTRO_COOKIES) === undefined) Reflect.set(to, ASTRO_COOKIES, jar)
  return to
}

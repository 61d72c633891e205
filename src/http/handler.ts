/**
 * createIsrHandler: ISR for any `fetch`-style server. It maps a Request to one core call (`getOrSet` for a
 * route with a rule, `get` for one that may opt in by its headers) and the stored response back to a
 * Response. Freshness, single-flight, leases, timeouts and stale-if-error are the core's; this file only
 * decides what a request's key is, what its render may see, and what of the answer may be stored.
 */
import { peekFresh, type GetOrSetOptions, type GetOrSetResult, type IsrCache, type RegenerateContext } from '../cache.js'
import { IsrCacheError } from '../errors.js'
import { checkKnown, checkPath } from '../validate.js'
import { readLimited, teeBody } from './body.js'
import { respondFromStored, toStored, type IsrCacheHeader, type StoredResponse } from './entry.js'
import { hasCookie, registerHitSettings } from './hit.js'
import { cacheKey } from './key.js'
import { decide, PRIVATE_REQUEST_HEADERS, withoutDirectives, type Decision, type PolicySettings } from './policy.js'
import { compileRoutes, type RouteRule, type Routes } from './routes.js'
import { secretDigest, secretMatches } from './secret.js'

/** The app: renders a Request into a Response (Hono's `app.fetch`, a srvx or Bun `fetch` handler, …). */
export type Render = (request: Request) => Response | Promise<Response>

/** What `createIsrHandler` returns: answers a request from the cache, or through `render`. */
export type IsrHandler = (request: Request, render: Render) => Promise<Response>

/** Options of `createIsrHandler`. Durations in seconds. */
export interface IsrHandlerOptions {
  /** The cache to store pages in (`createIsrCache(...)`). Required. */
  cache: IsrCache
  /**
   * Route patterns → rules: exact paths, `*` (one segment), `**` (any depth); the most specific match wins.
   * A rule is `{ revalidate?, expire?, tags?, allowQuery? }`, or `false` to never cache. Routes without a
   * rule are cached only when their response opts in by its headers (`CDN-Cache-Control: max-age=N` or
   * `Cache-Control: s-maxage=N`), which costs them one cache lookup per request. Default `{}`.
   */
  routes?: Routes
  /**
   * A request whose `x-isr-cache-bypass` header equals this token (compared in constant time) is rendered
   * fresh, cookie-less, and replaces the stored entry (`x-isr-cache: BYPASS`). Default: off.
   * `{ sha256: '<hex>' }` gives the token's SHA-256 digest instead of the token, for configuration that is
   * written into a build (the Astro provider's): the build then holds a digest, never the token.
   */
  bypassToken?: string | { sha256: string }
  /**
   * Name of the preview / draft-mode cookie: a request carrying it is rendered with its cookies, never
   * stored and never served from the cache (`x-isr-cache: BYPASS`, `Cache-Control: private, no-store`).
   * Default `'__prerender_bypass'` (Next.js's draft-mode cookie); `false` turns it off.
   */
  previewCookie?: string | false
  /** Bodies larger than this many bytes are not stored (they are still served, streamed). Default 10 MiB. */
  maxBodyBytes?: number
  /** Response statuses that may be stored. Default `[200]`. */
  statuses?: number[]
  /**
   * Request headers that select a variant (e.g. `['accept-language']`): they become part of every key, and a
   * response may then `Vary` on them. A response that varies on any other header (but `Accept-Encoding` for
   * an unencoded body) is not stored. `cookie` and `authorization` are refused. Default `[]`.
   */
  vary?: string[]
  /** Seconds to wait for the regeneration of a stale page before serving it stale (the core's `softTimeout`). Default: serve stale at once. */
  softTimeout?: number
  /** Seconds a request waits for a missing page's render before getting a 504 (the core's `hardTimeout`; the render goes on and is stored). Default: wait. */
  hardTimeout?: number
  /** The clock for `Age`, in epoch ms: pass the cache's own if you gave it one. Default `Date.now`. */
  now?: () => number
}

const OPTION_NAMES = ['cache', 'routes', 'bypassToken', 'previewCookie', 'maxBodyBytes', 'statuses', 'vary', 'softTimeout', 'hardTimeout', 'now']
const TEN_MIB = 10 * 1024 * 1024

/** Thrown by a regeneration whose render must not be stored; waiters then render for themselves. */
class NotStored extends Error {
  constructor(readonly reason: string) {
    super(`not stored: ${reason}`)
  }
}
/** Thrown by a regeneration whose render threw; carries the app's own error. */
class RenderFailed extends Error {
  constructor(readonly error: unknown) {
    super('the render threw', { cause: error })
  }
}

function optionError(message: string): IsrCacheError {
  return new IsrCacheError('E_INVALID_OPTION', `createIsrHandler: ${message}`)
}

function positiveSeconds(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw optionError(`option ${name} must be a number of seconds greater than 0; got ${String(value)}`)
  return value
}

/** The digest of `bypassToken: { sha256 }`, or undefined when it is not 64 hex digits. */
function digestOption(option: { sha256?: unknown }): Buffer | undefined {
  const hex = option.sha256
  return typeof hex === 'string' && /^[0-9a-fA-F]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : undefined
}

/** The requests of background regenerations (no visitor waits for them), for `isBackgroundRender`. */
const backgroundRenders = new WeakSet<Request>()

/**
 * Whether `request` (as a render received it) is a background regeneration's, which no visitor waits for,
 * rather than the render of a MISS or a bypass. For framework adapters that must not let a background render
 * touch the state of the visitor whose request found the page stale (Astro's cookie jar).
 */
export function isBackgroundRender(request: Request): boolean {
  return backgroundRenders.has(request)
}

/** The request a cacheable render gets: a GET of the same URL, without the visitor's credentials or conditions. */
function internalRequest(request: Request): Request {
  const headers = new Headers(request.headers)
  for (const name of PRIVATE_REQUEST_HEADERS) headers.delete(name)
  return new Request(request.url, { method: 'GET', headers })
}

/** The entry path of a pathname (normalized as the core does), or undefined where the core would refuse it. */
function entryPath(pathname: string): string | undefined {
  try {
    return checkPath(pathname)
  } catch {
    return undefined
  }
}

/** A fresh render as the visitor gets it: directives addressed to this cache removed, `x-isr-cache` added. */
function asVisitor(response: Response, state: IsrCacheHeader, body: ReadableStream<Uint8Array> | null = response.body): Response {
  const headers = withoutDirectives(response.headers)
  headers.set('x-isr-cache', state)
  headers.set('age', '0')
  return new Response(body, { status: response.status, statusText: response.statusText, headers })
}

function entryOptions(decision: Extract<Decision, { store: true }>) {
  return { tags: decision.tags, revalidate: decision.revalidate, expire: decision.expire }
}


/** What a handler's requests share: its settings, checked once by `createIsrHandler`. */
interface Handler {
  cache: IsrCache
  /** The rule and entry path of a pathname (memoised, bounded). */
  routeOf(pathname: string): RouteOf
  /** Digest of the bypass token, or undefined: no bypass. */
  bypassDigest: Buffer | undefined
  previewCookie: string | false
  maxBodyBytes: number
  policy: PolicySettings
  /** The `vary` option's request header names, lower-case and sorted: part of every key. */
  varyNames: string[]
  /** Only the timeouts: the entry's tags, path and durations are set by the render (`context.entryOptions`). */
  getOrSetOptions: GetOrSetOptions
  /** The handler's clock (the cache's, by the `now` option's contract), epoch ms. */
  now(): number
  /** Whole seconds since `lastModified`, on the handler's clock. */
  ageOf(lastModified: number): number
}

/** What a pathname's requests share, worked out once per pathname: its rule and entry path. */
interface RouteOf {
  rule: RouteRule | false | undefined
  path: string | undefined
}

/** Checks the options of `createIsrHandler` (throws `E_INVALID_OPTION` naming the bad one) into a `Handler`. */
function handlerOf(options: IsrHandlerOptions): Handler {
  if (typeof options !== 'object' || options === null) throw optionError('pass an options object: createIsrHandler({ cache, routes })')
  checkKnown(options as unknown as Record<string, unknown>, OPTION_NAMES, 'createIsrHandler', 'E_INVALID_OPTION')
  const cache = options.cache
  if (typeof cache?.getOrSet !== 'function' || typeof cache?.get !== 'function' || typeof cache?.set !== 'function') {
    throw optionError('option cache must be an isr-cache instance: createIsrHandler({ cache: createIsrCache(...) })')
  }
  const routes = compileRoutes(options.routes)
  const bypassToken = options.bypassToken
  // An empty token (an unset environment variable) means no bypass, never "an empty header bypasses".
  const bypassDigest = typeof bypassToken === 'string' ? (bypassToken ? secretDigest(bypassToken) : undefined) : typeof bypassToken === 'object' && bypassToken !== null ? digestOption(bypassToken) : undefined
  if (bypassToken !== undefined && typeof bypassToken !== 'string' && bypassDigest === undefined) {
    throw optionError("option bypassToken must be a string, { sha256: '<64 hex digits>' } (the token's SHA-256 digest), or undefined (no bypass)")
  }
  const previewCookie = options.previewCookie ?? '__prerender_bypass'
  if (previewCookie !== false && (typeof previewCookie !== 'string' || previewCookie === '')) throw optionError('option previewCookie must be a cookie name, or false')
  const maxBodyBytes = options.maxBodyBytes ?? TEN_MIB
  if (typeof maxBodyBytes !== 'number' || !Number.isInteger(maxBodyBytes) || maxBodyBytes < 0) throw optionError(`option maxBodyBytes must be a whole number of bytes; got ${String(maxBodyBytes)}`)
  const statuses = options.statuses ?? [200]
  if (!Array.isArray(statuses) || statuses.some((status) => !Number.isInteger(status) || status < 200 || status > 599)) {
    throw optionError('option statuses must be an array of HTTP statuses, e.g. [200, 404]')
  }
  const vary = options.vary ?? []
  if (!Array.isArray(vary) || vary.some((name) => typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))) {
    throw optionError("option vary must be an array of request header names, e.g. ['accept-language']")
  }
  const varyNames = [...new Set(vary.map((name) => name.toLowerCase()))].sort()
  if (varyNames.includes('cookie') || varyNames.includes('authorization')) {
    throw optionError('option vary cannot hold cookie or authorization: a cached render never sees them (render those pages uncached with a rule of false)')
  }
  const softTimeout = positiveSeconds('softTimeout', options.softTimeout)
  const hardTimeout = positiveSeconds('hardTimeout', options.hardTimeout)
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw optionError('option now must be a function returning epoch milliseconds')

  const getOrSetOptions: GetOrSetOptions = {}
  if (softTimeout !== undefined) getOrSetOptions.softTimeout = softTimeout
  if (hardTimeout !== undefined) getOrSetOptions.hardTimeout = hardTimeout
  const byPathname = new Map<string, RouteOf>()
  return {
    cache,
    routeOf(pathname) {
      let found = byPathname.get(pathname)
      if (found !== undefined) return found
      found = { rule: routes.match(pathname), path: entryPath(pathname) }
      if (byPathname.size >= 10_000) byPathname.clear()
      byPathname.set(pathname, found)
      return found
    },
    bypassDigest,
    previewCookie,
    maxBodyBytes,
    policy: { statuses: new Set(statuses), vary: new Set(varyNames), maxBodyBytes },
    varyNames,
    getOrSetOptions,
    now,
    ageOf: (lastModified) => Math.max(0, Math.floor((now() - lastModified) / 1000)),
  }
}

/**
 * Stores a render replacing whatever is there (bypass, header opt-in): streamed to the visitor meanwhile.
 * The entry's lastModified is `renderedFrom`, when the render started (as getOrSet stamps a regeneration):
 * a purge issued while it rendered or streamed must not be outlived by it.
 */
function storeAndStream(h: Handler, request: Request, response: Response, decision: Decision, key: string, path: string, state: IsrCacheHeader, renderedFrom: number): Response {
  if (!decision.store) {
    if (state === 'BYPASS') void h.cache.delete(key).catch(() => {})
    return asVisitor(response, state)
  }
  const save = async (body: Uint8Array | undefined): Promise<void> => {
    if (body === undefined) await h.cache.delete(key)
    else await h.cache.set(key, toStored(response, body), { path, ...entryOptions(decision), lastModified: renderedFrom })
  }
  if (request.method === 'HEAD') {
    void readLimited(response.body, h.maxBodyBytes).then(save).catch(() => {})
    return asVisitor(response, state, null)
  }
  const { visitor, whole } = teeBody(response.body, h.maxBodyBytes)
  void whole.then(save).catch(() => {})
  return asVisitor(response, state, visitor)
}

/** A regeneration of a stale entry through the core, for a route without a rule (its headers decide). */
function regenerateByHeaders(h: Handler, request: Request, key: string, path: string, render: Render): void {
  h.cache
    .getOrSet<StoredResponse>(key, (context) => regenerateInBackground(h, request, key, path, undefined, render, context), h.getOrSetOptions)
    .catch(() => {}) // reported by the core
}

/** The render of a cacheable page: cookie-less, and an error it throws marked as the app's own. */
async function renderCacheable(request: Request, render: Render, background = false): Promise<Response> {
  const internal = internalRequest(request)
  if (background) backgroundRenders.add(internal)
  try {
    return await render(internal)
  } catch (error) {
    throw new RenderFailed(error)
  }
}

/** Renders a stale entry again, cookie-less; what may not be stored anymore is dropped, a 5xx keeps it (stale-if-error). */
async function regenerateInBackground(h: Handler, request: Request, key: string, path: string, rule: RouteRule | undefined, render: Render, context: RegenerateContext<StoredResponse>): Promise<StoredResponse> {
  const response = await renderCacheable(request, render, true)
  const decision = decide(response, rule, h.policy)
  if (!decision.store) {
    await response.body?.cancel().catch(() => {})
    if (response.status >= 500) throw new NotStored(`status ${response.status}`)
    await h.cache.delete(key).catch(() => {})
    throw new NotStored(decision.reason)
  }
  context.entryOptions = { path, ...entryOptions(decision) }
  const body = await readLimited(response.body, h.maxBodyBytes)
  if (body === undefined) {
    await h.cache.delete(key).catch(() => {})
    throw new NotStored('too-large')
  }
  return toStored(response, body)
}

/** A route with a rule: one `getOrSet`, whose miss streams to the request that rendered it. */
async function ruled(h: Handler, request: Request, rule: RouteRule, key: string, path: string, render: Render): Promise<Response> {
  // The HIT path: a fresh entry at hand in process is answered without the getOrSet machinery below.
  const fresh = peekFresh<StoredResponse>(h.cache, key)
  if (fresh !== undefined) return respondFromStored(fresh.value, request, 'HIT', h.ageOf(fresh.lastModified))
  type Outcome = { result: GetOrSetResult<StoredResponse> } | { error: unknown } | { response: Response }
  // Settled by whichever comes first: getOrSet's answer, or this request's own render (a streamed MISS).
  let settle!: (outcome: Outcome) => void
  const first = new Promise<Outcome>((resolve) => (settle = resolve))
  const answer = (response: Response) => settle({ response })
  let rendered = false
  const produce = async (context: RegenerateContext<StoredResponse>): Promise<StoredResponse> => {
    if (context.staleValue !== undefined) return regenerateInBackground(h, request, key, path, rule, render, context)
    rendered = true
    const response = await renderCacheable(request, render)
    const decision = decide(response, rule, h.policy)
    if (!decision.store) {
      // This request gets its render as it is; the requests waiting on it render for themselves.
      if (request.method === 'HEAD') void response.body?.cancel().catch(() => {})
      answer(asVisitor(response, 'MISS', request.method === 'HEAD' ? null : response.body))
      throw new NotStored(decision.reason)
    }
    context.entryOptions = { path, ...entryOptions(decision) }
    let whole: Promise<Uint8Array | undefined>
    if (request.method === 'HEAD') {
      answer(asVisitor(response, 'MISS', null))
      whole = readLimited(response.body, h.maxBodyBytes)
    } else {
      const split = teeBody(response.body, h.maxBodyBytes)
      answer(asVisitor(response, 'MISS', split.visitor))
      whole = split.whole
    }
    const body = await whole
    if (body === undefined) throw new NotStored('too-large')
    return toStored(response, body)
  }
  h.cache
    .getOrSet<StoredResponse>(key, produce, h.getOrSetOptions)
    .then(
      (result) => settle({ result }),
      (error: unknown) => settle({ error }),
    )
  const outcome = await first
  if ('response' in outcome) return outcome.response
  if ('result' in outcome) {
    const { value, status, lastModified } = outcome.result
    return respondFromStored(value, request, status === 'hit' ? 'HIT' : status === 'stale' ? 'STALE' : 'MISS', h.ageOf(lastModified))
  }
  const error = outcome.error
  if (error instanceof IsrCacheError && error.code === 'E_HARD_TIMEOUT') {
    return new Response('Gateway Timeout: the page is still being rendered\n', { status: 504, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-isr-cache': 'MISS', 'retry-after': '1' } })
  }
  const cause = error instanceof IsrCacheError ? error.cause : undefined
  // This request's own render threw: the app's own error, as it would have been without the cache.
  if (rendered && cause instanceof RenderFailed) throw cause.error
  // Another request's render was not stored (or failed), or the cache refused: render as if uncached.
  return render(request)
}

/** A route without a rule: known entries are served; the response of a miss may opt in by its headers. */
async function byHeaders(h: Handler, request: Request, key: string, path: string, render: Render): Promise<Response> {
  // A miss is rendered for this request alone (coalescing routes that may never be cached would queue them behind each other).
  let found
  try {
    found = await h.cache.get<StoredResponse>(key)
  } catch {
    found = undefined // a closed cache: fail open
  }
  if (found !== undefined) {
    if (found.status === 'stale') regenerateByHeaders(h, request, key, path, render)
    return respondFromStored(found.value, request, found.status === 'hit' ? 'HIT' : 'STALE', h.ageOf(found.lastModified))
  }
  const credentials = request.headers.has('cookie') || request.headers.has('authorization')
  const renderedFrom = h.now()
  const response = await render(request)
  const decision = decide(response, undefined, h.policy)
  if (!decision.store && decision.reason === 'no-opt-in') return response
  // Rendered with this visitor's credentials, or only headers (HEAD): served, never stored.
  if (credentials || request.method === 'HEAD') return asVisitor(response, 'MISS')
  return storeAndStream(h, request, response, decision, key, path, 'MISS', renderedFrom)
}

/**
 * Creates the ISR handler: `isr(request, render)` answers GET and HEAD from the cache (HIT, STALE while one
 * background regeneration runs, or MISS streamed from one render shared by concurrent requests) and passes
 * every other request, and every response that opts in neither by a route rule nor by its headers, through
 * untouched. Throws `IsrCacheError` `E_INVALID_OPTION` for bad options.
 */
export function createIsrHandler(options: IsrHandlerOptions): IsrHandler {
  const h = handlerOf(options)
  const isr: IsrHandler = async function isr(request, render) {
    const method = request.method
    if (method !== 'GET' && method !== 'HEAD') return render(request)
    const url = new URL(request.url)
    const { rule, path } = h.routeOf(url.pathname)
    if (rule === false) return render(request)
    if (h.previewCookie !== false && hasCookie(request.headers.get('cookie'), h.previewCookie)) {
      const response = asVisitor(await render(request), 'BYPASS')
      response.headers.set('cache-control', 'private, no-store')
      return response
    }
    const key = cacheKey(url, rule?.allowQuery, h.varyNames, request.headers)
    if (path === undefined || key.length > 4096) return render(request)
    if (h.bypassDigest !== undefined && secretMatches(request.headers.get('x-isr-cache-bypass'), h.bypassDigest)) {
      const renderedFrom = h.now()
      const response = await render(internalRequest(request))
      return storeAndStream(h, request, response, decide(response, rule, h.policy), key, path, 'BYPASS', renderedFrom)
    }
    if (rule !== undefined) return ruled(h, request, rule, key, path, render)
    return byHeaders(h, request, key, path, render)
  }
  registerHitSettings(isr, h)
  return isr
}

/**
 * One request of a Nitro 2 (h3 v1) app through `createIsrHandler` (isr-cache/http). No freshness logic:
 * what is stored, when it is stale and who regenerates it are the HTTP layer's and the core's. What this
 * file decides is Nitro-specific:
 *
 * - the visitor's h3 event as a Web `Request`, and the app's own answer as "let h3 go on" (a middleware
 *   returning nothing), so uncached requests cost no second pass through the app;
 * - how a cacheable page is rendered: `nitroApp.localFetch`, an in-process request through the whole app
 *   (route rules, Nuxt's renderer, API routes) that carries none of the visitor's cookies or authorization,
 *   only the query parameters the key holds, and a marker so that it passes the cache;
 * - a Nuxt page's `_payload.json`, served from the page's own entry (payload.ts).
 */
import type { IsrCache } from '../../src/cache.js'
import { createIsrHandler, type IsrHandler } from '../../src/http/handler.js'
import { bodyEtag } from '../../src/http/entry.js'
import { freshHit, hitAnswer } from '../../src/http/hit.js'
import { payloadFromHtml } from './payload.js'
import { renderTarget, type TranslatedRule } from './rules.js'
import { INTERNAL_HEADER, nitroState, type NitroAppLike, type RuntimeSettings } from './state.js'

/** The part of an h3 v1 `H3Event` the adapter reads. */
export interface H3EventLike {
  method: string
  /** The request's path and query, base URL included. */
  path: string
  headers: Headers
  context: Record<string, unknown>
  node: { req: NodeJS.ReadableStream & { body?: unknown; headers: Record<string, string | string[] | undefined> }; res: NodeResponseLike }
  waitUntil?: (promise: Promise<unknown>) => void
}

/** The part of Node's `ServerResponse` (or unenv's, for an in-process request) used to answer a HIT. */
export interface NodeResponseLike {
  socket?: unknown
  statusCode: number
  setHeader(name: string, value: string): unknown
  end(body?: Uint8Array): unknown
}

/**
 * Sends an answer from the cache (HIT, STALE, 304) straight to Node's response, bytes and all: h3 would
 * pipe the Web body through a WritableStream, which costs a HIT more than the cache lookup. Anything else
 * (a MISS streaming its render, a request without a socket) is returned for h3 to send. Resolves undefined
 * when it answered.
 */
export async function deliver(event: H3EventLike, response: Response): Promise<Response | undefined> {
  const state = response.headers.get('x-isr-cache')
  const res = event.node.res
  if ((state !== 'HIT' && state !== 'STALE') || !res?.socket) return response
  res.statusCode = response.status
  // A stored answer has no Set-Cookie (never stored): every header is single.
  response.headers.forEach((value, name) => {
    res.setHeader(name, value)
  })
  res.end(response.body === null ? undefined : new Uint8Array(await response.arrayBuffer()))
  return undefined
}

/** Returned by a render of the visitor's own request: the app answers it as if there were no cache. */
const PASS = new Response(null, { status: 299 })

/** Request headers never copied into an internal render (hop-by-hop, or ours). */
const NOT_FORWARDED = ['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'upgrade', 'expect', INTERNAL_HEADER]

/**
 * One `createIsrHandler` per translated rule (the middleware keeps one translation per distinct `isr` value,
 * and a `defineIsrEventHandler` route has its own), for the cache it was made for.
 */
const handlers = new WeakMap<TranslatedRule, { cache: IsrCache; isr: IsrHandler }>()

function handlerFor(cache: IsrCache, settings: RuntimeSettings, translated: TranslatedRule): IsrHandler {
  const known = handlers.get(translated)
  if (known !== undefined && known.cache === cache) return known.isr
  // The rule is the request's own (Nitro merged it from routeRules), so it applies to any path here.
  const isr = createIsrHandler({ cache, routes: { '/**': translated.rule }, bypassToken: settings.bypassToken, previewCookie: false })
  handlers.set(translated, { cache, isr })
  return isr
}

/**
 * The HIT path: a fresh entry at hand in process, written straight to Node's response from the h3 event,
 * with no Request or Response built for it. True when it answered; false sends the request on to
 * `serveCached` (or the app).
 */
export function serveFresh(event: H3EventLike, translated: TranslatedRule): boolean {
  const res = event.node.res
  const parts = ready()
  if (!res?.socket || parts === undefined) return false
  let url: URL
  try {
    url = new URL(event.path, 'http://localhost')
  } catch {
    return false
  }
  const hit = freshHit(handlerFor(parts.cache, parts.settings, translated), { method: event.method, url, headers: event.headers })
  if (hit === undefined) return false
  const answer = hitAnswer(hit, event.method, event.headers.get('if-none-match'))
  res.statusCode = answer.status
  for (const name in answer.headers) res.setHeader(name, answer.headers[name]!)
  res.end(answer.body ?? undefined)
  return true
}

/** The visitor's request as a Web Request, or undefined when its URL cannot be one (then the app answers it). */
export function visitorRequest(event: H3EventLike): Request | undefined {
  try {
    const host = event.headers.get('host') ?? 'localhost'
    return new Request(new URL(event.path, `http://${host}`), { method: event.method, headers: event.headers })
  } catch {
    return undefined
  }
}

/** A cookie-less render of `asked` (the HTTP layer's cacheable request) through the whole app, in process. */
function renderInternal(nitroApp: NitroAppLike, asked: Request, translated: TranslatedRule): Promise<Response> {
  const headers = new Headers(asked.headers)
  for (const name of NOT_FORWARDED) headers.delete(name)
  headers.set(INTERNAL_HEADER, nitroState().token.value)
  return nitroApp.localFetch(renderTarget(new URL(asked.url), translated), { method: 'GET', headers, redirect: 'manual' })
}

function ready(): { cache: IsrCache; nitroApp: NitroAppLike; settings: RuntimeSettings } | undefined {
  const { cache, nitroApp, settings } = nitroState()
  if (cache === undefined || nitroApp === undefined || settings === undefined) return undefined
  return { cache, nitroApp, settings }
}

/**
 * Answers `request` from the cache under `translated`: a Response, or undefined when the app should answer
 * it itself (not cacheable, or the cache is not set up).
 */
export async function serveCached(request: Request, translated: TranslatedRule): Promise<Response | undefined> {
  const parts = ready()
  if (parts === undefined) return undefined
  const isr = handlerFor(parts.cache, parts.settings, translated)
  const response = await isr(request, (asked) => (asked === request ? PASS : renderInternal(parts.nitroApp, asked, translated)))
  return response === PASS ? undefined : response
}

/** Derived payloads by the page body's ETag (bounded), so a payload HIT does not parse the page again. */
const derived = new Map<string, string | null>()

/**
 * A Nuxt page's `_payload.json` from the page's cached HTML: the page is looked up (or rendered once, for
 * every instance) exactly as a visit would, and its payload taken from it. Undefined when the app should
 * answer itself (the page is not cached, or its HTML has no inline payload).
 */
export async function servePayload(request: Request, pagePath: string, translated: TranslatedRule): Promise<Response | undefined> {
  const headers = new Headers(request.headers)
  for (const name of ['if-none-match', 'if-modified-since', 'range', 'if-range']) headers.delete(name)
  headers.set('accept', 'text/html')
  const page = new Request(new URL(pagePath, request.url), { method: 'GET', headers })
  const response = await serveCached(page, translated)
  if (response === undefined) return undefined
  if (response.status !== 200 || !(response.headers.get('content-type') ?? '').includes('text/html')) {
    await response.body?.cancel().catch(() => {})
    return undefined
  }
  const html = await response.text()
  const pageEtag = response.headers.get('etag') ?? bodyEtag(new TextEncoder().encode(html))
  let body = derived.get(pageEtag)
  if (body === undefined) {
    body = payloadFromHtml(html) ?? null
    if (derived.size >= 500) derived.clear()
    derived.set(pageEtag, body)
  }
  if (body === null) return undefined
  const etag = `${pageEtag.replace(/"$/, '')}-payload"`
  const out: Record<string, string> = {
    'content-type': 'application/json;charset=utf-8',
    'x-isr-cache': response.headers.get('x-isr-cache') ?? 'MISS',
    age: response.headers.get('age') ?? '0',
    etag,
  }
  const cacheControl = response.headers.get('cache-control')
  if (cacheControl !== null) out['cache-control'] = cacheControl
  if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers: out })
  return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: out })
}

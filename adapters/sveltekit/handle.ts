/**
 * The SvelteKit adapter: a `handle` hook and a `+server.ts` wrapper that map a Kit request onto one call of
 * `createIsrHandler` and back. No freshness logic here: what is stored, when it is stale and who
 * regenerates it are the HTTP layer's and the core's. What this file decides is Kit-specific:
 *
 * - which requests go through the cache (GET/HEAD of a matched route; never a remote function, never one of
 *   our own internal renders);
 * - the key of a page's `__data.json` (client-side navigation): its own entry, under the page's path (so
 *   `revalidatePath('/blog/a')` purges both), told apart by a request header the key varies on;
 * - how a cacheable page is rendered: an in-process `event.fetch` with `credentials: 'omit'` and an internal
 *   marker, never a second `resolve` of the visitor's event (Kit refuses a second `setHeaders`, and the
 *   visitor's cookies would reach the render);
 * - Kit's `cache-control: private, no-store` on every `__data.json`: dropped from the render we store (it is
 *   Kit's blanket default, not the page's choice) and sent to the visitor as Kit would have;
 * - a `__data.json` whose `load` threw (Kit answers 200 with an error node): answered with the error's status,
 *   so it is not stored and a failed regeneration keeps the last good data.
 *
 * Kit's types are not imported (the package must not need `@sveltejs/kit` to load or to type-check): the
 * interfaces below are the part of Kit's API this file uses, and the returned functions are assignable to
 * Kit's `Handle` and `RequestHandler`.
 */
import { randomBytes } from 'node:crypto'
import type { IsrCache } from '../../src/cache.js'
import { IsrCacheError } from '../../src/errors.js'
import { createIsrHandler, type IsrHandler, type IsrHandlerOptions } from '../../src/http/handler.js'
import { freshHit, hitResponse } from '../../src/http/hit.js'
import type { RouteRule } from '../../src/http/routes.js'
import { secretDigest, secretMatches } from '../../src/http/secret.js'

type MaybePromise<T> = T | Promise<T>

/** The part of Kit's `RequestEvent` the adapter reads (and `params`/`locals`, for a `withIsr` handler written inline). */
export interface KitRequestEvent {
  params: Partial<Record<string, string>>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- App.Locals is the app's own type
  locals: any
  request: Request
  url: URL
  fetch: typeof fetch
  route: { id: string | null }
  isDataRequest: boolean
  isSubRequest?: boolean
  isRemoteRequest?: boolean
}

/** Kit's `Handle` input, with `resolve` as a method (so Kit's own, wider types are assignable to it). */
export interface KitHandleInput {
  event: KitRequestEvent
  resolve(event: KitRequestEvent, options?: never): MaybePromise<Response>
}

/** A Kit `Handle`: compose it with `sequence()` from `@sveltejs/kit/hooks`. */
export type KitHandle = (input: KitHandleInput) => Promise<Response>

/** Options of `createIsrHandle`: those of `createIsrHandler` (isr-cache/http). */
export type IsrHandleOptions = IsrHandlerOptions

/** Options of `withIsr`: the cache, the endpoint's rule, and the other options of `createIsrHandler`. */
export interface WithIsrOptions extends RouteRule, Omit<IsrHandlerOptions, 'routes'> {}

/** The request header that marks our own in-process renders, and the header that keys a page's `__data.json`. */
const INTERNAL_HEADER = 'x-isr-cache-internal'
const DATA_HEADER = 'x-isr-cache-sveltekit-data'

/**
 * The marker's value: a secret of this process, so a visitor cannot send it to skip the cache. One per
 * process on a named global, because Kit's build may hold more than one copy of this module (the hook's
 * and an endpoint's chunks), and a `withIsr` endpoint must recognise the hook's renders and vice versa.
 */
const TOKEN_KEY = Symbol.for('isr-cache.sveltekit.internal-token')
function internalToken(): { value: string; digest: Buffer } {
  const holder = globalThis as { [TOKEN_KEY]?: { value: string; digest: Buffer } }
  if (holder[TOKEN_KEY] === undefined) {
    const value = randomBytes(24).toString('hex')
    holder[TOKEN_KEY] = { value, digest: secretDigest(value) }
  }
  return holder[TOKEN_KEY]
}

/** Whether this is one of our own renders (reached through `event.fetch`, carrying this process's token). */
function isInternal(event: KitRequestEvent): boolean {
  const value = event.request.headers.get(INTERNAL_HEADER)
  if (value === null || event.isSubRequest === false) return false
  return secretMatches(value, internalToken().digest)
}

/** Request headers not copied into an internal render (hop-by-hop, or ours). */
const NOT_FORWARDED = ['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'upgrade', 'expect', DATA_HEADER, INTERNAL_HEADER]

/**
 * A cookie-less render of the visitor's URL (a page, its `__data.json`, or an endpoint), in process: Kit
 * runs it through `handle` again as a sub-request, where the marker lets it through uncached.
 * `request` is the HTTP layer's cacheable request: the visitor's headers without cookie, authorization,
 * conditionals or the bypass token.
 */
async function renderInternal(event: KitRequestEvent, request: Request): Promise<Response> {
  const headers = new Headers(request.headers)
  for (const name of NOT_FORWARDED) headers.delete(name)
  headers.set(INTERNAL_HEADER, internalToken().value)
  // event.request.url, not event.url: for a data request it is the __data.json URL Kit was asked for.
  const response = await event.fetch(event.request.url, { method: 'GET', headers, credentials: 'omit', redirect: 'manual' })
  if (!event.isDataRequest) return response
  return failedAsError(withoutKitDefault(response))
}

/**
 * Kit's blanket `cache-control: private, no-store` on every __data.json is not the page's choice: dropped, so
 * the route's rule (or the page's own setHeaders) decides whether it is stored; the visitor gets it back
 * (`forVisitor`).
 */
function withoutKitDefault(response: Response): Response {
  if (response.headers.get('cache-control') !== 'private, no-store') return response
  const copy = new Headers(response.headers)
  copy.delete('cache-control')
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: copy })
}

/** The failed node of a data answer's first line (`{"type":"data","nodes":[…]}`), if a `load` threw. */
function failedNode(line: string): { status: number; error: unknown } | undefined {
  if (!line.includes('"type":"error"')) return undefined
  try {
    const parsed = JSON.parse(line) as { type?: unknown; nodes?: unknown }
    if (parsed.type !== 'data' || !Array.isArray(parsed.nodes)) return undefined
    const node = (parsed.nodes as Array<{ type?: unknown; status?: unknown; error?: unknown } | null>).find((candidate) => candidate?.type === 'error')
    if (node === undefined || node === null) return undefined
    const status = typeof node.status === 'number' && node.status >= 400 && node.status <= 599 ? node.status : 500
    return { status, error: node.error ?? { message: 'Internal Error' } }
  } catch {
    return undefined
  }
}

/**
 * Kit answers a data request whose `load` threw with a 200 holding an error node (the client then shows the
 * error page). Stored, that would replace the page's last good data until the next purge; it is answered
 * instead as Kit's data endpoint answers its own failures, the node's error as JSON with its status (500 for
 * an unexpected error): the HTTP layer does not store it, and a failed regeneration keeps the stale entry.
 * Reads the body up to the end of its first line (the nodes); the rest streams on.
 */
async function failedAsError(response: Response): Promise<Response> {
  if (response.status !== 200 || response.body === null) return response
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  const head: Uint8Array[] = []
  let text = ''
  let done = false
  while (!done && !text.includes('\n')) {
    const next = await reader.read()
    if (next.done) done = true
    else {
      head.push(next.value)
      text += decoder.decode(next.value, { stream: true })
    }
  }
  const end = text.indexOf('\n')
  const failed = failedNode(end === -1 ? text : text.slice(0, end))
  if (failed !== undefined) {
    await reader.cancel().catch(() => {})
    return new Response(JSON.stringify(failed.error), { status: failed.status, headers: { 'content-type': 'application/json' } })
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of head) controller.enqueue(chunk)
      if (done) controller.close()
    },
    async pull(controller) {
      const next = await reader.read()
      if (next.done) controller.close()
      else controller.enqueue(next.value)
    },
    cancel: (reason) => reader.cancel(reason),
  })
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}

/** The answer to a data request carries Kit's own `cache-control` unless the page set one. */
function forVisitor(event: KitRequestEvent, response: Response): Response {
  if (!event.isDataRequest || response.headers.has('cache-control')) return response
  try {
    response.headers.set('cache-control', 'private, no-store')
    return response
  } catch {
    // Immutable headers (a fetch Response): copy.
    const headers = new Headers(response.headers)
    headers.set('cache-control', 'private, no-store')
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers })
  }
}

/** The request the HTTP layer sees: the page's URL (`event.url`), and for `__data.json` the header that keys it apart. */
function cacheRequest(event: KitRequestEvent): Request {
  // The common case (a page or endpoint, no header of ours): the visitor's request as it is. A data header
  // sent by a visitor is removed, or a page's render could be stored under its data key.
  if (!event.isDataRequest && !event.request.headers.has(DATA_HEADER) && event.request.url === event.url.href) return event.request
  const headers = new Headers(event.request.headers)
  headers.delete(DATA_HEADER)
  if (event.isDataRequest) {
    headers.set(DATA_HEADER, dataHeaderValue(event))
  }
  return new Request(event.url, { method: event.request.method, headers })
}

/** The headers the key is read from: the visitor's, with the data header as `cacheRequest` sets it. */
function keyHeaders(event: KitRequestEvent): { get(name: string): string | null } {
  const headers = event.request.headers
  if (!event.isDataRequest && !headers.has(DATA_HEADER)) return headers
  const data = event.isDataRequest ? dataHeaderValue(event) : null
  return { get: (name) => (name === DATA_HEADER ? data : headers.get(name)) }
}

/** The data header's value for a `__data.json` request: which nodes the client asked for change the body. */
function dataHeaderValue(event: KitRequestEvent): string {
  const asked = new URL(event.request.url).searchParams
  return `data;${asked.get('x-sveltekit-invalidated') ?? ''};${asked.get('x-sveltekit-trailing-slash') ?? ''}`
}

/** The user's `vary` plus the data header (anything but an array is left for createIsrHandler to refuse). */
function withDataHeader(vary: string[] | undefined): string[] {
  return vary === undefined ? [DATA_HEADER] : Array.isArray(vary) ? [...vary, DATA_HEADER] : vary
}

/** adapter-node waits for open handles on SIGTERM: close each cache once when Kit shuts down. */
const closing = new WeakSet<IsrCache>()
function closeOnShutdown(cache: IsrCache | undefined): void {
  if (cache === undefined || typeof cache.close !== 'function' || closing.has(cache)) return
  closing.add(cache)
  if (typeof process !== 'undefined' && typeof process.once === 'function') {
    process.once('sveltekit:shutdown' as 'exit', () => {
      void cache.close().catch(() => {})
    })
  }
}

/** One request through the cache: `direct` answers it as Kit would without the cache (this visitor's own render). */
async function throughCache(isr: IsrHandler, event: KitRequestEvent, direct: () => MaybePromise<Response>): Promise<Response> {
  const request = cacheRequest(event)
  const response = await isr(request, (asked) => (asked === request ? direct() : renderInternal(event, asked)))
  return forVisitor(event, response)
}

/**
 * A Kit `handle` hook that serves pages, their `__data.json` and `+server.ts` GET endpoints from the cache.
 * Takes the options of `createIsrHandler`: `routes` say which paths are cached (a page may also opt in from
 * its `load` with `setHeaders({ 'cache-control': 's-maxage=3600', 'cache-tag': 'posts' })`). Non-GET
 * requests, remote functions and unmatched routes pass through. Composes with `sequence()`. Closes the cache
 * on `sveltekit:shutdown`. Throws `IsrCacheError` `E_INVALID_OPTION` for bad options.
 */
export function createIsrHandle(options: IsrHandleOptions): KitHandle {
  const isr = createIsrHandler({ ...options, vary: withDataHeader(options?.vary) })
  closeOnShutdown(options.cache)
  return async function isrHandle({ event, resolve }) {
    const method = event.request.method
    if ((method !== 'GET' && method !== 'HEAD') || event.isRemoteRequest === true || event.route.id === null || isInternal(event)) {
      return resolve(event)
    }
    // A fresh page at hand in process: answered from the URL Kit parsed, with no Request built for it.
    const hit = freshHit(isr, { method, url: event.url, headers: keyHeaders(event) })
    if (hit !== undefined) return forVisitor(event, hitResponse(hit, method, event.request.headers.get('if-none-match')))
    return throughCache(isr, event, () => resolve(event))
  }
}

/**
 * Wraps one `+server.ts` GET handler: `export const GET = withIsr(handler, { cache, revalidate: 60, tags: ['posts'] })`.
 * The same semantics as the hook (cookie-less regeneration through `event.fetch`, Set-Cookie never
 * replayed); the rule applies to every URL of the endpoint (the query is ignored unless `allowQuery` names it).
 * Don't also give the endpoint a rule in `createIsrHandle`'s routes. Throws `IsrCacheError`
 * `E_INVALID_OPTION` for a handler that is not a function, or bad options.
 */
export function withIsr<Event extends KitRequestEvent>(handler: (event: Event) => MaybePromise<Response>, options: WithIsrOptions): (event: Event) => Promise<Response> {
  if (typeof handler !== 'function') {
    throw new IsrCacheError('E_INVALID_OPTION', `withIsr(handler, options): handler must be the +server.ts function to wrap; got ${handler === null ? 'null' : typeof handler}`)
  }
  if (typeof options !== 'object' || options === null) {
    throw new IsrCacheError('E_INVALID_OPTION', 'withIsr(handler, options): pass the options, e.g. withIsr(handler, { cache, revalidate: 60, tags: [\'posts\'] })')
  }
  const { revalidate, expire, tags, allowQuery, ...rest } = options
  const rule: RouteRule = {}
  if (revalidate !== undefined) rule.revalidate = revalidate
  if (expire !== undefined) rule.expire = expire
  if (tags !== undefined) rule.tags = tags
  if (allowQuery !== undefined) rule.allowQuery = allowQuery
  const isr = createIsrHandler({ ...rest, routes: { '/**': rule }, vary: withDataHeader(rest.vary) })
  closeOnShutdown(rest.cache)
  return async function isrEndpoint(event) {
    const method = event.request.method
    if ((method !== 'GET' && method !== 'HEAD') || isInternal(event)) return handler(event)
    return throughCache(isr, event, () => handler(event))
  }
}

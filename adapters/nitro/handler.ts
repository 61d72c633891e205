/**
 * `defineIsrEventHandler(handler, { revalidate, tags })`: one server route through the cache, in the spirit
 * of Nitro's `defineCachedEventHandler`, with tags, purges and cluster-wide single-flight. Auto-imported in
 * server code where the module is installed; importable from `isr-cache/nitro`.
 */
import { compileRoutes, type RouteRule } from '../../src/http/routes.js'
import type { TranslatedRule } from './rules.js'
import { deliver, serveCached, serveFresh, visitorRequest, type H3EventLike } from './serve.js'
import { INTERNAL_HEADER, isInternalRender } from './state.js'

/** Options of `defineIsrEventHandler`. Durations in seconds. */
export interface IsrEventHandlerOptions {
  /** Seconds until an answer is stale (served, and rendered again in the background), or `false`: only a purge. Default: the cache's (`false`). */
  revalidate?: number | false
  /** Seconds until an answer can no longer be served. Default: the cache's (a year). */
  expire?: number
  /** Tags the answers carry, for `revalidateTag` (a `Cache-Tag` response header adds to them). */
  tags?: string[]
  /** Query parameters that make a different answer (part of the key, and passed to the handler). Default: none, the query is ignored. */
  allowQuery?: string[]
}

/** An h3 v1 event handler (what `defineEventHandler` returns); undefined when it answered Node's response itself. */
export type IsrEventHandler<Event, Result> = ((event: Event) => Promise<Result | Response | undefined>) & { __is_handler__: true }

/**
 * Wraps an h3 handler: GET and HEAD answers are served from the cache (HIT, STALE while one regeneration
 * runs cluster-wide, MISS rendered once), rendered in process without the visitor's cookies; other methods
 * reach `handler` directly. Throws `IsrCacheError` `E_INVALID_OPTION` for bad options.
 */
export function defineIsrEventHandler<Event extends H3EventLike, Result>(handler: (event: Event) => Result | Promise<Result>, options: IsrEventHandlerOptions = {}): IsrEventHandler<Event, Result> {
  if (typeof handler !== 'function') throw new TypeError('[isr-cache] defineIsrEventHandler(handler, options): handler must be the function (event) => … to wrap')
  const { revalidate, expire, tags, allowQuery, ...unknown } = options ?? {}
  const rule: RouteRule = {}
  if (revalidate !== undefined) rule.revalidate = revalidate
  if (expire !== undefined) rule.expire = expire
  if (tags !== undefined) rule.tags = tags
  if (allowQuery !== undefined) rule.allowQuery = allowQuery
  // Checked now (a bad option fails the build's first import, not a request); the unknown keys too.
  compileRoutes({ '/**': { ...rule, ...unknown } })
  const translated: TranslatedRule = { rule, passQuery: true }
  const wrapped = async (event: Event): Promise<Result | Response | undefined> => {
    const method = event.method
    // Our own renders (from here or from an `isr` route rule's middleware) reach the handler itself.
    if ((method !== 'GET' && method !== 'HEAD') || isInternalRender(event.headers.get(INTERNAL_HEADER))) return handler(event)
    if (serveFresh(event, translated)) return undefined
    const request = visitorRequest(event)
    const response = request === undefined ? undefined : await serveCached(request, translated)
    if (response === undefined) return handler(event)
    return deliver(event, response)
  }
  return Object.assign(wrapped, { __is_handler__: true as const })
}

/**
 * The isr-cache middleware on Nitro 3 (h3 v2; registered by the module, bundled by Nitro). h3 v2 is
 * web-standard: the visitor's request is `event.req`, the merged route rule is `event.context.routeRules`
 * (Nitro resolves it before any middleware), and an answer is a `Response`. `next()` runs the app; it is
 * what every request without an `isr` rule, and our own renders, get.
 */
import { translatedRule } from '../rule-cache.js'
import { serveCached } from '../serve.js'
import { INTERNAL_HEADER, isInternalRender } from '../state.js'

/** The part of an h3 v2 `H3Event` the middleware reads. */
export interface H3v2EventLike {
  req: Request
  context: { routeRules?: { isr?: unknown } } & Record<string, unknown>
}

/** The visitor's request as a plain `Request` (h3 v2's may be srvx's lazy Node-backed one), or undefined when its URL cannot be one. */
function visitorRequest(event: H3v2EventLike): Request | undefined {
  try {
    return new Request(event.req.url, { method: event.req.method, headers: event.req.headers })
  } catch {
    return undefined
  }
}

async function isrCacheMiddleware3(event: H3v2EventLike, next: () => unknown): Promise<unknown> {
  const method = event.req.method
  if (method !== 'GET' && method !== 'HEAD') return next()
  if (isInternalRender(event.req.headers.get(INTERNAL_HEADER))) return next()
  const rule = translatedRule(event.context.routeRules?.isr)
  if (rule === undefined) return next()
  const request = visitorRequest(event)
  const response = request === undefined ? undefined : await serveCached(request, rule)
  return response ?? next()
}

export default isrCacheMiddleware3

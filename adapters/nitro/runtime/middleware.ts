/// <reference path="./nitropack.d.ts" />
/**
 * The isr-cache server middleware (registered by the module; Nitro bundles this file). A GET or HEAD whose
 * merged route rule (`getRouteRules`) has `isr` is answered from the cache; a Nuxt page's `_payload.json`
 * from its page's entry. Returning nothing lets h3 go on (every other request, and our own renders).
 */
import { getRouteRules } from 'nitropack/runtime'
import { translatedRule } from '../rule-cache.js'
import { payloadPage } from '../rules.js'
import { deliver, serveCached, serveFresh, servePayload, visitorRequest, type H3EventLike } from '../serve.js'
import { INTERNAL_HEADER, isInternalRender, nitroState } from '../state.js'

async function isrCacheMiddleware(event: H3EventLike): Promise<Response | undefined> {
  const method = event.method
  if (method !== 'GET' && method !== 'HEAD') return undefined
  if (isInternalRender(event.headers.get(INTERNAL_HEADER))) {
    // Our render of a Nuxt page: its payload is cut from the HTML (which inlines it whole), so Nuxt's own
    // runtime payload extraction is not wanted. Without `isr` in the rule it reads, Nuxt neither keeps a
    // copy of every payload in a per-process map that never expires, nor fails the render of "/" (Nuxt
    // 4.4 stores its payload under the key "/", which its storage refuses: a 500).
    if (nitroState().settings?.nuxtPayloads) delete getRouteRules(event).isr
    return undefined
  }
  const queryAt = event.path.indexOf('?')
  const pathname = queryAt === -1 ? event.path : event.path.slice(0, queryAt)
  const page = nitroState().settings?.nuxtPayloads ? payloadPage(pathname) : undefined
  // A payload follows its page's rule: the page's entry answers it.
  const rules = page === undefined ? getRouteRules(event) : getRouteRules({ path: page, context: {} })
  const rule = translatedRule(rules.isr)
  if (rule === undefined) return undefined
  if (page === undefined && serveFresh(event, rule)) return undefined
  const request = visitorRequest(event)
  if (request === undefined) return undefined
  const response = page === undefined ? await serveCached(request, rule) : await servePayload(request, page, rule)
  return response === undefined ? undefined : deliver(event, response)
}

export default Object.assign(isrCacheMiddleware, { __is_handler__: true as const })

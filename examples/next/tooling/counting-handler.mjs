/**
 * For `npm run bench:next` and the end-to-end tests: the page `cacheHandler` the app would use
 * (ISR_CACHE_COUNTED_HANDLER, set by next.config.mjs), with its `get` calls counted. The count is served as
 * JSON (`{"gets":n,"byKind":{…}}`) on http://127.0.0.1:<ISR_CACHE_COUNT_GETS_PORT>/, a loopback port the
 * caller chose, so that it can read how many lookups Next made for the requests it sent.
 */
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'

const inner = process.env.ISR_CACHE_COUNTED_HANDLER
const port = Number(process.env.ISR_CACHE_COUNT_GETS_PORT)
if (!inner || !Number.isInteger(port) || port <= 0) {
  throw new Error('tooling/counting-handler.mjs needs ISR_CACHE_COUNTED_HANDLER (a handler module) and ISR_CACHE_COUNT_GETS_PORT (a free port)')
}
const imported = await import(pathToFileURL(inner).href)
const Handler = imported.default?.default ?? imported.default

// Module state survives Next's repeated imports of this file (one module instance per process).
const counts = (globalThis.__isrCacheCountedGets ??= { gets: 0, byKind: {} })
if (!globalThis.__isrCacheCountServer) {
  globalThis.__isrCacheCountServer = createServer((request, response) => {
    if (request.method === 'DELETE') {
      counts.gets = 0
      counts.byKind = {}
    }
    response.setHeader('content-type', 'application/json')
    response.end(JSON.stringify(counts))
  }).listen(port, '127.0.0.1')
  globalThis.__isrCacheCountServer.unref()
}

export default class CountingHandler extends Handler {
  get(key, context) {
    counts.gets += 1
    const kind = context?.kind ?? 'unknown'
    counts.byKind[kind] = (counts.byKind[kind] ?? 0) + 1
    return super.get(key, context)
  }
}

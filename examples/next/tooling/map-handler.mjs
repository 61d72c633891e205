/**
 * For `npm run bench:next` only: the least a Next `cacheHandler` can do, a Map in this process, as the
 * reference for what Next lets any custom handler reach. It keeps what Next hands over (the value, its
 * cacheControl) and answers a page lookup the way isr-cache does by default (`batchPageLookups`):
 * while requests arrive together, no earlier than the end of the event-loop turn it started in, so that
 * Next's response cache can share it with the requests that arrive meanwhile. A handler answering at once gets nothing shared, so the
 * earlier version of this file (no wait) measured a ceiling that was not one. Not a cache to use: one
 * process, no tags, no expiry, no bound.
 */
const entries = (globalThis.__isrCacheBenchMapHandler ??= new Map())

let turn
let together = 0
/**
 * isr-cache's rule (batchPageLookups): hold a page lookup until this turn's check phase when another one
 * started earlier in the turn, or one of the last 8 turns with lookups had several; else answer at once.
 */
function hold() {
  if (turn === undefined) {
    const started = { count: 0 }
    started.ended = new Promise((resolve) =>
      setImmediate(() => {
        together = started.count > 1 ? 8 : Math.max(0, together - 1)
        turn = undefined
        resolve()
      }),
    )
    turn = started
  }
  turn.count += 1
  return together > 0 || turn.count > 1 ? turn.ended : undefined
}

export default class MapCacheHandler {
  async get(key, context) {
    const held = context?.kind === 'FETCH' ? undefined : hold()
    const found = entries.get(key) ?? null
    await held
    return found
  }

  async set(key, value, context) {
    entries.set(key, { value, lastModified: Date.now(), cacheControl: context?.cacheControl })
  }

  async revalidateTag() {}

  resetRequestCache() {}
}

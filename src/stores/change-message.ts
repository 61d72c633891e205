/**
 * The change feed's wire format: one text message per change, the same on every transport (Redis pub/sub in
 * the Redis driver, a user's own pub/sub through the `bus` option, see ../bus.ts). It lives here, beside
 * the `Change` type it encodes, so that drivers and the bus adapter both import it downward.
 *
 *   "<instance id>\nw\n<store key>"      an entry was written or deleted
 *   "<instance id>\np\n<JSON tag list>"  tags were purged
 *
 * Messages are at most once; the cache's L1 re-check bound covers anything lost.
 */
import type { Change, ChangeHandlers } from './driver.js'

export function encodeChange(instanceId: string, change: Change): string {
  return change.type === 'written' ? `${instanceId}\nw\n${change.key}` : `${instanceId}\np\n${JSON.stringify(change.tags)}`
}

/** Decodes a message; undefined for this instance's own messages; 'garbled' for anything unreadable. */
export function decodeChange(instanceId: string, message: string): Change | undefined | 'garbled' {
  const first = message.indexOf('\n')
  const second = message.indexOf('\n', first + 1)
  if (first < 0 || second < 0) return 'garbled'
  if (message.slice(0, first) === instanceId) return undefined
  const kind = message.slice(first + 1, second)
  const payload = message.slice(second + 1)
  if (kind === 'w') return { type: 'written', key: payload }
  if (kind === 'p') {
    try {
      const tags = JSON.parse(payload) as unknown
      if (Array.isArray(tags) && tags.every((tag) => typeof tag === 'string')) return { type: 'purged', tags }
    } catch {
      // fall through
    }
  }
  return 'garbled'
}

/** Delivers a decoded message to the handlers; a garbled one forces a resync rather than being ignored. */
export function deliver(instanceId: string, message: string, handlers: ChangeHandlers): void {
  const change = decodeChange(instanceId, message)
  if (change === 'garbled') handlers.resync()
  else if (change !== undefined) handlers.change(change)
}

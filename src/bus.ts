/**
 * The change feed's wire format, and the adapter that turns a user's own pub/sub (`bus` option) into a
 * change feed. Messages are at most once; the cache's L1 re-check bound covers anything lost.
 *
 *   "<instance id>\nw\n<store key>"      an entry was written or deleted
 *   "<instance id>\np\n<JSON tag list>"  tags were purged
 */
import type { Change, ChangeFeed, ChangeHandlers } from './stores/driver.js'

/** Your own pub/sub for the change feed (NATS, Postgres LISTEN/NOTIFY, a message broker, …). */
export interface IsrCacheBus {
  /** Sends a message to every instance (including, harmlessly, this one). At-most-once delivery is enough. */
  publish(message: string): void | Promise<void>
  /**
   * Starts delivering messages from the other instances to `onMessage`. Call `onLost` whenever messages
   * may have been missed (after a reconnect, say): the cache then drops what it holds locally. Returns a
   * function that stops delivery.
   */
  subscribe(onMessage: (message: string) => void, onLost: () => void): () => void | Promise<void>
}

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

export function busFeed(bus: IsrCacheBus, instanceId: string, handlers: ChangeHandlers): ChangeFeed {
  let unsubscribe: (() => void | Promise<void>) | undefined
  try {
    unsubscribe = bus.subscribe((message) => deliver(instanceId, message, handlers), () => handlers.resync())
  } catch (error) {
    handlers.error(error)
  }
  return {
    publish(change) {
      try {
        Promise.resolve(bus.publish(encodeChange(instanceId, change))).catch((error: unknown) => handlers.error(error))
      } catch (error) {
        handlers.error(error)
      }
    },
    async close() {
      await unsubscribe?.()
    },
  }
}

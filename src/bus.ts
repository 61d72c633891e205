/**
 * The adapter that turns a user's own pub/sub (`bus` option) into a change feed, speaking the same wire
 * format as the Redis driver (stores/change-message.ts). Messages are at most once; the cache's L1 re-check
 * bound covers anything lost.
 */
import { deliver, encodeChange } from './stores/change-message.js'
import type { ChangeFeed, ChangeHandlers } from './stores/driver.js'

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

/** A change feed over the user's bus: publishes this instance's changes, delivers the others'. */
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

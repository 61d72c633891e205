/**
 * A change feed whose purges and deletes are acknowledged (issue 15), over any pub/sub transport that says
 * how many subscriptions received a message: Redis's PUBLISH reply (stores/redis.ts), or SPUBLISH on a
 * Redis Cluster shard. The publisher waits (../purge-acks.ts) until every subscription that received the
 * change has answered: its own (the copy coming back) and every other instance's acknowledgement, which a
 * receiver sends only after its handler has applied the change (handlers are synchronous).
 */
import { PurgeAcks, type PurgeResult } from '../purge-acks.js'
import { timeout } from '../timers.js'
import { decodeAck, decodeMessage, encodeAck, encodeChange } from './change-message.js'
import type { Change, ChangeFeed, ChangeHandlers } from './driver.js'

/** What an acknowledged feed needs from a transport. */
export interface AckTransport {
  /** Publishes on the shared change channel; resolves how many subscriptions received it (this one's included). */
  broadcast(message: string): Promise<number>
  /** Sends a message to one instance's ack channel (`ackChannel(channel, instanceId)`). */
  reply(instanceId: string, message: string): Promise<unknown>
  /** Whether this instance's own subscription to the change channel is open now. */
  subscribed(): boolean
  /** Resolves once this instance's subscriptions (change and ack channels) are in place, or failed. */
  readonly ready: Promise<unknown>
}

/** The channel on which an instance hears the acknowledgements of its own purges and deletes. */
export function ackChannel(channel: string, instanceId: string): string {
  return `${channel}:ack:${instanceId}`
}

/** The feed, plus the two message listeners the transport's subscription calls. */
export interface AckedFeed {
  feed: ChangeFeed
  /** A message on the shared change channel. */
  onChange(message: string): void
  /** A message on this instance's ack channel. */
  onAck(message: string): void
}

export function ackedFeed(instanceId: string, transport: AckTransport, handlers: ChangeHandlers): AckedFeed {
  const acks = new PurgeAcks()
  let closed = false
  let listening = false
  transport.ready.then(
    () => (listening = true),
    () => {},
  )
  // A publish or acknowledgement still in flight when the cache closes fails with the connection: not news.
  const fail = (error: unknown): void => {
    if (!closed) handlers.error(error)
  }

  async function publishAcknowledged(change: Change, timeoutMs: number): Promise<PurgeResult> {
    if (closed) return { acknowledged: 0, live: undefined, complete: false }
    // Not listening for acknowledgements yet (first purge after start-up): wait, within the same bound.
    if (!listening) await timeout(transport.ready.catch(() => {}), timeoutMs, () => undefined)
    const { id, result } = acks.begin(timeoutMs)
    transport.broadcast(encodeChange(instanceId, change, id)).then(
      (received) => acks.published(id, received, transport.subscribed()),
      (error: unknown) => {
        acks.failed(id)
        fail(error)
      },
    )
    return result
  }

  return {
    feed: {
      publish(change) {
        if (!closed) transport.broadcast(encodeChange(instanceId, change)).catch(fail)
      },
      publishAcknowledged,
      async close() {
        closed = true
        acks.finishAll()
      },
    },
    onChange(message) {
      const decoded = decodeMessage(message)
      if (decoded === 'garbled') return handlers.resync()
      if (decoded.from === instanceId) {
        if (decoded.ackId !== undefined) acks.selfReceived(decoded.ackId)
        return
      }
      handlers.change(decoded.change) // applied synchronously: only then is it acknowledged
      if (decoded.ackId !== undefined && !closed) transport.reply(decoded.from, encodeAck(instanceId, decoded.ackId)).catch(fail)
    },
    onAck(message) {
      const ack = decodeAck(message)
      if (ack !== undefined) acks.acknowledged(ack.ackId, ack.from)
    },
  }
}

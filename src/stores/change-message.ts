/**
 * The change feed's wire format: one text message per change, the same on every transport (Redis pub/sub in
 * the Redis driver, a user's own pub/sub through the `bus` option, see ../bus.ts). It lives here, beside
 * the `Change` type it encodes, so that drivers and the bus adapter both import it downward.
 *
 *   "<instance id>\nw\n<store key>"          an entry was written
 *   "<instance id>\np\n<JSON tag list>"      tags were purged
 *   "<instance id>\nd\n<store key>"          an entry was deleted
 *   "<instance id>\nD<ack id>\n<store key>"  the same (or W, P), and the sender waits for an acknowledgement
 *   "<instance id>\nP<ack id>\n<JSON tags>"  (see ../purge-acks.ts); an older receiver finds d, D and P
 *                                            garbled, and so resyncs: still safe
 *
 * An acknowledgement goes to the sender's own ack channel: "<receiver's instance id>\n<ack id>".
 * Messages are at most once; the cache's L1 re-check bound covers anything lost.
 */
import type { Change, ChangeHandlers } from './driver.js'

/** A decoded message: who sent it, what changed, and the id to acknowledge it with (if the sender waits). */
export interface ChangeMessage {
  from: string
  change: Change
  ackId: string | undefined
}

/** The kind letter of each change: lower case when nobody waits for an acknowledgement. */
const KINDS = { written: 'w', deleted: 'd', purged: 'p' } as const

export function encodeChange(instanceId: string, change: Change, ackId?: string): string {
  const kind = ackId === undefined ? KINDS[change.type] : `${KINDS[change.type].toUpperCase()}${ackId}`
  return `${instanceId}\n${kind}\n${change.type === 'purged' ? JSON.stringify(change.tags) : change.key}`
}

/** Decodes any message, this instance's own included; 'garbled' for anything unreadable. */
export function decodeMessage(message: string): ChangeMessage | 'garbled' {
  const first = message.indexOf('\n')
  const second = message.indexOf('\n', first + 1)
  if (first < 0 || second < 0) return 'garbled'
  const from = message.slice(0, first)
  const kind = message.slice(first + 1, second)
  const payload = message.slice(second + 1)
  const ackId = kind.length > 1 ? kind.slice(1) : undefined
  if (ackId !== undefined && !/^\d{1,15}$/.test(ackId)) return 'garbled'
  if (kind === 'w' || kind[0] === 'W') return { from, change: { type: 'written', key: payload }, ackId }
  if (kind === 'd' || kind[0] === 'D') return { from, change: { type: 'deleted', key: payload }, ackId }
  if (kind === 'p' || kind[0] === 'P') {
    try {
      const tags = JSON.parse(payload) as unknown
      if (Array.isArray(tags) && tags.every((tag) => typeof tag === 'string')) return { from, change: { type: 'purged', tags }, ackId }
    } catch {
      // fall through
    }
  }
  return 'garbled'
}

/** Decodes a message; undefined for this instance's own messages; 'garbled' for anything unreadable. */
export function decodeChange(instanceId: string, message: string): Change | undefined | 'garbled' {
  const decoded = decodeMessage(message)
  if (decoded === 'garbled') return decoded
  return decoded.from === instanceId ? undefined : decoded.change
}

/** Delivers a decoded message to the handlers; a garbled one forces a resync rather than being ignored. */
export function deliver(instanceId: string, message: string, handlers: ChangeHandlers): void {
  const change = decodeChange(instanceId, message)
  if (change === 'garbled') handlers.resync()
  else if (change !== undefined) handlers.change(change)
}

export function encodeAck(instanceId: string, ackId: string): string {
  return `${instanceId}\n${ackId}`
}

/** An acknowledgement: which instance applied which of this instance's changes; undefined if unreadable. */
export function decodeAck(message: string): { from: string; ackId: string } | undefined {
  const newline = message.indexOf('\n')
  if (newline <= 0) return undefined
  const ackId = message.slice(newline + 1)
  return /^\d{1,15}$/.test(ackId) ? { from: message.slice(0, newline), ackId } : undefined
}

/**
 * The bookkeeping of acknowledged purges (issue 15): a purge or delete published on the change feed waits
 * until every instance that received it has applied it, or until `purgeAckTimeout` passes. The transport
 * says how many subscriptions received the message (Redis's PUBLISH reply); each receiver applies the change
 * and then acknowledges it with the publisher's purge id. Acknowledgements may arrive before the publish
 * reply does, twice, late, or from an instance nobody expected: only distinct, timely ones count.
 */
import type { Change, PurgeResult } from './stores/driver.js'

export type { PurgeResult } from './stores/driver.js'

/** What purges and deletes made here tell the other instances through (InstanceSync, in sync.ts). */
export interface Announcer {
  /** Fire and forget (writes). */
  publish(change: Change): void
  /** Purges and deletes: resolves once the other live instances applied the change, or at the bound. */
  announce(change: Change): Promise<PurgeResult> | PurgeResult
  /** Before serving from what this instance holds: a promise to wait for first if a change may be unapplied. */
  vouch(at?: number): Promise<void> | undefined
}

/** One publication waiting for its acknowledgements. */
interface Pending {
  /** Instance ids that acknowledged (a duplicate counts once). */
  readonly from: Set<string>
  /** Whether this instance's own subscription received the message (it counts in the publish reply). */
  self: boolean
  /** How many subscriptions received it (the publish reply), once known. */
  received: number | undefined
  /** Whether this instance's own subscription was open at the publish (so counted in `received`). */
  selfSubscribed: boolean
  readonly settle: (result: PurgeResult) => void
}

export class PurgeAcks {
  /** Publications waiting, by purge id. */
  readonly #pending = new Map<string, Pending>()
  /** Makes purge ids unique within this instance (acks come back on this instance's own channel). */
  #sequence = 0

  /** Publications still waiting (for tests and close()). */
  get waiting(): number {
    return this.#pending.size
  }

  /**
   * Starts waiting for the acknowledgements of a publication: returns its id (to put in the message) and
   * the promise of its result, which settles when `received` (see `published`) is reached, or at `timeoutMs`.
   */
  begin(timeoutMs: number): { id: string; result: Promise<PurgeResult> } {
    const id = String(++this.#sequence)
    let settle!: (result: PurgeResult) => void
    const result = new Promise<PurgeResult>((resolve) => (settle = resolve))
    // Referenced: the purge's caller awaits this (a script must not exit before it answers). Bounded by
    // purgeAckTimeout, and cleared as soon as every acknowledgement is in. On time, it finishes in the check
    // phase: if this process's loop stood still past the bound, the acknowledgements that came meanwhile
    // wait unread in their socket, and timers run before the poll phase that reads them.
    const timer = setTimeout(() => setImmediate(() => this.#finish(id)), timeoutMs)
    this.#pending.set(id, {
      from: new Set(),
      self: false,
      received: undefined,
      selfSubscribed: true,
      settle: (value) => {
        clearTimeout(timer)
        settle(value)
      },
    })
    return { id, result }
  }

  /** The transport's count of subscriptions that received the message (this instance's own included, if open). */
  published(id: string, received: number, selfSubscribed: boolean): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    pending.received = received
    pending.selfSubscribed = selfSubscribed
    this.#check(id, pending)
  }

  /** This instance's own subscription received its own message. */
  selfReceived(id: string): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    pending.self = true
    this.#check(id, pending)
  }

  /** Another instance applied the change. Unknown or finished ids (late acks) are ignored. */
  acknowledged(id: string, instanceId: string): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    pending.from.add(instanceId)
    this.#check(id, pending)
  }

  /** The publish itself failed: nobody else heard of the change. */
  failed(id: string): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    this.#pending.delete(id)
    pending.settle({ acknowledged: pending.from.size, live: undefined, complete: false })
  }

  /** Settles every publication now with what it has (closing the cache). */
  finishAll(): void {
    for (const id of [...this.#pending.keys()]) this.#finish(id)
  }

  #check(id: string, pending: Pending): void {
    if (pending.received === undefined) return
    if (pending.from.size + (pending.self ? 1 : 0) >= pending.received) this.#finish(id)
  }

  /** Settles a publication: complete when every subscription that received it answered. */
  #finish(id: string): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    this.#pending.delete(id)
    const { received, from, self } = pending
    if (received === undefined) {
      pending.settle({ acknowledged: from.size, live: undefined, complete: false })
      return
    }
    // The own subscription counts in `received` when it was open, whether or not its copy came back yet.
    const live = Math.max(from.size, received - (self || pending.selfSubscribed ? 1 : 0))
    pending.settle({ acknowledged: from.size, live, complete: from.size + (self ? 1 : 0) >= received })
  }
}

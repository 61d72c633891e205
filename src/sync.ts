/**
 * Keeping instances in step (DESIGN §6): the change feed between instances sharing a store (the store's
 * own, such as Redis pub/sub or SQLite's change counter, or the user's `bus`). Another instance's write
 * drops this instance's L1 copy and wakes callers waiting for it; its purge drops the tags' cached records;
 * a possible loss of messages drops everything held locally. Messages are at most once: the L1 and
 * tag-record re-check bounds cover what is lost. Purges and deletes are announced and confirmed (`announce`):
 * they resolve once every live instance applied them, or after `purgeAckTimeout`; an instance that may have
 * missed one (its event loop stood still) catches up before serving (stall-guard.ts). The guarantee, per store:
 * docs/concepts/tiers-and-bus.md.
 */
import { busFeed, type IsrCacheBus } from './bus.js'
import { IsrCacheError, describeError } from './errors.js'
import type { L1Tier } from './l1-tier.js'
import type { Waiters } from './leases.js'
import type { Announcer, PurgeResult } from './purge-acks.js'
import { StallGuard } from './stall-guard.js'
import type { Change, ChangeFeed } from './stores/driver.js'
import type { StoreStack } from './store-stack.js'
import type { TagRecords } from './tag-records.js'
import type { Telemetry } from './telemetry.js'

/** What a change from another instance touches here. */
export interface SyncedParts {
  l1: L1Tier | undefined
  tags: TagRecords
  waiters: Waiters
  telemetry: Telemetry
}

/** The memory store is one instance: nobody else to tell, nothing else can serve a purged entry. */
const ALONE: PurgeResult = { acknowledged: 0, live: 0, complete: true }
/** A shared store without any feed (a keyv store without a `bus`): the others notice within their bounds. */
const UNCONFIRMED: PurgeResult = { acknowledged: 0, live: undefined, complete: false }
// (Both are copied before they reach a caller, who may change what it is given.)

export class InstanceSync implements Announcer {
  /** The open feed; undefined for the memory store (one instance) and for a store without a feed or bus. */
  #feed: ChangeFeed | undefined
  /** Whether the store is in this process only (the memory store). */
  #alone = false
  /** How long `announce` waits for acknowledgements, in ms (`purgeAckTimeout`). */
  #ackTimeoutMs = 0
  /** Lets lookups catch up after the event loop stood still (only on a feed with acknowledgements). */
  #stallGuard: StallGuard | undefined
  /** Whether the cache's clock is Date.now, so that a lookup's own reading of it can be reused. */
  #clockIsDateNow = false

  /** Tells the other instances about a change made here (nothing without a feed). Fire and forget. */
  publish(change: Change): void {
    this.#feed?.publish(change)
  }

  /**
   * Tells the other instances about a purge or delete made here, and resolves once every live one has
   * applied it (or `purgeAckTimeout` passed), with how many acknowledged out of how many were live.
   */
  announce(change: Change): Promise<PurgeResult> | PurgeResult {
    const feed = this.#feed
    if (feed === undefined) return { ...(this.#alone ? ALONE : UNCONFIRMED) }
    if (feed.publishAcknowledged !== undefined) return feed.publishAcknowledged(change, this.#ackTimeoutMs)
    feed.publish(change)
    return { ...UNCONFIRMED }
  }

  /**
   * Before serving from L1 or cached tag records (`at`: the lookup's reading of the cache's clock, reused
   * when that clock is Date.now): undefined when that is safe now, else a promise to wait
   * for first, because this instance may not have applied a change that another instance's purge or delete
   * has already returned for. (SQLite's feed resyncs here at once instead.)
   */
  vouch(at?: number): Promise<void> | undefined {
    this.#feed?.vouch?.()
    const guard = this.#stallGuard
    if (guard === undefined) return undefined
    return guard.check(at !== undefined && this.#clockIsDateNow ? at : Date.now())
  }

  /** Subscribes to the other instances' changes. Called once, when the parts it updates exist. */
  open(store: StoreStack, bus: IsrCacheBus | undefined, instanceId: string, parts: SyncedParts, ack: { timeoutMs: number; now: () => number }): void {
    const ackTimeoutMs = ack.timeoutMs
    this.#clockIsDateNow = ack.now === Date.now
    const { driver, memory, namespacePrefix } = store
    const watch = bus !== undefined ? (id: string, handlers: Parameters<typeof busFeed>[2]) => busFeed(bus, id, handlers) : driver.watch?.bind(driver)
    this.#alone = memory !== undefined
    this.#ackTimeoutMs = ackTimeoutMs
    if (memory !== undefined || !watch) return
    const { l1, tags, waiters, telemetry } = parts
    const resync = (): void => {
      l1?.clear()
      tags.clear()
    }
    this.#feed = watch(instanceId, {
      change(change) {
        if (change.type === 'written' || change.type === 'deleted') {
          // A delete also stops a read under way from refilling L1 with the deleted entry.
          if (change.key.startsWith(namespacePrefix)) l1?.forget(change.key.slice(namespacePrefix.length), change.type === 'deleted')
          waiters.wake(change.key)
        } else {
          tags.forget(change.tags)
        }
      },
      resync,
      error(error) {
        telemetry.report(new IsrCacheError('E_STORE_READ', `the change feed of the ${store.resolved.name} store failed: ${describeError(error)}`, { cause: error }))
      },
    })
    // Half the bound: see "The guarantee" in docs/concepts/tiers-and-bus.md for why that is enough.
    // (A feed that vouches, SQLite's, asks the store itself and needs no guard.)
    if (this.#feed.publishAcknowledged !== undefined && this.#feed.vouch === undefined) this.#stallGuard = new StallGuard(ackTimeoutMs / 2)
  }

  async close(): Promise<void> {
    this.#stallGuard?.close()
    await this.#feed?.close()
  }
}

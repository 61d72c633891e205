/**
 * Keeping instances in step (DESIGN §6): the change feed between instances sharing a store (the store's
 * own, such as Redis pub/sub or SQLite's change counter, or the user's `bus`). Another instance's write
 * drops this instance's L1 copy and wakes callers waiting for it; its purge drops the tags' cached records;
 * a possible loss of messages drops everything held locally. Messages are at most once: the L1 and
 * tag-record re-check bounds cover what is lost.
 */
import { busFeed, type IsrCacheBus } from './bus.js'
import { IsrCacheError, describeError } from './errors.js'
import type { L1Tier } from './l1-tier.js'
import type { Waiters } from './leases.js'
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

export class InstanceSync implements Pick<ChangeFeed, 'publish'> {
  /** The open feed; undefined for the memory store (one instance) and for a store without a feed or bus. */
  #feed: ChangeFeed | undefined

  /** Tells the other instances about a change made here (nothing without a feed). Fire and forget. */
  publish(change: Change): void {
    this.#feed?.publish(change)
  }

  /** Subscribes to the other instances' changes. Called once, when the parts it updates exist. */
  open(store: StoreStack, bus: IsrCacheBus | undefined, instanceId: string, parts: SyncedParts): void {
    const { driver, memory, namespacePrefix } = store
    const watch = bus !== undefined ? (id: string, handlers: Parameters<typeof busFeed>[2]) => busFeed(bus, id, handlers) : driver.watch?.bind(driver)
    if (memory !== undefined || !watch) return
    const { l1, tags, waiters, telemetry } = parts
    this.#feed = watch(instanceId, {
      change(change) {
        if (change.type === 'written') {
          if (change.key.startsWith(namespacePrefix)) l1?.forget(change.key.slice(namespacePrefix.length))
          waiters.wake(change.key)
        } else {
          tags.forget(change.tags)
        }
      },
      resync() {
        l1?.clear()
        tags.clear()
      },
      error(error) {
        telemetry.report(new IsrCacheError('E_STORE_READ', `the change feed of the ${store.resolved.name} store failed: ${describeError(error)}`, { cause: error }))
      },
    })
  }

  async close(): Promise<void> {
    await this.#feed?.close()
  }
}

/**
 * Tag records (DESIGN §4): one small purge record per tag, `{ staleAt, expiredAt }`, written by a purge
 * and compared with an entry's lastModified on every read. A shared store's records are cached here for
 * `tagCacheTtl`, so a hit reads none; purges made here and the change feed drop them sooner. An epoch
 * keeps a read that raced with a purge from caching what it read before the purge.
 */
import type { Announcer, PurgeResult } from './purge-acks.js'
import type { TagRecord } from './freshness.js'
import { BoundedMap } from './lru.js'
import type { Settings } from './settings.js'
import { isSkipped, type StoreStack } from './store-stack.js'
import type { Telemetry } from './telemetry.js'

export class TagRecords {
  /** Records read from a shared store, with when they were read: reused while younger than tagCacheTtl. */
  readonly #cache = new BoundedMap<{ record: TagRecord | undefined; readAt: number }>(100_000)
  /** Bumped by every purge and feed message: a read that started before one must not cache its answer. */
  #epoch = 0
  /** The configuration (durations in ms, the clock). */
  readonly #settings: Settings
  /** Reads and merges records (the memory driver's synchronously). */
  readonly #store: StoreStack
  /** Tells the other instances about a purge made here, and confirms they applied it. */
  readonly #feed: Announcer
  /** Where counters, events and handled errors go. */
  readonly #telemetry: Telemetry

  constructor(settings: Settings, store: StoreStack, feed: Announcer, telemetry: Telemetry) {
    this.#settings = settings
    this.#store = store
    this.#feed = feed
    this.#telemetry = telemetry
  }

  /** Tag records held locally and young enough, or undefined if any must be read from the store. */
  recordsSync(tags: readonly string[], at: number): Array<TagRecord | undefined> | undefined {
    const memory = this.#store.memory
    if (memory !== undefined) return memory.readTagsSync(tags)
    // (The Reader vouched for what this instance holds before it got here: see Reader.lookup and l1Get.)
    const records: Array<TagRecord | undefined> = []
    for (const tag of tags) {
      const cached = this.#cache.get(tag)
      if (cached === undefined || at - cached.readAt >= this.#settings.tagCacheMs) return undefined
      records.push(cached.record)
    }
    return records
  }

  /** Tag records, from the local cache while younger than tagCacheTtl, else from the store in one call. */
  async records(tags: readonly string[], at: number): Promise<Array<TagRecord | undefined>> {
    if (this.#store.memory === undefined) await this.#feed.vouch()
    const missing: string[] = []
    for (const tag of tags) {
      const cached = this.#cache.get(tag)
      if (cached === undefined || at - cached.readAt >= this.#settings.tagCacheMs) missing.push(tag)
    }
    if (missing.length > 0) {
      const epoch = this.#epoch
      try {
        const records = await this.#store.driver.readTags(missing)
        if (epoch === this.#epoch) missing.forEach((tag, i) => this.#cache.set(tag, { record: records[i], readAt: at }))
        else return tags.map((tag) => records[missing.indexOf(tag)] ?? this.#cache.get(tag)?.record)
      } catch (error) {
        // Serve with the records last seen: a purge may show late, but the page stays up. (A skipped call
        // while the circuit is open was reported once, when it opened.)
        if (!isSkipped(error)) this.#telemetry.report(this.#store.error(error, 'E_STORE_READ', 'reading tag records failed'))
      }
    }
    return tags.map((tag) => this.#cache.get(tag)?.record)
  }

  /**
   * Writes a purge (`expire` seconds of soft window, 0 for hard) into the tags' records in the store, then
   * tells the other instances and waits until they applied it (or `purgeAckTimeout` passed). A purge that
   * did not happen must not look like one that did: a store failure is reported and thrown.
   */
  async purge(tags: string[], expire: number): Promise<PurgeResult> {
    try {
      await this.#store.driver.purgeTags(tags, this.#settings.now(), expire, this.#settings.maxExpireMs)
    } catch (error) {
      const failure = this.#store.error(error, 'E_STORE_WRITE', `purging ${tags.length} tag(s) failed`)
      this.#telemetry.report(failure)
      throw failure
    } finally {
      // Re-read these tags' records on next use, and drop reads that raced with this purge.
      this.forget(tags)
    }
    const confirmed = await this.#feed.announce({ type: 'purged', tags })
    this.#telemetry.stats.purges += 1
    this.#telemetry.emit({ type: 'purge', tags, expire, ...confirmed })
    return confirmed
  }

  /** These tags were purged (here or by another instance): read their records again on next use. */
  forget(tags: readonly string[]): void {
    this.#epoch += 1
    for (const tag of tags) this.#cache.delete(tag)
  }

  /** Purges may have been missed (the feed was lost): read every record again on next use. */
  clear(): void {
    this.#cache.clear()
    this.#epoch += 1
  }
}

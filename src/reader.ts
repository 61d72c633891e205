/**
 * The read path (DESIGN §3, §6): find an entry (a regeneration still landing, the memory store, a young
 * L1 entry, else the store), then judge it against its tags' purge records with the pure `classify`.
 * Where everything is at hand in process, no promise is made: `memoryGet` and `l1Get` are the hit paths
 * `cache.get` takes, and `lookup` the one `getOrSet` takes.
 */
import { decodeEntry, envelopeSignature, type Entry } from './codec.js'
import { withAllTags, type Held } from './entry.js'
import { IsrCacheError } from './errors.js'
import type { Eviction } from './eviction.js'
import { classify, type TagRecord } from './freshness.js'
import type { L1Slot, L1Tier } from './l1-tier.js'
import type { Settings } from './settings.js'
import type { ReadResult } from './stores/driver.js'
import { isSkipped, type StoreStack } from './store-stack.js'
import type { Announcer } from './purge-acks.js'
import type { TagRecords } from './tag-records.js'
import type { Telemetry } from './telemetry.js'
import type { CacheResult } from './types.js'

/** What a lookup found: an entry that may be served, fresh or stale; undefined for missing or expired. */
export type Lookup = { held: Held; state: 'fresh' | 'stale' } | undefined

const NO_RECORDS: ReadonlyArray<TagRecord | undefined> = []

export class Reader {
  /** The configuration (durations in ms, the clock). */
  readonly #settings: Settings
  /** The memory driver's synchronous reads, or the guarded driver's. */
  readonly #store: StoreStack
  /** The L1 tier, where there is one: consulted before the store, refilled by every store read. */
  readonly #l1: L1Tier | undefined
  /** Purge records of the entry's tags, at hand or read in one call. */
  readonly #tags: TagRecords
  /** Every store read may slide the entry's eviction time (throttled). */
  readonly #eviction: Eviction
  /** Read-your-writes: regenerated entries whose store write is under way (kept by Writes), found first. */
  readonly #landing: ReadonlyMap<string, Held>
  /** Where counters, events and handled errors go. */
  readonly #telemetry: Telemetry
  /** Asked before serving from L1: resyncs first if this instance may have missed another's purge or delete. */
  readonly #sync: Pick<Announcer, 'vouch'>

  constructor(
    settings: Settings,
    store: StoreStack,
    l1: L1Tier | undefined,
    tags: TagRecords,
    eviction: Eviction,
    landing: ReadonlyMap<string, Held>,
    telemetry: Telemetry,
    sync: Pick<Announcer, 'vouch'>,
  ) {
    this.#settings = settings
    this.#store = store
    this.#l1 = l1
    this.#tags = tags
    this.#eviction = eviction
    this.#landing = landing
    this.#telemetry = telemetry
    this.#sync = sync
  }

  /** Whether regenerated entries are landing: while none is, `get` may take the hit paths below. */
  get anyLanding(): boolean {
    return this.#landing.size > 0
  }

  /** `get` on the memory store, with nothing landing: the hot path, kept to the minimum of work. */
  memoryGet<T>(key: string): CacheResult<T> | undefined {
    const memory = this.#store.memory!
    const at = this.#settings.now()
    const entry = memory.readAt(key, at, at + this.#settings.evictMs)
    let state: 'fresh' | 'stale' | 'expired' = 'expired'
    if (entry !== undefined) {
      const held = withAllTags(entry)
      state = classify(held, held.allTags.length === 0 ? NO_RECORDS : memory.readTagsSync(held.allTags), at)
    }
    return this.answer(key, entry, state)
  }

  /**
   * `get` answered from a young L1 entry whose tag records are at hand, with nothing landing: no promise,
   * no store. Undefined when the slow path must answer.
   */
  l1Get<T>(key: string): { result: CacheResult<T> | undefined } | undefined {
    const at = this.#settings.now()
    // First: vouching may drop L1 (SQLite, when another process committed).
    if (this.#sync.vouch(at) !== undefined) return undefined
    const cached = this.#l1!.get(key)
    if (cached === undefined) return undefined
    if (at - cached.checkedAt >= this.#l1!.maxAgeMs) return undefined
    const held = cached.held
    const records = held.allTags.length === 0 ? NO_RECORDS : this.#tags.recordsSync(held.allTags, at)
    if (records === undefined) return undefined
    this.#telemetry.stats.l1Hits += 1
    return { result: this.answer(key, held, classify(held, records, at)) }
  }

  /**
   * A fresh entry answered in process (the memory store, or a young L1 entry whose tag records are at hand),
   * counted as a hit; undefined, counting nothing, for anything else (the caller goes on to `getOrSet`,
   * which counts it). For adapters' HIT paths: no promise, no options to check. Nothing may be landing.
   */
  peekFresh<T>(key: string): CacheResult<T> | undefined {
    const at = this.#settings.now()
    let held: Held | undefined
    const memory = this.#store.memory
    if (memory !== undefined) {
      const entry = memory.readAt(key, at, at + this.#settings.evictMs)
      held = entry === undefined ? undefined : withAllTags(entry)
    } else {
      // First, as in l1Get: a stall to catch up with, or another process's commit (SQLite), is the slow path's.
      if (this.#sync.vouch(at) !== undefined) return undefined
      const cached = this.#l1?.get(key)
      if (cached === undefined || at - cached.checkedAt >= this.#l1!.maxAgeMs) return undefined
      held = cached.held
    }
    if (held === undefined) return undefined
    const records = held.allTags.length === 0 ? NO_RECORDS : memory !== undefined ? memory.readTagsSync(held.allTags) : this.#tags.recordsSync(held.allTags, at)
    if (records === undefined || classify(held, records, at) !== 'fresh') return undefined
    if (memory === undefined) this.#telemetry.stats.l1Hits += 1
    return this.answer(key, held, 'fresh')
  }

  /** Counts a lookup and builds what `get` returns. */
  answer<T>(key: string, entry: Entry | undefined, state: 'fresh' | 'stale' | 'expired'): CacheResult<T> | undefined {
    if (state === 'expired') {
      this.#telemetry.tally(key, 'miss')
      return undefined
    }
    const status = state === 'fresh' ? 'hit' : 'stale'
    this.#telemetry.tally(key, status)
    return { value: entry!.value as T, status, lastModified: entry!.lastModified, tags: entry!.tags }
  }

  /**
   * Finds an entry: a regeneration still landing, the memory store, a young L1 entry (all without a
   * promise where the tag records are at hand), else the store.
   */
  lookup(key: string, extraTags?: readonly string[]): Lookup | Promise<Lookup> {
    // Before anything held locally (L1, cached tag records, a landing entry's records) is trusted.
    const at = this.#settings.now()
    const unvouched = this.#sync.vouch(at)
    if (unvouched !== undefined) return unvouched.then(() => this.lookup(key, extraTags))
    const landed = this.#landing.get(key)
    if (landed !== undefined) return this.judge(landed, at, extraTags)
    const memory = this.#store.memory
    if (memory !== undefined) {
      const entry = memory.readAt(key, at, at + this.#settings.evictMs)
      return entry === undefined ? undefined : this.judge(withAllTags(entry), at, extraTags)
    }
    const k = this.#store.storeKey(key)
    const cached = this.#l1?.get(key)
    if (cached !== undefined && at - cached.checkedAt < this.#l1!.maxAgeMs) {
      this.#telemetry.stats.l1Hits += 1
      return this.judge(cached.held, at, extraTags)
    }
    return this.#readThrough(key, k, at, cached, extraTags)
  }

  /** Fresh, stale or expired (undefined), by the entry's own times and its tags' purge records. */
  judge(held: Held, at: number, extraTags?: readonly string[]): Lookup | Promise<Lookup> {
    const tags = extraTags === undefined ? held.allTags : [...held.allTags, ...extraTags]
    // classify() reads the tags to check from meta.allTags; pass read-time tags along the same way.
    const meta = extraTags === undefined ? held : { ...held, allTags: tags }
    const decide = (records: ReadonlyArray<TagRecord | undefined>): Lookup => {
      const state = classify(meta, records, at)
      return state === 'expired' ? undefined : { held, state }
    }
    if (tags.length === 0) return decide(NO_RECORDS)
    const records = this.#tags.recordsSync(tags, at)
    if (records !== undefined) return decide(records)
    return this.#tags.records(tags, at).then(decide)
  }

  /** Reads the store (sliding the eviction time when due), decodes unless L1 holds these very bytes, refills L1. */
  async #readThrough(key: string, k: string, at: number, cached: L1Slot | undefined, extraTags?: readonly string[]): Promise<Lookup> {
    const previous = cached?.held
    const underWay = this.#l1?.readStarted(key)
    let read: ReadResult
    try {
      read = await this.#store.driver.read(k, this.#eviction.touchPolicy(k, at))
    } catch (error) {
      if (underWay !== undefined) this.#l1!.readDone(key, underWay)
      if (!isSkipped(error)) this.#telemetry.report(this.#store.error(error, 'E_STORE_READ', `reading "${key}" failed; served as a miss`, key))
      // Fail open: the store cannot say; what this instance holds is still the best answer.
      return previous === undefined ? undefined : this.judge(previous, at, extraTags)
    }
    // Entries dropped while this read was under way (another instance's delete, a resync) are not refilled.
    const keep = underWay === undefined || this.#l1!.readDone(key, underWay)
    if (read === undefined) {
      this.#l1?.forget(key)
      return undefined
    }
    let held: Held
    if ('entry' in read) held = withAllTags(read.entry)
    else if (previous !== undefined && cached?.signature !== undefined && cached.signature === envelopeSignature(read.bytes)) {
      held = previous // the very bytes L1 took it from (header with checksum, and length): no need to decode
    } else {
      try {
        held = withAllTags(await decodeEntry(read.bytes))
      } catch (error) {
        this.#l1?.forget(key)
        this.#telemetry.report(
          error instanceof IsrCacheError ? new IsrCacheError(error.code, `${error.message} (key "${key}")`, { cause: error.cause, key }) : this.#store.error(error, 'E_STORE_READ', 'decode', key),
        )
        return undefined
      }
    }
    if ('bytes' in read && keep) this.#l1?.remember(key, held, at, read.bytes)
    return this.judge(held, at, extraTags)
  }

  /** The store's entry for a key if it is fresh now (L1 bypassed, no touch), else undefined. Store errors: undefined. */
  async freshInStore(key: string, k: string): Promise<Held | undefined> {
    try {
      await this.#sync.vouch() // judge() below may use cached tag records
      const at = this.#settings.now()
      const read = await this.#store.driver.read(k, { until: at + this.#settings.evictMs, due: false, now: at })
      if (read === undefined) return undefined
      const held = withAllTags('entry' in read ? read.entry : await decodeEntry(read.bytes))
      if ((await this.judge(held, at))?.state !== 'fresh') return undefined
      if ('bytes' in read) this.#l1?.remember(key, held, at, read.bytes)
      return held
    } catch {
      return undefined // fail open: regenerate
    }
  }
}

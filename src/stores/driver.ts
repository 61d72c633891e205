/**
 * What the core needs from a backend. Every keyv store becomes one of these: the generic driver works with
 * any keyv store; Redis, SQLite and memory get native drivers that do in one step what the generic one
 * approximates (binary values, conditional writes, touch-on-read, atomic tag merges).
 */
import type { Entry } from '../codec.js'
import type { TagRecord } from '../freshness.js'

/** What a driver guarantees, for docs, tests and the conformance suite. */
export interface DriverCapabilities {
  /** Conditional writes ("never older over newer") hold across processes, not just within one. */
  atomicWrites: boolean
  /** Tag purges merge atomically across processes. */
  atomicPurges: boolean
  /** The store removes entries by itself at their time to live (else: on read, or by a sweep). */
  nativeTtl: boolean
  /** Values are stored as raw bytes (no base64 or JSON wrapping). */
  binary: boolean
  /** The data outlives the process. */
  durable: boolean
  /** Regeneration leases exclude each other across processes (not just within one). */
  atomicLeases: boolean
}

/** The result of a read: decoded (memory) or raw bytes for the core to decode. */
export type ReadResult = { entry: Entry } | { bytes: Uint8Array } | undefined

export interface WriteRequest {
  key: string
  /** The entry, as a snapshot decoded from `bytes` (never an object a caller holds): memory keeps it as is. */
  entry: Entry
  /** The encoded envelope. */
  bytes: Buffer
  /** When the store may drop the entry: min(hard expiry, now + evictUnaccessedAfter). Epoch ms. */
  storeExpiresAt: number
  /** The core's clock at the write; stores with server-side clocks get `storeExpiresAt - now` as TTL. */
  now: number
}

export interface TouchPolicy {
  /** The store time to live to move to on a read: now + evictUnaccessedAfter (capped by hard expiry). */
  until: number
  /** Whether this read should refresh the time to live (the throttle, decided by the core). */
  due: boolean
  /** The core's clock at the read. */
  now: number
}

export interface Driver {
  readonly name: 'memory' | 'redis' | 'sqlite' | 'keyv'
  readonly capabilities: DriverCapabilities
  /** Reads an entry; where `touch.due`, also refreshes its time to live (in the same round trip if it can). */
  read(key: string, touch: TouchPolicy): Promise<ReadResult>
  /** Writes unless the stored entry is newer (its lastModified greater). Returns false when it was skipped. */
  write(request: WriteRequest): Promise<boolean>
  delete(key: string): Promise<void>
  /** The purge records of these tags (undefined where a tag was never purged or its record expired). */
  readTags(tags: readonly string[]): Promise<Array<TagRecord | undefined>>
  /** Merges a purge into each tag's record, atomically where `capabilities.atomicPurges`. */
  purgeTags(tags: readonly string[], now: number, expireSeconds: number, maxExpireMs: number): Promise<void>
  /**
   * Takes the regeneration lease of a key if nobody holds it (or the holder's lease expired). Returns
   * whether `token` now holds it. Atomic across processes where `capabilities.atomicLeases`.
   */
  acquireLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean>
  /** Extends a lease this token holds; false if it no longer does. */
  extendLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean>
  /** Gives a lease up, only if this token still holds it. */
  releaseLease(key: string, token: string): Promise<void>
  /**
   * Tells this instance when other instances change the store: pub/sub on Redis, a change counter on
   * SQLite. Absent where the store has neither (the L1 tier then relies on its re-check bound alone).
   */
  watch?(instanceId: string, handlers: ChangeHandlers): ChangeFeed
  /** Closes what the driver opened itself (never a client or store the user passed in). */
  close(): Promise<void>
}

/** How a purge or delete made here was confirmed by the other instances sharing the store. */
export interface PurgeResult {
  /** Other instances that confirmed they applied the change before the call returned. */
  acknowledged: number
  /**
   * Other instances that were subscribed when the change was published; undefined where the feed cannot
   * count them (SQLite, a user's `bus`, a keyv store without a feed). 0 for the memory store.
   */
  live: number | undefined
  /**
   * Whether no instance sharing the store can serve what the change removed once the call has returned:
   * every live instance acknowledged (Redis), or the store guarantees it without acknowledgements (memory,
   * SQLite). False for a missing acknowledgement, and for a feed that cannot confirm (a user's `bus`).
   */
  complete: boolean
}

/** What another instance changed. */
export type Change = { type: 'written'; key: string } | { type: 'deleted'; key: string } | { type: 'purged'; tags: string[] }

export interface ChangeHandlers {
  /** Another instance wrote or deleted `key`, or purged `tags`. */
  change(change: Change): void
  /** Changes may have been missed (a reconnect, an unreadable counter): drop everything held locally. */
  resync(): void
  /** The feed itself failed (reported, never thrown). */
  error(error: unknown): void
}

export interface ChangeFeed {
  /** Tells the other instances about a change made here. Fire and forget. */
  publish(change: Change): void
  /**
   * Tells the other instances about a purge or delete made here, and resolves once every instance that
   * received it has applied it, or once `timeoutMs` has passed (see ../purge-acks.ts). Absent where the
   * feed cannot confirm anything (a user's bus): the cache then publishes and reports `complete: false`.
   */
  publishAcknowledged?(change: Change, timeoutMs: number): Promise<PurgeResult>
  /**
   * Called before this instance serves from what it holds (L1 entries, cached tag records): a feed that can
   * tell cheaply that another process changed the store (SQLite's WAL index) calls `resync` here, at once.
   */
  vouch?(): void
  close(): Promise<void>
}

/**
 * Key layout shared by the drivers: `<prefix>:e:<namespace>:<key>` for entries, `<prefix>:t:<tag>` for
 * tags, `<prefix>:l:<namespace>:<key>` for regeneration leases, `<prefix>:bus` for the change channel.
 */
export interface KeyLayout {
  entry(key: string): string
  tag(tag: string): string
  lease(key: string): string
  channel: string
}

export function keyLayout(prefix: string): KeyLayout {
  return {
    entry: (key) => `${prefix}:e:${key}`,
    tag: (tag) => `${prefix}:t:${tag}`,
    lease: (key) => `${prefix}:l:${key}`,
    channel: `${prefix}:bus`,
  }
}

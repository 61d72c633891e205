/**
 * The generic driver: any keyv store (a user's own backend, a Map, any `@keyv/*` adapter). It stores the
 * encoded envelope through keyv, which serializes it as the store needs (base64 inside JSON with keyv's
 * default serializer). What a generic store cannot do atomically is done as read-compare-write under a
 * per-key lock: exact within one process, best effort across processes sharing the store.
 */
import { Keyv } from 'keyv'
import { Mutex } from 'async-mutex'
import { peekLastModified } from '../codec.js'
import { applyPurge, decodeTagRecord, encodeTagRecord, recordNeededUntil, type TagRecord } from '../freshness.js'
import type { Driver, KeyLayout, ReadResult, TouchPolicy, WriteRequest } from './driver.js'

/** Per-key locks, created on demand and dropped when idle, so the map stays as small as the traffic. */
class KeyedLocks {
  /** A mutex per key in use, with how many callers hold or wait for it (dropped at zero). */
  readonly #locks = new Map<string, { mutex: Mutex; users: number }>()

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let held = this.#locks.get(key)
    if (held === undefined) {
      held = { mutex: new Mutex(), users: 0 }
      this.#locks.set(key, held)
    }
    held.users += 1
    try {
      return await held.mutex.runExclusive(work)
    } finally {
      held.users -= 1
      if (held.users === 0) this.#locks.delete(key)
    }
  }
}

function toBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value
  // A store that round-trips through JSON without keyv's serializer hands back { type: 'Buffer', data }.
  const jsonBuffer = value as { type?: unknown; data?: unknown } | null
  if (jsonBuffer && jsonBuffer.type === 'Buffer' && Array.isArray(jsonBuffer.data)) return Buffer.from(jsonBuffer.data as number[])
  return undefined
}

export class KeyvDriver implements Driver {
  readonly name = 'keyv' as const
  readonly capabilities = { atomicWrites: false, atomicPurges: false, nativeTtl: true, binary: false, durable: true, atomicLeases: false }
  /** The user's (or our) Keyv instance: every read and write goes through it. */
  readonly #keyv: Keyv
  /** Where entries, tag records and leases live under the prefix. */
  readonly #keys: KeyLayout
  /** Whether this driver made the Keyv instance (and so closes it), or the user passed it in (left open). */
  readonly #owned: boolean
  /** Read-modify-write steps (conditional writes, tag merges, leases) serialized per key within this process. */
  readonly #locks = new KeyedLocks()

  /**
   * @param keyv used as is for the store, serializer and namespace; errors are made to throw here so that
   *   the core sees them (keyv swallows them by default).
   */
  constructor(keyv: Keyv, keys: KeyLayout, owned: boolean, onStoreError: (error: unknown) => void) {
    this.#keyv = new Keyv({
      store: keyv.store,
      namespace: keyv.namespace,
      serialize: keyv.serialize,
      deserialize: keyv.deserialize,
      compression: keyv.opts.compression,
      useKeyPrefix: keyv.useKeyPrefix,
      throwOnErrors: true,
      emitErrors: true,
    })
    // keyv also emits what it throws; listening keeps an unlistened 'error' event from crashing the process.
    this.#keyv.on('error', onStoreError)
    this.#keys = keys
    this.#owned = owned
  }

  async read(key: string, touch: TouchPolicy): Promise<ReadResult> {
    const storeKey = this.#keys.entry(key)
    const raw: unknown = await this.#keyv.get(storeKey)
    if (raw === undefined || raw === null) return undefined
    const bytes = toBytes(raw)
    if (bytes === undefined) return { bytes: new Uint8Array(0) } // undecodable: the core reports it
    if (touch.due) {
      // No touch in the keyv API: rewrite the same bytes with the new time to live, unless a newer entry
      // arrived meanwhile.
      const lastModified = peekLastModified(bytes)
      if (lastModified !== undefined) {
        await this.#locks.run(storeKey, async () => {
          const current = toBytes(await this.#keyv.get(storeKey))
          if (current === undefined || peekLastModified(current) !== lastModified) return
          const hard = expiresAtOf(bytes)
          const until = hard === undefined ? touch.until : Math.min(hard, touch.until)
          const ttl = Math.max(1, Math.ceil(until - touch.now))
          await this.#keyv.set(storeKey, Buffer.from(bytes), ttl)
        })
      }
    }
    return { bytes }
  }

  async write(request: WriteRequest): Promise<boolean> {
    const storeKey = this.#keys.entry(request.key)
    return this.#locks.run(storeKey, async () => {
      const current = toBytes(await this.#keyv.get(storeKey))
      const stored = current === undefined ? undefined : peekLastModified(current)
      if (stored !== undefined && stored > request.entry.lastModified) return false
      const ttl = Math.max(1, Math.ceil(request.storeExpiresAt - request.now))
      await this.#keyv.set(storeKey, request.bytes, ttl)
      return true
    })
  }

  async delete(key: string): Promise<void> {
    await this.#keyv.delete(this.#keys.entry(key))
  }

  async readTags(tags: readonly string[]): Promise<Array<TagRecord | undefined>> {
    return Promise.all(
      tags.map(async (tag) => {
        const raw: unknown = await this.#keyv.get(this.#keys.tag(tag))
        return typeof raw === 'string' ? decodeTagRecord(raw) : undefined
      }),
    )
  }

  async purgeTags(tags: readonly string[], now: number, expireSeconds: number, maxExpireMs: number): Promise<void> {
    await Promise.all(
      tags.map((tag) =>
        this.#locks.run(this.#keys.tag(tag), async () => {
          const [previous] = await this.readTags([tag])
          const record = applyPurge(previous, now, expireSeconds)
          const ttl = Math.max(1, Math.ceil(recordNeededUntil(record, maxExpireMs) - now))
          await this.#keyv.set(this.#keys.tag(tag), encodeTagRecord(record), ttl)
        }),
      ),
    )
  }

  // Leases: read, then write, then read back to see who won. Exact within a process (the per-key lock),
  // best effort across processes: two writers racing between the read and the write can both win.
  async acquireLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    const leaseKey = this.#keys.lease(key)
    return this.#locks.run(leaseKey, async () => {
      const held = (await this.#keyv.get(leaseKey)) as { token?: string; expiresAt?: number } | undefined
      if (held?.token !== undefined && held.token !== token && now < (held.expiresAt ?? 0)) return false
      await this.#keyv.set(leaseKey, { token, expiresAt: now + ttlMs }, ttlMs)
      const check = (await this.#keyv.get(leaseKey)) as { token?: string } | undefined
      return check?.token === token
    })
  }

  async extendLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    const leaseKey = this.#keys.lease(key)
    return this.#locks.run(leaseKey, async () => {
      const held = (await this.#keyv.get(leaseKey)) as { token?: string } | undefined
      if (held?.token !== token) return false
      await this.#keyv.set(leaseKey, { token, expiresAt: now + ttlMs }, ttlMs)
      return true
    })
  }

  async releaseLease(key: string, token: string): Promise<void> {
    const leaseKey = this.#keys.lease(key)
    await this.#locks.run(leaseKey, async () => {
      const held = (await this.#keyv.get(leaseKey)) as { token?: string } | undefined
      if (held?.token === token) await this.#keyv.delete(leaseKey)
    })
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#keyv.disconnect()
  }
}

function expiresAtOf(bytes: Uint8Array): number | undefined {
  if (bytes.length < 37) return undefined
  const value = Number(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', 21, 37))
  return Number.isFinite(value) ? value : undefined
}

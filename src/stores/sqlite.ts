/**
 * Native SQLite driver, on the connection of a `@keyv/sqlite` store. It keeps its own two tables in the
 * same database file (keyv's `keyv` table has a TEXT value column and no expiry):
 *
 *   isr_cache_entries(key, value BLOB, last_modified, hard_expires_at, expires_at, touched_at)
 *   isr_cache_tags(tag, record, expires_at)
 *
 * Values are BLOBs; a write never replaces a newer entry (the upsert's WHERE clause); tag purges merge in a
 * transaction; expired rows are swept on open and every `sweepInterval`.
 */
import { Mutex } from 'async-mutex'
import { decodeTagRecord, applyPurge, encodeTagRecord, recordNeededUntil, type TagRecord } from '../freshness.js'
import type { ChangeFeed, ChangeHandlers, Driver, KeyLayout, ReadResult, TouchPolicy, WriteRequest } from './driver.js'
import { SqliteChangeCounter } from './sqlite-changes.js'

export interface KeyvSqliteLike {
  query(sql: string, ...params: unknown[]): Promise<Array<Record<string, unknown>>>
  opts: { dialect?: string; table?: string }
  disconnect(): Promise<void>
}

export function isKeyvSqlite(store: unknown): store is KeyvSqliteLike {
  const candidate = store as Partial<KeyvSqliteLike> | null
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.query === 'function' &&
    candidate.opts?.dialect === 'sqlite'
  )
}

const SWEEP_INTERVAL_MS = 10 * 60 * 1000

export class SqliteDriver implements Driver {
  readonly name = 'sqlite' as const
  readonly capabilities = { atomicWrites: true, atomicPurges: true, nativeTtl: false, binary: true, durable: true, atomicLeases: true }
  /** The @keyv/sqlite store whose database connection this driver uses. */
  readonly #store: KeyvSqliteLike
  /** Where entries, tag records and leases live under the prefix. */
  readonly #keys: KeyLayout
  /** Whether this driver opened the database (and so closes it), or the user passed the store in (left open). */
  readonly #owned: boolean
  /** The cache's clock: SQLite expiry is checked by us, so it follows an injected clock. */
  readonly #now: () => number
  /** One connection serves the whole process: a purge's BEGIN…COMMIT must not interleave with another's. */
  readonly #purgeLock = new Mutex()
  /** The schema is in place: every call waits for it once. */
  readonly #ready: Promise<void>
  /** Removes expired rows now and then (SQLite has no TTL of its own). */
  #sweeper: NodeJS.Timeout | undefined

  constructor(store: KeyvSqliteLike, keys: KeyLayout, owned: boolean, now: () => number) {
    this.#store = store
    this.#keys = keys
    this.#owned = owned
    this.#now = now
    this.#ready = this.#init()
    // A failed init is reported by the first call that awaits it; do not let it surface as unhandled.
    this.#ready.catch(() => {})
  }

  async #init(): Promise<void> {
    const q = this.#store.query.bind(this.#store)
    await q('PRAGMA busy_timeout = 5000')
    if (this.#owned) await q('PRAGMA journal_mode = WAL')
    await q(`CREATE TABLE IF NOT EXISTS isr_cache_entries (
      key TEXT PRIMARY KEY, value BLOB NOT NULL, last_modified INTEGER NOT NULL,
      hard_expires_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, touched_at INTEGER NOT NULL)`)
    await q('CREATE INDEX IF NOT EXISTS isr_cache_entries_expires ON isr_cache_entries (expires_at)')
    await q('CREATE TABLE IF NOT EXISTS isr_cache_tags (tag TEXT PRIMARY KEY, record TEXT NOT NULL, expires_at INTEGER NOT NULL)')
    await q('CREATE TABLE IF NOT EXISTS isr_cache_leases (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires_at INTEGER NOT NULL)')
    await this.sweep()
    this.#sweeper = setInterval(() => {
      this.sweep().catch(() => {}) // a failed sweep is retried at the next interval
    }, SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
  }

  async #query(sql: string, ...params: unknown[]): Promise<Array<Record<string, unknown>>> {
    await this.#ready
    return this.#store.query(sql, ...params)
  }

  /** Deletes expired entries and tag records. Runs on open and periodically; public for tests. */
  async sweep(): Promise<void> {
    const now = this.#now()
    await this.#store.query('DELETE FROM isr_cache_entries WHERE expires_at <= ?', now)
    await this.#store.query('DELETE FROM isr_cache_tags WHERE expires_at <= ?', now)
    await this.#store.query('DELETE FROM isr_cache_leases WHERE expires_at <= ?', now)
  }

  async read(key: string, touch: TouchPolicy): Promise<ReadResult> {
    const storeKey = this.#keys.entry(key)
    const rows = await this.#query(
      'SELECT value, hard_expires_at FROM isr_cache_entries WHERE key = ? AND expires_at > ?',
      storeKey,
      this.#now(),
    )
    const row = rows[0]
    if (row === undefined) return undefined
    if (touch.due) {
      const until = Math.min(Number(row.hard_expires_at), touch.until)
      await this.#query('UPDATE isr_cache_entries SET expires_at = ?, touched_at = ? WHERE key = ?', until, this.#now(), storeKey)
    }
    return { bytes: row.value as Buffer }
  }

  async write(request: WriteRequest): Promise<boolean> {
    const storeKey = this.#keys.entry(request.key)
    const now = this.#now()
    // The WHERE of the upsert keeps a newer row; changes() tells whether this write happened.
    const rows = await this.#query(
      `INSERT INTO isr_cache_entries (key, value, last_modified, hard_expires_at, expires_at, touched_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET value = excluded.value, last_modified = excluded.last_modified,
         hard_expires_at = excluded.hard_expires_at, expires_at = excluded.expires_at, touched_at = excluded.touched_at
       WHERE excluded.last_modified >= isr_cache_entries.last_modified
       RETURNING 1 AS written`,
      storeKey,
      request.bytes,
      request.entry.lastModified,
      request.entry.lastModified + request.entry.expire * 1000,
      Math.ceil(request.storeExpiresAt),
      now,
    )
    return rows.length > 0
  }

  async delete(key: string): Promise<void> {
    await this.#query('DELETE FROM isr_cache_entries WHERE key = ?', this.#keys.entry(key))
  }

  async readTags(tags: readonly string[]): Promise<Array<TagRecord | undefined>> {
    if (tags.length === 0) return []
    const storeTags = tags.map((tag) => this.#keys.tag(tag))
    const rows = await this.#query(
      'SELECT tag, record FROM isr_cache_tags WHERE tag IN (SELECT value FROM json_each(?)) AND expires_at > ?',
      JSON.stringify(storeTags),
      this.#now(),
    )
    const byTag = new Map(rows.map((row) => [row.tag as string, row.record as string]))
    return storeTags.map((tag) => {
      const raw = byTag.get(tag)
      return raw === undefined ? undefined : decodeTagRecord(raw)
    })
  }

  async purgeTags(tags: readonly string[], now: number, expireSeconds: number, maxExpireMs: number): Promise<void> {
    if (tags.length === 0) return
    await this.#ready
    await this.#purgeLock.runExclusive(async () => {
      // IMMEDIATE takes the write lock up front, so two processes cannot both read the old record.
      await this.#store.query('BEGIN IMMEDIATE')
      try {
        const previous = await this.readTags(tags)
        for (const [index, tag] of tags.entries()) {
          const record = applyPurge(previous[index], now, expireSeconds)
          await this.#store.query(
            `INSERT INTO isr_cache_tags (tag, record, expires_at) VALUES (?, ?, ?)
             ON CONFLICT(tag) DO UPDATE SET record = excluded.record, expires_at = excluded.expires_at`,
            this.#keys.tag(tag),
            encodeTagRecord(record),
            recordNeededUntil(record, maxExpireMs),
          )
        }
        await this.#store.query('COMMIT')
      } catch (error) {
        await this.#store.query('ROLLBACK').catch(() => {})
        throw error
      }
    })
  }

  async acquireLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    // Insert, or take over a lease whose holder let it expire; RETURNING says whether this token holds it.
    const rows = await this.#query(
      `INSERT INTO isr_cache_leases (key, token, expires_at) VALUES (?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
       WHERE isr_cache_leases.expires_at <= ? OR isr_cache_leases.token = excluded.token
       RETURNING token`,
      this.#keys.lease(key),
      token,
      now + ttlMs,
      now,
    )
    return rows.length > 0
  }

  async extendLease(key: string, token: string, ttlMs: number, now: number): Promise<boolean> {
    const rows = await this.#query(
      'UPDATE isr_cache_leases SET expires_at = ? WHERE key = ? AND token = ? RETURNING 1 AS held',
      now + ttlMs,
      this.#keys.lease(key),
      token,
    )
    return rows.length > 0
  }

  async releaseLease(key: string, token: string): Promise<void> {
    await this.#query('DELETE FROM isr_cache_leases WHERE key = ? AND token = ?', this.#keys.lease(key), token)
  }

  /**
   * SQLite has no pub/sub; `PRAGMA data_version` changes whenever another connection (another process)
   * commits. Polled every `intervalMs`: a change drops what this instance holds locally. And before any
   * read served from what this instance holds, `vouch` compares SQLite's own change counter in the file
   * (sqlite-changes.ts), so that a purge another process has committed is never served past: a purge or
   * delete here is complete once its commit returns.
   */
  watch(_instanceId: string, handlers: ChangeHandlers, intervalMs = 100): ChangeFeed {
    let last: unknown
    let polling = false
    const timer = setInterval(() => {
      if (polling) return
      polling = true
      this.#query('PRAGMA data_version')
        .then((rows) => {
          const version = rows[0]?.data_version
          if (last !== undefined && version !== last) handlers.resync()
          last = version
        })
        .catch((error: unknown) => {
          last = undefined
          handlers.resync()
          handlers.error(error)
        })
        .finally(() => {
          polling = false
        })
    }, intervalMs)
    timer.unref()
    // Until the counter is open (or if it cannot be), nothing held locally is trusted.
    let counter: SqliteChangeCounter | 'none' | 'opening' = 'opening'
    let closed = false
    this.#openChangeCounter().then(
      (opened) => {
        if (closed) opened?.close()
        else counter = opened ?? 'none'
      },
      (error: unknown) => handlers.error(error),
    )
    return {
      publish: () => {}, // other processes see the commit in their own data_version
      publishAcknowledged: async () => ({ acknowledged: 0, live: undefined, complete: true }),
      vouch: () => {
        if (counter === 'none') return
        if (counter === 'opening' || counter.changed()) handlers.resync()
      },
      close: async () => {
        closed = true
        clearInterval(timer)
        if (typeof counter === 'object') counter.close()
      },
    }
  }

  /** The change counter of this database file (undefined for an in-memory database). */
  async #openChangeCounter(): Promise<SqliteChangeCounter | undefined> {
    const files = await this.#query('PRAGMA database_list')
    const file = String(files.find((row) => row.name === 'main')?.file ?? '')
    const mode = await this.#query('PRAGMA journal_mode')
    return SqliteChangeCounter.open(file, String(mode[0]?.journal_mode).toLowerCase() === 'wal')
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper)
    if (this.#owned) {
      await this.#ready.catch(() => {})
      await this.#store.disconnect()
    }
  }
}

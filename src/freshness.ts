/**
 * Freshness: a pure function of an entry, the purge records of its tags, and the clock. No I/O here, so
 * the model-based tests can check it against a plain reference.
 */

/** What every stored entry carries besides its value. Times are epoch ms, durations seconds. */
export interface EntryMeta {
  /** When the data in this entry was produced (for `getOrSet`: when its regeneration started). */
  lastModified: number
  /** Seconds after `lastModified` when the entry turns stale; `false`: only a purge makes it stale. */
  revalidate: number | false
  /** Seconds after `lastModified` when the entry can no longer be served. */
  expire: number
  /** The entry's own tags and the implicit tags of its path: every tag whose purge concerns it. */
  allTags: readonly string[]
}

/**
 * The purge history of one tag, kept bounded.
 *
 * A purge at time `at` with a soft window of `expire` seconds makes every entry with `lastModified <= at`
 * stale at once and expired at `at + expire` (a hard purge: `expire` 0). Entries written after the purge
 * are untouched by it, so a soft purge never blocks re-caching.
 *
 * - `expiredBefore`: entries with `lastModified <= expiredBefore` are expired (hard purges, and soft windows
 *   that have closed, fold into it).
 * - `windows`: soft purges whose windows are still open, as `[purgedAt, expiredAt]`, sorted by `purgedAt`
 *   with rising `expiredAt` (a window that an older-and-later-closing one makes redundant is dropped).
 */
export interface TagRecord {
  expiredBefore: number
  windows: Array<[purgedAt: number, expiredAt: number]>
}

export type Freshness = 'fresh' | 'stale' | 'expired'

/**
 * At most this many open windows per tag. Past it the two oldest merge into one that closes at the earlier
 * of their two times: the merged window is stricter, never looser, than the history it replaces.
 */
export const MAX_OPEN_WINDOWS = 64

/** `records[i]` is the record of `meta.allTags[i]`, or undefined where that tag was never purged. */
export function classify(meta: EntryMeta, records: ReadonlyArray<TagRecord | undefined>, now: number): Freshness {
  const age = now - meta.lastModified
  if (age > meta.expire * 1000) return 'expired'
  let tagStale = false
  for (const record of records) {
    if (record === undefined) continue
    if (meta.lastModified <= record.expiredBefore) return 'expired'
    for (const [purgedAt, expiredAt] of record.windows) {
      if (meta.lastModified <= purgedAt) {
        if (now >= expiredAt) return 'expired'
        tagStale = true
      }
    }
  }
  if (tagStale) return 'stale'
  if (meta.revalidate !== false && age > meta.revalidate * 1000) return 'stale'
  return 'fresh'
}

/**
 * The record after a purge at `now` with a soft window of `expireSeconds` (0: hard). Pure; the stores run
 * it atomically (a Lua script on Redis, a transaction on SQLite, a lock elsewhere).
 */
export function applyPurge(previous: TagRecord | undefined, now: number, expireSeconds: number): TagRecord {
  let expiredBefore = previous?.expiredBefore ?? -1
  const expiredAt = now + expireSeconds * 1000
  const windows: Array<[number, number]> = []
  for (const window of previous?.windows ?? []) {
    if (window[1] <= now) expiredBefore = Math.max(expiredBefore, window[0])
    // The new window covers everything the old one covers (it is later) and closes no later: redundant.
    else if (window[1] < expiredAt) windows.push([window[0], window[1]])
  }
  if (expiredAt <= now) expiredBefore = Math.max(expiredBefore, now)
  else windows.push([now, expiredAt])
  while (windows.length > MAX_OPEN_WINDOWS) {
    const [first, second] = windows as [[number, number], [number, number]]
    windows.splice(0, 2, [second[0], Math.min(first[1], second[1])])
  }
  return { expiredBefore, windows }
}

/** The latest time any window of the record still needs, to size the record's time to live. */
export function recordNeededUntil(record: TagRecord, maxExpireMs: number): number {
  const lastPurge = Math.max(record.expiredBefore, ...record.windows.map((w) => w[0]))
  // Entries purged at `lastPurge` or before were written by then, so their own expiry (at most
  // `maxExpireMs` after they were written, and "expired" means strictly past it) has passed by
  // `lastPurge + maxExpireMs + 1`: the record is moot then.
  return lastPurge + maxExpireMs + 1
}

export function encodeTagRecord(record: TagRecord): string {
  return JSON.stringify({ b: record.expiredBefore, w: record.windows })
}

export function decodeTagRecord(text: string): TagRecord | undefined {
  try {
    const parsed = JSON.parse(text) as { b?: unknown; w?: unknown }
    if (typeof parsed.b !== 'number' || !Array.isArray(parsed.w)) return undefined
    const windows: Array<[number, number]> = []
    for (const w of parsed.w) {
      if (!Array.isArray(w) || typeof w[0] !== 'number' || typeof w[1] !== 'number') return undefined
      windows.push([w[0], w[1]])
    }
    return { expiredBefore: parsed.b, windows }
  } catch {
    return undefined
  }
}

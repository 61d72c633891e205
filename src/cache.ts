/**
 * createIsrCache: the ISR engine. Freshness is decided in freshness.ts, bytes in codec.ts, storage in
 * stores/; this file wires them into get / set / getOrSet / purge with single-flight regeneration,
 * stale-while-revalidate, stale-if-error with backoff, deadlines and fail-open error handling.
 */
import { randomUUID } from 'node:crypto'
import { decodeEntry, encodeSnapshot, envelopeSignature, type CompressionOptions, type Entry } from './codec.js'
import { IsrCacheError, describeError } from './errors.js'
import { classify, type TagRecord } from './freshness.js'
import { createDefaultReporter } from './report.js'
import { ByteLru } from './lru.js'
import { busFeed, type IsrCacheBus } from './bus.js'
import type { ChangeHandlers, Driver, ReadResult, TouchPolicy } from './stores/driver.js'
import { GuardedDriver } from './stores/guard.js'
import type { MemoryDriver } from './stores/memory.js'
import { resolveStore, type StoreOption } from './stores/resolve.js'
import {
  checkFunction,
  checkKey,
  checkKnown,
  checkObject,
  checkPath,
  checkTags,
  implicitTags,
  layoutTag,
  pageTag,
  seconds,
} from './validate.js'

import { optionError, settingsFrom, type Settings } from './settings.js'
import type {
  CacheResult,
  CacheStatus,
  GetOptions,
  GetOrSetOptions,
  GetOrSetResult,
  IsrCacheEvent,
  IsrCacheOptions,
  IsrCacheStats,
  Lease,
  RegenerateContext,
  SetOptions,
} from './types.js'

export type {
  CacheResult,
  CacheStatus,
  EntryOptions,
  GetOptions,
  GetOrSetOptions,
  GetOrSetResult,
  IsrCacheEvent,
  IsrCacheOptions,
  IsrCacheStats,
  Lease,
  RegenerateContext,
  SetOptions,
} from './types.js'

/** How often a caller waiting for another instance's regeneration looks at the store (the change feed wakes it sooner). */
const LEASE_POLL_MS = 50

export interface IsrCache {
  /** Reads an entry: `hit` (fresh) or `stale`; undefined when missing or expired. Never throws for store failures. */
  get<T = unknown>(key: string, options?: GetOptions): Promise<CacheResult<T> | undefined>
  /** Writes an entry, unless the store holds a newer one. Resolves false when skipped or when the store failed (reported). */
  set(key: string, value: unknown, options?: SetOptions): Promise<boolean>
  /** ISR in one call: fresh → hit; stale → served while one background regeneration runs; missing → one regeneration shared by all callers. */
  getOrSet<T>(key: string, regenerate: (context: RegenerateContext<T>) => T | Promise<T>, options?: GetOrSetOptions): Promise<GetOrSetResult<T>>
  /** Purges by tag: without `expire` (or 0) entries expire now; with `expire` they turn stale now and expire after `expire` seconds. */
  revalidateTag(tags: string | string[], options?: { expire?: number }): Promise<void>
  /** Purges the entries of a path (`type: 'page'`, default), or of a path and everything below it (`type: 'layout'`). */
  revalidatePath(path: string, options?: { type?: 'page' | 'layout'; expire?: number }): Promise<void>
  /** Removes one entry. */
  delete(key: string): Promise<void>
  /**
   * Takes the cluster-wide regeneration lease of a key: resolves a `Lease` if this instance may regenerate
   * it, undefined if another instance is regenerating it now. Held until released or `ttl` seconds pass
   * (default: the cache's lease ttl). Where the store cannot answer, resolves a lease (fail open). On winning,
   * this instance's L1 copy of the key is dropped, so the next `get` of it reads the store (which may hold a
   * newer entry another instance stored just before the lease came free). For adapters whose framework
   * regenerates by itself (Next.js); `getOrSet` uses leases on its own.
   */
  acquireLease(key: string, options?: { ttl?: number }): Promise<Lease | undefined>
  stats(): IsrCacheStats
  /** Waits for running regenerations (up to the write deadline) and closes the store connections the cache opened. */
  close(): Promise<void>
  /** Which driver serves this cache: 'memory', 'redis', 'sqlite' or 'keyv' (generic). */
  readonly storeKind: Driver['name']
}


const GET_OPTION_NAMES = ['tags']
const ENTRY_OPTION_NAMES = ['tags', 'path', 'revalidate', 'expire']
const SET_OPTION_NAMES = [...ENTRY_OPTION_NAMES, 'lastModified']
const GET_OR_SET_OPTION_NAMES = [...ENTRY_OPTION_NAMES, 'softTimeout', 'hardTimeout']

/** `get`'s options: checked without allocating in the common case (`{ tags }` on every Next.js lookup). */
function checkGetOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) checkObject(options, 'get options')
  for (const name in options as object) {
    if (name !== 'tags') checkKnown(options as Record<string, unknown>, GET_OPTION_NAMES, 'get options', 'E_INVALID_INPUT')
  }
}

/** Bounded per-key bookkeeping: drops the oldest insertion past `limit`. */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly limit: number) {
    super()
  }
  override set(key: string, value: V): this {
    if (!this.has(key) && this.size >= this.limit) {
      const oldest = this.keys().next()
      if (!oldest.done) this.delete(oldest.value)
    }
    return super.set(key, value)
  }
}


/** An entry with the tags a purge must consider (own tags and its path's implicit tags), computed once. */
type Held = Entry & { allTags: string[] }

function withAllTags(entry: Entry): Held {
  const held = entry as Held
  held.allTags ??= entry.path === undefined ? entry.tags : [...entry.tags, ...implicitTags(entry.path)]
  return held
}

type Lookup = { held: Held; state: 'fresh' | 'stale' } | undefined

/** An entry as the cache keeps it: a snapshot decoded from its bytes, and the bytes to write. */
interface Kept {
  snapshot: Held
  bytes: Buffer
}

/**
 * What a regeneration produced: the regenerate function's own value (for its callers) and what to keep of it
 * (or why it cannot be kept); `kept` is absent for another instance's entry, found instead of rendering.
 */
interface Regenerated {
  held: Held
  kept?: Kept | IsrCacheError
}
const NO_RECORDS: ReadonlyArray<TagRecord | undefined> = []

/** An L1 entry: decoded, when it was last confirmed by the store, and the fingerprint of its bytes. */
interface L1Slot {
  held: Held
  checkedAt: number
  signature: string | undefined
}

/** Creates an ISR cache. Throws `IsrCacheError` (`E_INVALID_OPTION`, `E_MISSING_PEER`) for bad configuration. */
export function createIsrCache(options: IsrCacheOptions = {}): IsrCache {
  const settings: Settings = settingsFrom(options)
  const { now, prefix, maxMemoryBytes } = settings

  /** Set when close() has finished. */
  let closedDown = false
  const stats: IsrCacheStats = {
    hits: 0, stale: 0, misses: 0, writes: 0, regenerations: 0, regenerationErrors: 0, storeErrors: 0, decodeErrors: 0, purges: 0, inflight: 0,
    l1Hits: 0, leaseWaits: 0, circuit: 'closed',
  }
  const sink = options.onError ?? createDefaultReporter()
  const onEvent = options.onEvent
  const report = (error: IsrCacheError): void => {
    // Once close() has returned, nothing more is reported (a write cut short by closing is not news).
    if (closedDown) return
    if (error.code === 'E_STORE_READ' || error.code === 'E_STORE_WRITE') stats.storeErrors += 1
    if (error.code === 'E_DECODE') stats.decodeErrors += 1
    try {
      sink(error)
    } catch {
      // An error sink that throws must not take the cache down with it.
    }
  }
  const emit = (event: IsrCacheEvent): void => {
    if (onEvent === undefined) return
    try {
      onEvent(event)
    } catch {
      // Same for event sinks.
    }
  }

  const resolved = resolveStore(options.store, {
    prefix,
    now,
    maxMemoryBytes,
    onStoreError: (error) =>
      report(error instanceof IsrCacheError ? error : new IsrCacheError('E_STORE_READ', `the store reported an error: ${describeError(error)}`, { cause: error })),
  })
  // The memory driver answers synchronously; using that keeps an in-memory hit to a map lookup. It never
  // fails, so it needs no deadline or breaker either.
  const memory = resolved.name === 'memory' ? (resolved as MemoryDriver) : undefined
  const guarded =
    memory === undefined
      ? new GuardedDriver(resolved, {
          readTimeoutMs: settings.readTimeoutMs,
          writeTimeoutMs: settings.writeTimeoutMs,
          failureThreshold: settings.breakerFailures,
          cooldownMs: settings.breakerCooldownMs,
          now,
          onCircuit: (state, cause) => {
            stats.circuit = state
            emit({ type: 'circuit', state })
            if (state === 'open') {
              report(
                new IsrCacheError(
                  'E_STORE_UNAVAILABLE',
                  `the ${resolved.name} store failed ${settings.breakerFailures} times in a row: skipping it (reads are misses, pages are still rendered) and probing it every ${settings.breakerCooldownMs / 1000} s`,
                  { cause },
                ),
              )
            }
          },
        })
      : undefined
  const driver: Driver = guarded ?? resolved

  // L1: decoded entries of a shared store, held in process and re-checked against the store after l1MaxAge.
  const l1 = memory === undefined && settings.l1 ? new ByteLru<L1Slot>(maxMemoryBytes) : undefined
  const instanceId = randomUUID()

  /** Running regenerations, with the purge epoch they started in. */
  const inflight = new Map<string, { value: Promise<Held | undefined>; epoch: number }>()
  // Bumped when a purge starts: a regeneration that started before a purge may render pre-purge data, so a
  // caller that has nothing to serve must not join it after the purge, but start a new one.
  let purgeEpoch = 0
  // Regenerated entries whose write has not landed yet: lookups read them here, so a caller that got a
  // value from getOrSet finds it on its next call even while the store write is still under way.
  const landing = new Map<string, Held>()
  /** Each regeneration until its write has landed or failed, for close() to wait on. */
  const settling = new Set<Promise<void>>()
  const settlingByKey = new Map<string, Promise<void>>()
  /** Callers waiting for another instance's regeneration of a key to land, woken by writes and the feed. */
  const waiters = new Map<string, Set<() => void>>()
  const backoff = new BoundedMap<{ failures: number; retryAt: number }>(10_000)
  const touchedAt = new BoundedMap<number>(50_000)
  const tagCache = new BoundedMap<{ record: TagRecord | undefined; readAt: number }>(100_000)
  let tagEpoch = 0
  let closed = false

  const watch =
    options.bus !== undefined
      ? (id: string, handlers: ChangeHandlers) => busFeed(options.bus!, id, handlers)
      : driver.watch?.bind(driver)
  const feed = memory === undefined && watch
    ? watch(instanceId, {
        change(change) {
          if (change.type === 'written') {
            if (change.key.startsWith(namespacePrefix)) l1?.delete(change.key.slice(namespacePrefix.length))
            wake(change.key)
          } else {
            tagEpoch += 1
            for (const tag of change.tags) tagCache.delete(tag)
          }
        },
        resync() {
          l1?.clear()
          tagCache.clear()
          tagEpoch += 1
        },
        error(error) {
          report(new IsrCacheError('E_STORE_READ', `the change feed of the ${resolved.name} store failed: ${describeError(error)}`, { cause: error }))
        },
      })
    : undefined

  // The memory store belongs to this cache alone, so its keys need no namespace (and a hit then needs no
  // string building). L1 is keyed by the caller's key too; store keys carry the namespace.
  const namespacePrefix = `${settings.namespace}:`
  const storeKey = memory === undefined ? (key: string): string => namespacePrefix + key : (key: string): string => key
  const assertOpen = (): void => {
    if (closed) throw new IsrCacheError('E_CLOSED', 'this cache was closed; create a new one with createIsrCache()')
  }

  function wake(k: string): void {
    const waiting = waiters.get(k)
    if (waiting === undefined) return
    waiters.delete(k)
    for (const resolve of waiting) resolve()
  }

  function touchPolicy(key: string, at: number): TouchPolicy {
    const last = touchedAt.get(key)
    const due = last === undefined || at - last >= settings.touchIntervalMs
    if (due) touchedAt.set(key, at)
    return { until: at + settings.evictMs, due, now: at }
  }

  /** Tag records held locally and young enough, or undefined if any must be read from the store. */
  function tagRecordsSync(tags: readonly string[], at: number): Array<TagRecord | undefined> | undefined {
    if (memory !== undefined) return memory.readTagsSync(tags)
    const records: Array<TagRecord | undefined> = []
    for (const tag of tags) {
      const cached = tagCache.get(tag)
      if (cached === undefined || at - cached.readAt >= settings.tagCacheMs) return undefined
      records.push(cached.record)
    }
    return records
  }

  /** Tag records, from the local cache while younger than tagCacheTtl, else from the store in one call. */
  async function tagRecords(tags: readonly string[], at: number): Promise<Array<TagRecord | undefined>> {
    const missing: string[] = []
    for (const tag of tags) {
      const cached = tagCache.get(tag)
      if (cached === undefined || at - cached.readAt >= settings.tagCacheMs) missing.push(tag)
    }
    if (missing.length > 0) {
      const epoch = tagEpoch
      try {
        const records = await driver.readTags(missing)
        if (epoch === tagEpoch) missing.forEach((tag, i) => tagCache.set(tag, { record: records[i], readAt: at }))
        else return tags.map((tag) => records[missing.indexOf(tag)] ?? tagCache.get(tag)?.record)
      } catch (error) {
        // Serve with the records last seen: a purge may show late, but the page stays up. (A skipped call
        // while the circuit is open was reported once, when it opened.)
        if (!isSkipped(error)) report(asStoreError(error, 'E_STORE_READ', 'reading tag records failed'))
      }
    }
    return tags.map((tag) => tagCache.get(tag)?.record)
  }

  /** A call the circuit breaker skipped: reported once when the circuit opened, not per call. */
  function isSkipped(error: unknown): boolean {
    return error instanceof IsrCacheError && error.code === 'E_STORE_UNAVAILABLE'
  }

  function asStoreError(error: unknown, code: 'E_STORE_READ' | 'E_STORE_WRITE', what: string, key?: string): IsrCacheError {
    if (error instanceof IsrCacheError) return error
    return new IsrCacheError(code, `${what} (${resolved.name} store): ${describeError(error)}`, { cause: error, key })
  }

  function judgeAsync(held: Held, at: number, extraTags?: readonly string[]): Lookup | Promise<Lookup> {
    const tags = extraTags === undefined ? held.allTags : [...held.allTags, ...extraTags]
    // classify() reads the tags to check from meta.allTags; pass read-time tags along the same way.
    const meta = extraTags === undefined ? held : { ...held, allTags: tags }
    const decide = (records: ReadonlyArray<TagRecord | undefined>): Lookup => {
      const state = classify(meta, records, at)
      return state === 'expired' ? undefined : { held, state }
    }
    if (tags.length === 0) return decide(NO_RECORDS)
    const records = tagRecordsSync(tags, at)
    if (records !== undefined) return decide(records)
    return tagRecords(tags, at).then(decide)
  }

  /**
   * Finds an entry: a regeneration still landing, the memory store, a young L1 entry (all without a
   * promise where the tag records are at hand), else the store.
   */
  function lookup(key: string, extraTags?: readonly string[]): Lookup | Promise<Lookup> {
    const at = now()
    const landed = landing.get(key)
    if (landed !== undefined) return judgeAsync(landed, at, extraTags)
    if (memory !== undefined) {
      const entry = memory.readAt(key, at, at + settings.evictMs)
      return entry === undefined ? undefined : judgeAsync(withAllTags(entry), at, extraTags)
    }
    const k = storeKey(key)
    const cached = l1?.get(key)
    if (cached !== undefined && at - cached.checkedAt < settings.l1MaxAgeMs) {
      stats.l1Hits += 1
      return judgeAsync(cached.held, at, extraTags)
    }
    return readThrough(key, k, at, cached, extraTags)
  }

  async function readThrough(key: string, k: string, at: number, cached: L1Slot | undefined, extraTags?: readonly string[]): Promise<Lookup> {
    const previous = cached?.held
    let read: ReadResult
    try {
      read = await driver.read(k, touchPolicy(k, at))
    } catch (error) {
      if (!isSkipped(error)) report(asStoreError(error, 'E_STORE_READ', `reading "${key}" failed; served as a miss`, key))
      // Fail open: the store cannot say; what this instance holds is still the best answer.
      return previous === undefined ? undefined : judgeAsync(previous, at, extraTags)
    }
    if (read === undefined) {
      l1?.delete(key)
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
        l1?.delete(key)
        report(error instanceof IsrCacheError ? new IsrCacheError(error.code, `${error.message} (key "${key}")`, { cause: error.cause, key }) : asStoreError(error, 'E_STORE_READ', 'decode', key))
        return undefined
      }
    }
    if ('bytes' in read) l1?.set(key, { held, checkedAt: at, signature: envelopeSignature(read.bytes) }, read.bytes.length)
    return judgeAsync(held, at, extraTags)
  }

  /** `get` on the memory store, with nothing landing: the hot path, kept to the minimum of work. */
  function memoryGet<T>(key: string): CacheResult<T> | undefined {
    const at = now()
    const entry = memory!.readAt(key, at, at + settings.evictMs)
    let state: 'fresh' | 'stale' | 'expired' = 'expired'
    if (entry !== undefined) {
      const held = withAllTags(entry)
      state = classify(held, held.allTags.length === 0 ? NO_RECORDS : memory!.readTagsSync(held.allTags), at)
    }
    return answer(key, entry, state)
  }

  /**
   * `get` answered from a young L1 entry whose tag records are at hand, with nothing landing: no promise,
   * no store. Undefined when the slow path must answer.
   */
  function l1Get<T>(key: string): { result: CacheResult<T> | undefined } | undefined {
    const cached = l1!.get(key)
    if (cached === undefined) return undefined
    const at = now()
    if (at - cached.checkedAt >= settings.l1MaxAgeMs) return undefined
    const held = cached.held
    const records = held.allTags.length === 0 ? NO_RECORDS : tagRecordsSync(held.allTags, at)
    if (records === undefined) return undefined
    stats.l1Hits += 1
    return { result: answer(key, held, classify(held, records, at)) }
  }

  /** Counts a lookup and builds what `get` returns. */
  function answer<T>(key: string, entry: Entry | undefined, state: 'fresh' | 'stale' | 'expired'): CacheResult<T> | undefined {
    if (state === 'expired') {
      tally(key, 'miss')
      return undefined
    }
    const status = state === 'fresh' ? 'hit' : 'stale'
    tally(key, status)
    return { value: entry!.value as T, status, lastModified: entry!.lastModified, tags: entry!.tags }
  }

  function tally(key: string, status: CacheStatus): void {
    if (status === 'hit') stats.hits += 1
    else if (status === 'stale') stats.stale += 1
    else stats.misses += 1
    if (onEvent !== undefined) emit({ type: 'lookup', key, status })
  }

  function entryFrom(value: unknown, input: Record<string, unknown>, lastModified: number): Held {
    const tags = input.tags === undefined ? [] : checkTags(input.tags)
    const path = input.path === undefined ? undefined : checkPath(input.path)
    const revalidate = input.revalidate === undefined ? settings.revalidate : seconds('E_INVALID_INPUT', 'revalidate', input.revalidate, { allowFalse: true })
    let expire = input.expire === undefined ? settings.expire : (seconds('E_INVALID_INPUT', 'expire', input.expire, { positive: true }) as number)
    expire = Math.min(expire, settings.maxExpireMs / 1000)
    if (revalidate !== false && revalidate > expire) {
      throw new IsrCacheError('E_INVALID_INPUT', `revalidate (${revalidate} s) exceeds expire (${expire} s): the entry would expire before turning stale. Lower revalidate or raise expire`)
    }
    return withAllTags({ value, tags, path, lastModified, revalidate, expire })
  }

  /**
   * What the cache keeps of a value: a copy decoded from its encoded bytes, so that no object a caller holds
   * (the value passed to `set`, the one a regenerate function returned) is ever served to another lookup.
   * Every store and tier then gives the same value semantics. Throws `E_ENCODE`.
   */
  async function keep(held: Held): Promise<Kept> {
    const { bytes, value } = await encodeSnapshot(held, settings.compression)
    return { snapshot: withAllTags({ value, tags: held.tags, path: held.path, lastModified: held.lastModified, revalidate: held.revalidate, expire: held.expire }), bytes }
  }

  /** Writes a kept entry; store failures are reported, not thrown. */
  async function write(key: string, { snapshot: held, bytes }: Kept): Promise<boolean> {
    const at = now()
    const k = storeKey(key)
    const storeExpiresAt = Math.min(held.lastModified + held.expire * 1000, at + settings.evictMs)
    let written = false
    try {
      written = await driver.write({ key: k, entry: held, bytes, storeExpiresAt, now: at })
      touchedAt.set(k, at)
      stats.writes += 1
      if (written) {
        l1?.set(key, { held, checkedAt: at, signature: envelopeSignature(bytes) }, bytes.length)
        feed?.publish({ type: 'written', key: k })
      } else {
        l1?.delete(key) // the store holds something newer: read it next time
      }
    } catch (error) {
      // The store is failing: keep the entry in L1 so this instance serves it instead of re-rendering.
      l1?.set(key, { held, checkedAt: at, signature: undefined }, bytes.length)
      if (!isSkipped(error)) report(asStoreError(error, 'E_STORE_WRITE', `writing "${key}" failed; the value was still returned`, key))
    }
    wake(k)
    emit({ type: 'write', key, written })
    return written
  }

  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref())

  /** A lease held by this instance, extended in the background while the work runs. */
  async function takeLease(k: string, ttlMs: number): Promise<Lease | null | undefined> {
    const token = randomUUID()
    let acquired: boolean
    try {
      acquired = await driver.acquireLease(k, token, ttlMs, now())
    } catch (error) {
      // Fail open: without the store's word, regenerate here (at worst once per instance).
      if (!isSkipped(error)) {
        report(asStoreError(error, 'E_STORE_WRITE', 'taking a regeneration lease failed'))
        // The request may still run after its deadline (a busy Redis answers late): give back whatever it
        // takes. Sent on the same connection, the release runs after it, in order. Past the breaker, which
        // may have opened on this very failure: a clean-up must not be skipped.
        resolved.releaseLease(k, token).catch(() => {})
      }
      return undefined
    }
    if (!acquired) return null
    const timer = setInterval(() => {
      driver.extendLease(k, token, ttlMs, now()).catch(() => {}) // a lost lease expires by itself
    }, Math.max(50, ttlMs / 3))
    timer.unref()
    let released = false
    return {
      extend: () => driver.extendLease(k, token, ttlMs, now()).catch(() => false),
      release: async () => {
        if (released) return
        released = true
        clearInterval(timer)
        await driver.releaseLease(k, token).catch(() => {}) // expires by itself if this fails
      },
    }
  }

  /** The store's entry for a key if it is fresh now (L1 bypassed), else undefined. Store errors: undefined. */
  async function freshInStore(key: string, k: string): Promise<Held | undefined> {
    try {
      const at = now()
      const read = await driver.read(k, { until: at + settings.evictMs, due: false, now: at })
      if (read === undefined) return undefined
      const held = withAllTags('entry' in read ? read.entry : await decodeEntry(read.bytes))
      if ((await judgeAsync(held, at))?.state !== 'fresh') return undefined
      if ('bytes' in read) l1?.set(key, { held, checkedAt: at, signature: envelopeSignature(read.bytes) }, read.bytes.length)
      return held
    } catch {
      return undefined // fail open: regenerate
    }
  }

  /**
   * Another instance holds the lease of a missing key: wait for its entry (woken by the change feed or
   * by polling), or for the lease to come free, at most leaseWait. Then render here if still nothing.
   */
  async function awaitOtherInstance(key: string, k: string): Promise<{ held: Held } | { lease: Lease | undefined }> {
    stats.leaseWaits += 1
    const giveUpAt = performance.now() + settings.leaseWaitMs
    while (performance.now() < giveUpAt) {
      await new Promise<void>((resolve) => {
        let set = waiters.get(k)
        if (set === undefined) waiters.set(k, (set = new Set()))
        set.add(resolve)
        sleep(Math.min(LEASE_POLL_MS, Math.max(1, giveUpAt - performance.now()))).then(() => {
          set.delete(resolve)
          resolve()
        })
      })
      if (closed) break
      // Only a fresh entry will do: the store may still hold the purged or expired one we are replacing.
      const current = await freshInStore(key, k)
      if (current !== undefined) return { held: current }
      // The holder finished without writing, or crashed and its lease expired: take over. (A store that
      // fails gives undefined: render here, fail open.)
      const lease = await takeLease(k, settings.leaseTtlMs)
      if (lease !== null) return { lease }
    }
    return { lease: undefined }
  }

  function regenerate<T>(
    key: string,
    produce: (context: RegenerateContext<T>) => T | Promise<T>,
    input: Record<string, unknown>,
    stale: Held | undefined,
  ): Promise<Held | undefined> {
    const running = inflight.get(key)
    if (running !== undefined && running.epoch === purgeEpoch) return running.value
    const background = stale !== undefined
    const k = storeKey(key)
    const previous = settlingByKey.get(key)
    let lease: Lease | undefined
    stats.inflight += 1
    const run = (async (): Promise<Regenerated | undefined> => {
      // In one process the in-process single-flight is already exact; leases are for shared stores. A store
      // whose last call failed (this very lookup's read, typically) is not asked again: render here, fail open.
      if (settings.lease && memory === undefined && guarded?.failing !== true) {
        // The previous regeneration of this key may still be writing and holding the lease: let it finish.
        if (previous !== undefined) await previous

        const taken = await takeLease(k, settings.leaseTtlMs)
        if (taken === null) {
          // Another instance regenerates this key: a stale entry keeps being served meanwhile...
          if (background) return undefined
          // ...and a missing one is waited for.
          const waited = await awaitOtherInstance(key, k)
          if ('held' in waited) return { held: waited.held } // another instance's entry: not written again
          lease = waited.lease
        } else {
          lease = taken
        }
        // Double-check under the lease: another instance may have finished this key just before we took it.
        if (lease !== undefined) {
          const current = await freshInStore(key, k)
          if (current !== undefined) return { held: current }
        }
      }
      const startedAt = now()
      stats.regenerations += 1
      let value: T
      const context: RegenerateContext<T> = { key, staleValue: stale?.value as T | undefined }
      try {
        value = await produce(context)
      } catch (error) {
        stats.regenerationErrors += 1
        const failures = (backoff.get(key)?.failures ?? 0) + 1
        const delay = Math.min(settings.backoffInitialMs * 2 ** (failures - 1), settings.backoffMaxMs)
        backoff.set(key, { failures, retryAt: now() + delay })
        emit({ type: 'regenerate', key, background, ok: false, durationMs: now() - startedAt })
        throw new IsrCacheError(
          'E_REGENERATE',
          background
            ? `regenerating "${key}" failed; the stale entry stays and is retried after ${delay / 1000} s: ${describeError(error)}`
            : `regenerating "${key}" failed and there is no entry to serve: ${describeError(error)}`,
          { cause: error, key, background },
        )
      }
      backoff.delete(key)
      emit({ type: 'regenerate', key, background, ok: true, durationMs: now() - startedAt })
      // lastModified is when the regeneration started: data fetched by it may predate a purge issued meanwhile.
      const held = entryFrom(value, context.entryOptions === undefined ? input : { ...input, ...context.entryOptions }, startedAt)
      try {
        return { held, kept: await keep(held) }
      } catch (error) {
        // Unstorable (E_ENCODE): the callers still get their value; the failure is reported once it settles.
        return { held, kept: error instanceof IsrCacheError ? error : new IsrCacheError('E_ENCODE', describeError(error), { cause: error, key }) }
      }
    })()
    // Callers get the value regenerate returned (their own object, never what the cache keeps).
    const value = run.then((outcome) => outcome?.held)
    value.catch(() => {}) // a background run's failure is reported by `settled` below, whether or not anyone awaits it
    const claim = { value, epoch: purgeEpoch }
    inflight.set(key, claim)
    // Callers get the value as soon as it exists; lookups find it in `landing` until the write lands; the
    // lease is given up only then, so no other instance starts over in between.
    const settled = run
      .then(async (outcome) => {
        if (inflight.get(key) === claim) inflight.delete(key)
        const kept = outcome?.kept
        if (kept === undefined) return
        if (kept instanceof IsrCacheError) throw kept
        const held = kept.snapshot
        // An older regeneration finishing after a newer one must not shadow it.
        const newer = landing.get(key)
        if (newer === undefined || newer.lastModified <= held.lastModified) landing.set(key, held)
        try {
          await write(key, kept)
        } finally {
          if (landing.get(key) === held) landing.delete(key)
        }
      })
      .catch((error: unknown) => {
        if (inflight.get(key) === claim) inflight.delete(key)
        if (error instanceof IsrCacheError && (error.code !== 'E_REGENERATE' || background)) report(error)
      })
      .finally(async () => {
        await lease?.release()
        stats.inflight -= 1
        settling.delete(settled)
        if (settlingByKey.get(key) === settled) settlingByKey.delete(key)
      })
    settling.add(settled)
    settlingByKey.set(key, settled)
    return value
  }

  function timeout<T>(work: Promise<T>, ms: number, onTimeout: () => T | never): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<T>((resolve, reject) => {
      timer = setTimeout(() => {
        try {
          resolve(onTimeout())
        } catch (error) {
          reject(error)
        }
      }, ms)
    })
    return Promise.race([work, limit]).finally(() => clearTimeout(timer))
  }

  const cache: IsrCache = {
    storeKind: resolved.name,

    get<T>(key: string, getOptions?: GetOptions): Promise<CacheResult<T> | undefined> {
      // Not an async function, so that an in-memory hit allocates no extra promise; errors still reject.
      let found: Lookup | Promise<Lookup>
      try {
        assertOpen()
        checkKey(key)
        if (getOptions !== undefined) checkGetOptions(getOptions)
        const extraTags = getOptions?.tags === undefined ? undefined : checkTags(getOptions.tags, 'get options tags')
        if (extraTags !== undefined && extraTags.length > 0) {
          found = lookup(key, extraTags)
        } else if (landing.size === 0) {
          if (memory !== undefined) return Promise.resolve(memoryGet<T>(key))
          const fast = l1 === undefined ? undefined : l1Get<T>(key)
          if (fast !== undefined) return Promise.resolve(fast.result)
          found = lookup(key)
        } else {
          found = lookup(key)
        }
      } catch (error) {
        return Promise.reject(error)
      }
      if (found instanceof Promise) {
        return found.then((resolved) => {
          return answer<T>(key, resolved?.held, resolved?.state ?? 'expired')
        })
      }
      return Promise.resolve(answer<T>(key, found?.held, found?.state ?? 'expired'))
    },

    async set(key, value, options = {}) {
      assertOpen()
      checkKey(key)
      const input = checkObject(options, 'set options')
      checkKnown(input, SET_OPTION_NAMES, 'set options', 'E_INVALID_INPUT')
      let lastModified = now()
      if (input.lastModified !== undefined) {
        if (typeof input.lastModified !== 'number' || !Number.isFinite(input.lastModified) || input.lastModified < 0) {
          throw new IsrCacheError('E_INVALID_INPUT', `lastModified must be epoch milliseconds (a finite number ≥ 0); got ${String(input.lastModified)}`)
        }
        lastModified = input.lastModified
      }
      return write(key, await keep(entryFrom(value, input, lastModified)))
    },

    async getOrSet<T>(key: string, produce: (context: RegenerateContext<T>) => T | Promise<T>, options: GetOrSetOptions = {}) {
      assertOpen()
      checkKey(key)
      checkFunction(produce, 'the regenerate function (second argument of getOrSet)')
      const input = checkObject(options, 'getOrSet options')
      checkKnown(input, GET_OR_SET_OPTION_NAMES, 'getOrSet options', 'E_INVALID_INPUT')
      entryFrom(undefined, input, 0) // validates the entry options before any work
      const softTimeout = input.softTimeout === undefined ? undefined : (seconds('E_INVALID_INPUT', 'softTimeout', input.softTimeout, { positive: true }) as number)
      const hardTimeout = input.hardTimeout === undefined ? undefined : (seconds('E_INVALID_INPUT', 'hardTimeout', input.hardTimeout, { positive: true }) as number)
      if (softTimeout !== undefined && hardTimeout !== undefined && softTimeout > hardTimeout) {
        throw new IsrCacheError(
          'E_INVALID_INPUT',
          `softTimeout (${softTimeout} s) is longer than hardTimeout (${hardTimeout} s): a caller that has a stale page to serve would wait longer than one that has nothing. Make softTimeout shorter than hardTimeout`,
        )
      }

      const found = await lookup(key)
      tally(key, found === undefined ? 'miss' : found.state === 'fresh' ? 'hit' : 'stale')
      if (found !== undefined && found.state === 'fresh') {
        return { value: found.held.value as T, status: 'hit', lastModified: found.held.lastModified }
      }
      if (found !== undefined) {
        const stale: GetOrSetResult<T> = { value: found.held.value as T, status: 'stale', lastModified: found.held.lastModified }
        const waiting = backoff.get(key)
        if (inflight.has(key) || (waiting !== undefined && now() < waiting.retryAt)) return stale
        const running = regenerate(key, produce, input, found.held)
        if (softTimeout === undefined) return stale
        const fresh = running.then(
          (held): GetOrSetResult<T> => (held === undefined ? stale : { value: held.value as T, status: 'miss', lastModified: held.lastModified }),
          () => stale, // stale-if-error: the failure is reported by regenerate()
        )
        return timeout(fresh, softTimeout * 1000, () => stale)
      }
      const running = regenerate(key, produce, input, undefined).then((held): GetOrSetResult<T> => {
        // A miss always resolves to an entry (its own, or another instance's); never undefined.
        const entry = held!
        return { value: entry.value as T, status: 'miss', lastModified: entry.lastModified }
      })
      if (hardTimeout === undefined) return running
      return timeout(running, hardTimeout * 1000, () => {
        throw new IsrCacheError('E_HARD_TIMEOUT', `gave up waiting for the regeneration of "${key}" after ${hardTimeout} s (hardTimeout); it continues in the background and its result will be cached`, { key })
      })
    },

    async revalidateTag(tags, options = {}) {
      assertOpen()
      const list = checkTags(tags)
      const input = checkObject(options, 'revalidateTag options')
      checkKnown(input, ['expire'], 'revalidateTag options', 'E_INVALID_INPUT')
      await purge(list, input.expire)
    },

    async revalidatePath(path, options = {}) {
      assertOpen()
      const normalized = checkPath(path)
      const input = checkObject(options, 'revalidatePath options')
      checkKnown(input, ['type', 'expire'], 'revalidatePath options', 'E_INVALID_INPUT')
      const type = input.type ?? 'page'
      if (type !== 'page' && type !== 'layout') {
        throw new IsrCacheError('E_INVALID_INPUT', `revalidatePath type must be "page" (the path only) or "layout" (the path and everything below it); got ${JSON.stringify(type)}`)
      }
      await purge([type === 'page' ? pageTag(normalized) : layoutTag(normalized)], input.expire)
    },

    async delete(key) {
      assertOpen()
      checkKey(key)
      const k = storeKey(key)
      l1?.delete(key)
      try {
        await driver.delete(k)
      } catch (error) {
        const failure = asStoreError(error, 'E_STORE_WRITE', `deleting "${key}" failed`, key)
        report(failure)
        throw failure
      }
      feed?.publish({ type: 'written', key: k })
    },

    async acquireLease(key, leaseOptions = {}) {
      assertOpen()
      checkKey(key)
      const input = checkObject(leaseOptions, 'acquireLease options')
      checkKnown(input, ['ttl'], 'acquireLease options', 'E_INVALID_INPUT')
      const ttlMs = input.ttl === undefined ? settings.leaseTtlMs : (seconds('E_INVALID_INPUT', 'ttl', input.ttl, { positive: true }) as number) * 1000
      const lease = await takeLease(storeKey(key), ttlMs)
      // undefined from takeLease means the store failed: the caller may go ahead (fail open).
      if (lease === null) return undefined
      // Won: another instance may have stored this key and given the lease back a moment ago, before this
      // instance's L1 heard of the write. The next read of the key goes to the store.
      if (lease !== undefined) l1?.delete(key)
      return lease ?? { extend: async () => false, release: async () => {} }
    },

    stats() {
      return { ...stats }
    },

    async close() {
      if (closed) return
      closed = true
      if (settling.size > 0) {
        await Promise.race([Promise.all(settling), sleep(settings.writeTimeoutMs)])
      }
      await feed?.close()
      await driver.close()
      l1?.clear()
      closedDown = true
    },
  }

  async function purge(tags: string[], expireInput: unknown): Promise<void> {
    const expire = expireInput === undefined ? 0 : Math.min(seconds('E_INVALID_INPUT', 'expire', expireInput) as number, settings.maxExpireMs / 1000)
    purgeEpoch += 1
    try {
      await driver.purgeTags(tags, now(), expire, settings.maxExpireMs)
    } catch (error) {
      // A purge that did not happen must not look like one that did: report it and throw.
      const failure = asStoreError(error, 'E_STORE_WRITE', `purging ${tags.length} tag(s) failed`)
      report(failure)
      throw failure
    } finally {
      // Re-read these tags' records on next use, and drop reads that raced with this purge.
      tagEpoch += 1
      for (const tag of tags) tagCache.delete(tag)
    }
    feed?.publish({ type: 'purged', tags })
    stats.purges += 1
    emit({ type: 'purge', tags, expire })
  }

  return cache
}
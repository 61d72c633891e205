/**
 * Next.js `cacheHandler`: a class Next constructs per request (about three times), whose instances all
 * delegate to one shared core cache per store and process. Maps Next's value kinds, tags and lifetimes
 * onto the core, and Next's freshness signals (lastModified, cacheControl) back.
 */
import type { CacheResult } from '../../src/index.js'
import { pageLookupHold } from './batching.js'
import { seedFromBuild } from './prerender.js'
import { coreTags, isBuildPhase, lifetimes, nextMajor, purgeTags, shared, splitOptions, storageKey, type NextCacheValue, type NextIsrCacheOptions, type Shared, type StoredNextEntry } from './shared.js'

interface NextGetContext {
  kind?: string
  revalidate?: number | false
  tags?: string[]
  softTags?: string[]
  isFallback?: boolean
}

interface NextSetContext {
  kind?: string
  fetchCache?: boolean
  tags?: string[]
  cacheControl?: { revalidate: number | false; expire?: number }
}

/** What `get` hands back to Next (CacheHandlerValue). */
export interface NextCacheHandlerValue {
  lastModified: number
  value: NextCacheValue | null
  cacheControl?: { revalidate: number | false; expire: number | undefined }
}

/** The class shape Next expects for `cacheHandler`. */
export interface NextCacheHandlerClass {
  new (context?: { serverDistDir?: string }): {
    get(key: string, context?: NextGetContext): Promise<NextCacheHandlerValue | null>
    set(key: string, data: NextCacheValue | null, context?: NextSetContext): Promise<void>
    revalidateTag(tags: string | string[], durations?: { expire?: number }): Promise<void>
    resetRequestCache(): void
  }
}

type Scope = 'page' | 'fetch' | 'image'

function scopeOfGet(context: NextGetContext | undefined): Scope {
  if (context?.kind === 'FETCH') return 'fetch'
  if (context?.kind === 'IMAGE') return 'image'
  return 'page'
}

function scopeOfSet(data: NextCacheValue | null, context: NextSetContext | undefined): Scope {
  if (context?.fetchCache === true || data?.kind === 'FETCH') return 'fetch'
  if (context?.kind === 'IMAGE' || data?.kind === 'IMAGE') return 'image'
  return 'page'
}

/** The tags of a page or route entry live in its `x-next-cache-tags` header (explicit and implicit). */
function headerTags(data: NextCacheValue | null): string[] {
  const header = data?.headers?.['x-next-cache-tags']
  if (typeof header !== 'string' || header === '') return []
  return header.split(',')
}

const STALE_AGE_MS = 2000

/** How long a won page lease waits for Next to store the regenerated page (a setting for tests only). */
export const leaseHold = { ms: 60_000 }

/**
 * Creates the class for Next's `cacheHandler` option. Handlers made with the same store share one core
 * cache and one connection per process.
 *
 * ```js
 * // cache-handler.mjs
 * import { createNextCacheHandler } from 'isr-cache/next'
 * export default createNextCacheHandler({ store: process.env.ISR_CACHE_STORE })
 * ```
 */
export function createNextCacheHandler(options: NextIsrCacheOptions = {}): NextCacheHandlerClass {
  splitOptions(options) // bad options fail when the module loads, not at the first request
  let state: Shared | undefined
  const stateFor = (context: { serverDistDir?: string } | undefined): Shared => {
    if (state !== undefined) return state
    // serverDistDir is <distDir>/server.
    const serverDir = context?.serverDistDir
    return (state = shared(options, typeof serverDir === 'string' ? serverDir.replace(/[\\/]server[\\/]?$/, '') : undefined))
  }

  return class IsrCacheNextHandler {
    readonly #state: Shared

    // Next constructs the class two or three times per request: nothing here but finding the shared state.
    constructor(context?: { serverDistDir?: string }) {
      this.#state = stateFor(context)
    }

    /** Never throws: an error here would become a render error in Next. */
    get(key: string, context?: NextGetContext): Promise<NextCacheHandlerValue | null> {
      const s = this.#state
      const scope = scopeOfGet(context)
      if (scope !== 'page') return lookup(s, scope, key, context)
      if (s.options.batchPageLookups === false) return lookup(s, 'page', key, context)
      // Held until the end of this event-loop turn when requests are arriving together, so that Next's
      // response cache shares it with the requests for the same page that arrive meanwhile (batching.ts).
      const hold = pageLookupHold()
      const found = lookup(s, 'page', key, context)
      return hold === undefined ? found : heldUntil(hold, found)
    }

    set(key: string, data: NextCacheValue | null, context?: NextSetContext): Promise<void> {
      return store(this.#state, key, data, context)
    }

    async revalidateTag(tags: string | string[], durations?: { expire?: number }): Promise<void> {
      // Next: a profile ('max', 'hours', …) arrives as { expire: s } (serve stale, then fresh); no durations,
      // updateTag, revalidatePath and { expire: 0 } expire now.
      await purgeTags(this.#state, Array.isArray(tags) ? tags : [tags], durations?.expire)
    }

    resetRequestCache(): void {
      // Nothing per request: all state is shared and current.
    }
  }
}

async function heldUntil<T>(turn: Promise<void>, work: Promise<T>): Promise<T> {
  const value = await work
  await turn
  return value
}

/** What `get` answers for a Next key: the entry as Next should see it, or null (never throws). */
async function lookup(s: Shared, scope: Scope, key: string, context: NextGetContext | undefined): Promise<NextCacheHandlerValue | null> {
  try {
    const k = storageKey(s, scope, key)
    // Fetch entries learn at read time which page reads them: its implicit tags (and the fetch's own).
    const readTags = scope === 'fetch' ? coreTags([...(context?.tags ?? []), ...(context?.softTags ?? [])]) : undefined
    let found = await s.cache.get<StoredNextEntry>(k, readTags && readTags.length > 0 ? { tags: readTags } : undefined)
    if (found === undefined && scope === 'page' && s.options.seedPrerendered !== false && !isBuildPhase()) {
      found = await seedFromBuild(s, key, k)
    }
    if (found === undefined) return null
    const stored = found.value
    if (found.status === 'hit') {
      const lastModified = scope === 'page' ? awayFromStale(found.lastModified, stored.cacheControl) : found.lastModified
      return withControl({ lastModified, value: stored.value }, stored.cacheControl)
    }
    if (scope === 'page' && s.options.shield !== false) {
      const shielded = await shield(s, k, found)
      if (shielded !== undefined) return shielded
    }
    return staleValue(stored, scope, context)
  } catch (error) {
    s.report(error)
    return null
  }
}

/**
 * A stale page: only the instance holding the page's lease regenerates it. Returns what to answer instead
 * of "stale" (the entry as fresh for a lease lost, or the newer entry another instance just stored), or
 * undefined when this instance won the lease and Next should regenerate.
 */
async function shield(s: Shared, k: string, found: CacheResult<StoredNextEntry>): Promise<NextCacheHandlerValue | undefined> {
  if (s.leases.has(k)) return undefined // this instance's regeneration is under way
  const lease = await s.cache.acquireLease(k)
  if (lease === undefined) return withControl({ lastModified: Date.now(), value: found.value.value }, found.value.cacheControl)
  // Won. The stale entry may have been read just before another instance stored its regeneration and gave
  // the lease back (this process's L1 hears of that write a moment later): answering "stale" now would
  // render the page a second time. So ask the store itself first (winning the lease dropped the key from
  // L1, so this get reads the store).
  const current = await s.cache.get<StoredNextEntry>(k)
  if (current !== undefined && current.status === 'hit' && current.lastModified > found.lastModified) {
    void lease.release()
    return withControl({ lastModified: current.lastModified, value: current.value.value }, current.value.cacheControl)
  }
  s.leases.set(k, lease)
  // Released when Next stores the regenerated page (set). If it never does (the render threw, or Next gave
  // it up), given back after a minute: the lease is extended for as long as it is held, so keeping it would
  // stop every instance from ever regenerating the page again.
  setTimeout(() => {
    if (s.leases.get(k) !== lease) return
    s.leases.delete(k)
    void lease.release()
  }, leaseHold.ms).unref()
  return undefined
}

/** What `set` stores for a Next value, with its tags and lifetimes; releases this instance's lease for it. */
async function store(s: Shared, key: string, data: NextCacheValue | null, context: NextSetContext | undefined): Promise<void> {
  const scope = scopeOfSet(data, context)
  const k = storageKey(s, scope, key)
  try {
    let tags: string[] = []
    let life: { revalidate?: number | false; expire: number }
    if (scope === 'fetch') {
      tags = coreTags(context?.tags)
      life = lifetimes(s, typeof data?.revalidate === 'number' ? data.revalidate : undefined, undefined)
    } else {
      tags = scope === 'page' ? coreTags(headerTags(data)) : []
      life = lifetimes(s, context?.cacheControl?.revalidate, context?.cacheControl?.expire)
    }
    const entry: StoredNextEntry = { value: data }
    if (context?.cacheControl !== undefined) {
      entry.cacheControl = { revalidate: context.cacheControl.revalidate, expire: context.cacheControl.expire }
    }
    await s.cache.set(k, entry, { tags, ...life })
  } catch (error) {
    s.report(error)
  } finally {
    const lease = s.leases.get(k)
    if (lease !== undefined) {
      s.leases.delete(k)
      await lease.release().catch(() => {})
    }
  }
}

/**
 * The lastModified to give Next for a page isr-cache found fresh. Next judges staleness again by itself
 * (lastModified + revalidate against its own clock), a moment after this lookup, and later still under
 * load: a page found fresh just before its revalidate time would turn stale in between, on every instance
 * at once, each regenerating it without a lease. So a fresh page is made to look at least a margin (2 s,
 * or half its revalidate) away from it: only isr-cache, and the lease, decide when a page is stale.
 */
function awayFromStale(lastModified: number, cacheControl: StoredNextEntry['cacheControl']): number {
  const revalidate = cacheControl?.revalidate
  if (typeof revalidate !== 'number' || revalidate <= 0) return lastModified
  return Math.max(lastModified, Date.now() - revalidate * 1000 + Math.min(STALE_AGE_MS, revalidate * 500))
}

function withControl(value: NextCacheHandlerValue, cacheControl: StoredNextEntry['cacheControl']): NextCacheHandlerValue {
  if (cacheControl !== undefined) value.cacheControl = cacheControl
  return value
}

/**
 * How to make Next serve an entry stale and regenerate it in the background: Next has no "stale" flag, it
 * compares lastModified with the revalidate time. So the entry is aged past a revalidate time it is given.
 */
function staleValue(stored: StoredNextEntry, scope: Scope, context: NextGetContext | undefined): NextCacheHandlerValue | null {
  const now = Date.now()
  if (scope === 'fetch') {
    // Next judges a fetch entry by the fetch's own revalidate; "infinite" (force-cache) cannot be aged past,
    // so such a fetch is refetched while the page waits instead.
    const revalidate = typeof context?.revalidate === 'number' && context.revalidate > 0 ? context.revalidate : stored.value?.revalidate
    if (typeof revalidate !== 'number' || revalidate <= 0 || revalidate > 31_536_000) return null
    return { lastModified: now - revalidate * 1000 - STALE_AGE_MS, value: stored.value }
  }
  const revalidate = stored.cacheControl?.revalidate
  const expire = stored.cacheControl?.expire
  if (typeof revalidate === 'number' && revalidate > 0) {
    // Aged past its own revalidate: stale for Next 16 (which reads cacheControl) and 15 (which knows the
    // page's revalidate from its own set or the prerender manifest) alike.
    const lastModified = now - revalidate * 1000 - STALE_AGE_MS
    if (typeof expire === 'number' && now >= lastModified + expire * 1000) return null
    return { lastModified, value: stored.value, cacheControl: { revalidate, expire } }
  }
  // revalidate false (only on demand): Next 16 can be told a 1 s revalidate; Next 15 reads no cacheControl
  // from get, so there the page is regenerated while the request waits.
  if (nextMajor() < 16) return null
  return {
    lastModified: now - STALE_AGE_MS,
    value: stored.value,
    cacheControl: { revalidate: 1, expire: typeof expire === 'number' && expire * 1000 > STALE_AGE_MS * 2 ? expire : undefined },
  }
}


/**
 * What both Next.js handlers share: one core cache per store and process (Next constructs the
 * `cacheHandler` class about three times per request, and loads the `'use cache'` handler separately), the
 * default store, the build id, and the mapping of Next's keys and tags onto the core's.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { createIsrCache, IsrCacheError, type IsrCache, type IsrCacheOptions } from '../../src/index.js'
import { createDefaultReporter } from '../../src/report.js'

/** Options of `createNextCacheHandler` and `createNextUseCacheHandler`: the core's, plus these. */
export interface NextIsrCacheOptions extends IsrCacheOptions {
  /**
   * Page entries (App Router pages and routes, Pages Router pages) are kept per build: a new deploy never
   * serves an old build's HTML, and a rollback finds its pages warm. Default: the build id from
   * `.next/BUILD_ID`. A string sets it; `false` shares page entries between builds. Data entries (`fetch`,
   * `unstable_cache`, images) are always shared between builds; `'use cache'` keys carry the build id.
   */
  buildId?: string | false
  /**
   * Serve pages prerendered by `next build` from the build output on their first request (and store them,
   * never over a newer entry), so that it is a HIT rather than a re-render. Default true.
   */
  seedPrerendered?: boolean
  /**
   * Cluster-wide cache shielding: of the instances that see the same stale page, only the one that wins the
   * page's lease gets it as stale (and regenerates it); the others get it as fresh until the new one lands.
   * Default true.
   */
  shield?: boolean
  /** Next's dist directory. Default: taken from Next's handler context, else `.next` in the working directory. */
  distDir?: string
  /**
   * Let the requests for a page that arrive together share one lookup. Next's response cache hands one
   * in-flight lookup of a page to every request for it that arrives meanwhile, but a lookup answered from
   * memory settles before the server has read the next request, so each request would pay for its own. With
   * this on, a page lookup answers no earlier than the end of the event-loop turn it started in (a
   * `setImmediate`, shared by all lookups of the turn; nothing more for one that read the store). Under load
   * that serves more requests from the same CPU; on an idle server a lookup only waits for the rest of the
   * turn its request arrived in (the check phase that follows the request's own I/O callback).
   * Fetch-scope lookups (`fetch`, `unstable_cache` inside renders) are never held. Default true; `false`
   * answers every lookup as soon as it is known.
   */
  batchPageLookups?: boolean
}

/** The parts of Next's value kinds the adapter reads (the rest is stored and returned as is). */
export type NextCacheValue = { kind: string; headers?: Record<string, unknown>; revalidate?: number; [field: string]: unknown }

/**
 * What the page handler keeps per entry: Next's value as given, and the lifetimes Next gave with it. Here,
 * below both the handler and the build seeding (prerender.ts), which write and read this form.
 */
export interface StoredNextEntry {
  value: NextCacheValue | null
  cacheControl?: { revalidate: number | false; expire: number | undefined }
}

const NEXT_OPTIONS = ['buildId', 'seedPrerendered', 'shield', 'distDir', 'batchPageLookups'] as const

export interface Shared {
  cache: IsrCache
  options: NextIsrCacheOptions
  distDir: string
  buildId: string | undefined
  /** Leases this process holds for pages it reported as stale, released when Next's regeneration is stored. */
  leases: Map<string, { release(): Promise<void> }>
  /** Purges started in the current synchronous run, by tags and lifetime (see `purgeTags`). */
  purgesThisRun: Map<string, Promise<unknown>>
  report(error: unknown): void
  /** The core's default and maximum `expire`, in seconds. */
  defaultExpire: number
  maxExpire: number
}

const REGISTRY = Symbol.for('isr-cache.next.registry')
type Registry = Map<unknown, Shared>

function registry(): Registry {
  const holder = globalThis as { [REGISTRY]?: Registry }
  holder[REGISTRY] ??= new Map()
  return holder[REGISTRY]
}

export const isBuildPhase = (): boolean => process.env.NEXT_PHASE === 'phase-production-build'

function hasPackage(name: string): boolean {
  try {
    createRequire(join(process.cwd(), 'package.json')).resolve(name)
    return true
  } catch {
    try {
      createRequire(import.meta.url).resolve(name)
      return true
    } catch {
      return false
    }
  }
}

/** The major version of the Next.js that `require` would load from the file `from` (16 when it cannot be told). */
export function nextMajorFrom(from: string): number {
  try {
    const version = (createRequire(from)('next/package.json') as { version: string }).version
    return Number.parseInt(version, 10) || 16
  } catch {
    return 16
  }
}

let major: number | undefined
/** The major version of the Next.js the app runs (16 when it cannot be told). */
export function nextMajor(): number {
  major ??= nextMajorFrom(join(process.cwd(), 'package.json'))
  return major
}

function readBuildId(distDir: string): string | undefined {
  try {
    return readFileSync(join(distDir, 'BUILD_ID'), 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}

export function splitOptions(options: NextIsrCacheOptions = {}): { core: IsrCacheOptions; next: NextIsrCacheOptions } {
  if (typeof options !== 'object' || options === null) {
    throw new IsrCacheError('E_INVALID_OPTION', `the Next.js handler options must be an object; got ${String(options)}`)
  }
  const core: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(options)) if (!(NEXT_OPTIONS as readonly string[]).includes(name)) core[name] = value
  if (options.buildId !== undefined && options.buildId !== false && (typeof options.buildId !== 'string' || options.buildId === '')) {
    throw new IsrCacheError('E_INVALID_OPTION', `option buildId must be a non-empty string or false; got ${JSON.stringify(options.buildId)}`)
  }
  for (const name of ['seedPrerendered', 'shield', 'batchPageLookups'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'boolean') {
      throw new IsrCacheError('E_INVALID_OPTION', `option ${name} must be true or false; got ${JSON.stringify(options[name])}`)
    }
  }
  return { core: core as IsrCacheOptions, next: options }
}

/**
 * The shared state for these options: made once per store and process. Called lazily (at the first
 * construction or call), so that importing a handler module never connects anywhere.
 */
export function shared(options: NextIsrCacheOptions, contextDistDir?: string): Shared {
  const { core, next } = splitOptions(options)
  const distDir = next.distDir ?? contextDistDir ?? join(process.cwd(), '.next')
  const registryKey = core.store === undefined ? `default:${distDir}` : typeof core.store === 'string' ? `${core.store}|${core.prefix ?? ''}` : core.store
  const existing = registry().get(registryKey)
  if (existing !== undefined) return existing

  let store = core.store
  if (store === undefined) {
    // A durable default: a SQLite file next to Next's own cache, when the package is there.
    if (hasPackage('@keyv/sqlite')) {
      const file = join(distDir, 'cache', 'isr-cache.sqlite')
      store = `sqlite://${file}`
      if (!isBuildPhase()) console.log(`[isr-cache] Next.js cache on the SQLite file ${relative(process.cwd(), file)} (set store to a Redis URL to share it between instances)`)
    } else {
      store = 'memory://'
      if (!isBuildPhase()) console.log('[isr-cache] Next.js cache in memory (install @keyv/sqlite for a durable default, or set store to a Redis URL)')
    }
  }

  // During `next build`, a store that cannot be reached must cost one warning, not a hang or a log per page.
  let warnedAtBuild = false
  const fallbackReporter = createDefaultReporter()
  const userOnError = core.onError
  const report = (error: unknown): void => {
    const failure = error instanceof IsrCacheError ? error : new IsrCacheError('E_STORE_READ', `the Next.js handler failed: ${String((error as Error)?.message ?? error)}`, { cause: error })
    if (userOnError !== undefined) {
      try {
        userOnError(failure)
      } catch {
        // a throwing sink must not break a page
      }
      return
    }
    if (isBuildPhase()) {
      if (!warnedAtBuild) {
        warnedAtBuild = true
        console.warn(`[isr-cache] the cache store is not usable during next build (${failure.message}); building without it (pages are still built)`)
      }
      return
    }
    fallbackReporter(failure)
  }
  const cache = createIsrCache({
    ...core,
    store,
    ...(isBuildPhase() ? { readTimeout: Math.min(core.readTimeout ?? 1, 0.5), writeTimeout: Math.min(core.writeTimeout ?? 5, 1), circuitBreaker: { failures: 1, cooldown: 3600 } } : {}),
    onError: report,
  })
  const buildId = next.buildId === false ? undefined : (next.buildId ?? readBuildId(distDir))
  const YEAR = 365 * 24 * 60 * 60
  const defaultExpire = core.expire ?? YEAR
  const maxExpire = core.maxExpire ?? Math.max(defaultExpire, YEAR)
  const state: Shared = { cache, options: next, distDir, buildId, leases: new Map(), purgesThisRun: new Map(), report, defaultExpire, maxExpire }
  registry().set(registryKey, state)
  return state
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The core key of a Next key: build-scoped for pages, shared for data; hashed when too long. */
export function storageKey(state: Shared, scope: 'page' | 'fetch' | 'image' | 'use-cache', key: string): string {
  const body = key.length > 1000 ? `#${sha256(key)}` : key
  if (scope === 'page') return `page:${state.buildId ?? 'any'}:${body}`
  return `${scope}:${body}`
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** Next's tags as core tags: the same string, or a hash for one the core would refuse (too long, control characters). */
export function coreTag(tag: string): string {
  return tag.length === 0 || tag.length > 256 || CONTROL.test(tag) ? `#${sha256(tag)}` : tag
}

export function coreTags(tags: Iterable<string> | undefined): string[] {
  const out = new Set<string>()
  for (const tag of tags ?? []) if (typeof tag === 'string') out.add(coreTag(tag))
  return [...out].slice(0, 512)
}

/**
 * A Next purge of `tags`: `revalidateTag` / `revalidatePath` on the cacheHandler, `updateTags` /
 * `expireTags` on the 'use cache' handler. `expire` (seconds) from a profile serves the tagged entries
 * stale once; none, or 0, expires them now.
 *
 * Next calls both handlers for every purge, one right after the other in one synchronous run, and both are
 * this one shared core: the second call with the same tags and lifetime joins the first instead of purging
 * the store (and waiting for every instance's acknowledgement) a second time. Only within that run: a purge
 * asked for later purges again, even while the first is in flight, since an entry stored in between may
 * predate the change the later purge is for.
 */
export function purgeTags(state: Shared, tags: readonly string[], expire: number | undefined): Promise<unknown> {
  const list = coreTags(tags)
  if (list.length === 0) return Promise.resolve()
  const soft = typeof expire === 'number' && expire > 0
  // Tags never hold a control character (coreTag hashes those), so a line break cannot be part of one.
  const key = `${soft ? expire : 0}\n${list.join('\n')}`
  const joined = state.purgesThisRun.get(key)
  if (joined !== undefined) return joined
  if (state.purgesThisRun.size === 0) queueMicrotask(() => state.purgesThisRun.clear())
  const purge = state.cache.revalidateTag(list, soft ? { expire } : {})
  state.purgesThisRun.set(key, purge)
  return purge
}

/**
 * Seconds from Next's lifetimes, made acceptable to the core: revalidate never above expire (Next uses
 * 4294967294, "infinite", for both), the cache's own `expire` where Next gives none.
 */
export function lifetimes(
  state: Shared,
  revalidate: number | false | undefined,
  expire: number | undefined,
): { revalidate?: number | false; expire: number } {
  const given = typeof expire === 'number' && Number.isFinite(expire) && expire > 0 ? expire : state.defaultExpire
  const hard = Math.min(given, state.maxExpire)
  if (revalidate === false || revalidate === undefined) return revalidate === false ? { revalidate: false, expire: hard } : { expire: hard }
  if (!Number.isFinite(revalidate) || revalidate < 0) return { expire: hard }
  // Past the hard limit a revalidation would never be seen: that is "only on demand".
  return revalidate >= hard ? { revalidate: false, expire: hard } : { revalidate, expire: hard }
}

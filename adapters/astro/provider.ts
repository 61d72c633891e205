/**
 * `isrCacheProvider()` for Astro 7's `cache: { provider }` (Astro 6: `experimental.cache.provider`): what
 * `astro.config.mjs` holds. Astro writes the provider's `config` into the server build, so it holds only
 * serialisable, non-secret options; the store URL and the bypass token are read when the server starts
 * (`ISR_CACHE_STORE`, `ISR_CACHE_PREFIX`, `ISR_CACHE_BYPASS_TOKEN`) by the runtime module, provider-runtime.ts.
 */
import { createHash } from 'node:crypto'
import type { IsrCacheOptions } from '../../src/cache.js'
import { IsrCacheError } from '../../src/errors.js'
import { createIsrHandler, type IsrHandlerOptions } from '../../src/http/handler.js'

/** The module Astro imports at run time (an `exports` subpath of this package). */
export const PROVIDER_ENTRYPOINT = 'isr-cache/astro/provider'

/** Options of `createIsrCache` that may be written into a build: plain data (no store, no functions). */
export type ProviderCacheOptions = Pick<
  IsrCacheOptions,
  'namespace' | 'prefix' | 'revalidate' | 'expire' | 'maxExpire' | 'evictUnaccessedAfter' | 'touchInterval' | 'readTimeout' | 'writeTimeout' | 'tagCacheTtl' | 'maxMemoryBytes' | 'lease' | 'circuitBreaker' | 'compression' | 'retryBackoff'
>

/** Options of `isrCacheProvider`: those of `createIsrHandler` but `cache` and `now`, plus `cacheOptions`. */
export interface IsrCacheProviderOptions extends Omit<IsrHandlerOptions, 'cache' | 'now' | 'bypassToken'> {
  /**
   * The `x-isr-cache-bypass` token. Prefer `ISR_CACHE_BYPASS_TOKEN` at run time (it wins over this option):
   * a token given here is written into the build as its SHA-256 digest, never as the token.
   */
  bypassToken?: string
  /**
   * Options of the cache the provider creates (`createIsrCache`), as plain data: e.g. `{ prefix: 'blog' }`.
   * The store is never one of them: it is `ISR_CACHE_STORE` at run time (e.g. `redis://…`), else the
   * embedded default (in memory). `ISR_CACHE_PREFIX`, when set, wins over `prefix`.
   */
  cacheOptions?: ProviderCacheOptions
}

/** What the provider's runtime module receives: JSON, written into the server build. */
export interface IsrProviderConfig {
  handler: Omit<IsrHandlerOptions, 'cache' | 'now' | 'bypassToken'> & { bypassToken?: { sha256: string } }
  cacheOptions: ProviderCacheOptions
}

/** Astro's `CacheProviderConfig`: `cache: { provider: isrCacheProvider() }`. */
export interface IsrCacheProviderConfig {
  name: string
  entrypoint: string
  config: IsrProviderConfig
}

const CACHE_OPTION_NAMES = new Set(['namespace', 'prefix', 'revalidate', 'expire', 'maxExpire', 'evictUnaccessedAfter', 'touchInterval', 'readTimeout', 'writeTimeout', 'tagCacheTtl', 'maxMemoryBytes', 'lease', 'circuitBreaker', 'compression', 'retryBackoff'])

function providerError(message: string): IsrCacheError {
  return new IsrCacheError('E_INVALID_OPTION', `isrCacheProvider: ${message}`)
}

/** A stand-in cache, so that createIsrHandler validates the handler options when the config is loaded. */
const validationCache = { getOrSet: () => Promise.reject(new Error('unused')), get: () => Promise.resolve(undefined), set: () => Promise.resolve(false) } as unknown as IsrHandlerOptions['cache']

/** Whether `value` survives JSON (what Astro writes into the build): plain data only. */
function isPlainData(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(isPlainData)
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).every((entry) => entry === undefined || isPlainData(entry))
  return false
}

/**
 * The Astro 7 cache provider backed by isr-cache: `cache: { provider: isrCacheProvider() }` in
 * `astro.config.mjs`. Pages keep Astro's API (`Astro.cache.set({ maxAge, swr, tags })`, `routeRules`);
 * `context.cache.invalidate({ tags } | { path })` purges the shared store, for every instance.
 * Takes the options of `createIsrHandler` other than `cache` (`routes` for `allowQuery` and rules
 * `routeRules` cannot express, `previewCookie`, `vary`, …) and `cacheOptions`. Throws `IsrCacheError`
 * `E_INVALID_OPTION` for bad options, when the config is loaded.
 */
export function isrCacheProvider(options: IsrCacheProviderOptions = {}): IsrCacheProviderConfig {
  if (typeof options !== 'object' || options === null) throw providerError('pass an options object, or nothing: isrCacheProvider({ routes })')
  const { cacheOptions = {}, bypassToken, ...handler } = options
  if ('cache' in handler) throw providerError('option cache is not accepted: the provider creates its cache at run time from ISR_CACHE_STORE (else in memory); give plain options in cacheOptions')
  if ('now' in handler) throw providerError('option now is not accepted: a function cannot be written into the build')
  if (bypassToken !== undefined && typeof bypassToken !== 'string') throw providerError('option bypassToken must be a string; better, leave it out and set ISR_CACHE_BYPASS_TOKEN at run time')
  if (typeof cacheOptions !== 'object' || cacheOptions === null) throw providerError('option cacheOptions must be an object of createIsrCache options, e.g. { prefix: "blog" }')
  for (const name of Object.keys(cacheOptions)) {
    if (!CACHE_OPTION_NAMES.has(name)) {
      throw providerError(
        name === 'store'
          ? 'cacheOptions.store is not accepted: the store is read at run time from ISR_CACHE_STORE (e.g. redis://127.0.0.1:6379), never written into the build'
          : `cacheOptions.${name} is not accepted here; known: ${[...CACHE_OPTION_NAMES].join(', ')}`,
      )
    }
  }
  if (!isPlainData(cacheOptions)) throw providerError('option cacheOptions must hold plain data (numbers, strings, booleans, objects): Astro writes it into the build')
  if (!isPlainData(handler)) throw providerError('options must be plain data (numbers, strings, booleans, arrays, objects): Astro writes them into the build')
  // The handler's own checks, now rather than at the first request.
  createIsrHandler({ ...handler, cache: validationCache })
  const config: IsrProviderConfig = { handler: { ...handler }, cacheOptions: { ...cacheOptions } }
  if (bypassToken) config.handler.bypassToken = { sha256: createHash('sha256').update(bypassToken, 'utf8').digest('hex') }
  return { name: 'isr-cache', entrypoint: PROVIDER_ENTRYPOINT, config }
}

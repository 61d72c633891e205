/**
 * The cache's settings at start-up: runtime config first (`NUXT_ISR_CACHE_…` on Nuxt, `NITRO_ISR_CACHE_…` on
 * plain Nitro, which Nitro maps onto `runtimeConfig.isrCache`), then the framework-neutral `ISR_CACHE_…`
 * variables, then an embedded durable default. Nothing here is baked into the build.
 */
import { join } from 'node:path'

/** `runtimeConfig.isrCache` (all strings: Nitro's environment overrides are strings). */
export interface IsrRuntimeConfig {
  store?: string
  secret?: string
  bypassToken?: string
  prefix?: string
  namespace?: string
}

export interface ResolvedSettings {
  /** The store URL given to `createIsrCache`. */
  store: string
  /** Where the store came from, for the start-up log line. */
  storeSource: 'runtime config' | 'ISR_CACHE_STORE' | 'the embedded default, SQLite' | 'the embedded default, in memory'
  secret: string | undefined
  bypassToken: string | undefined
  prefix: string | undefined
  namespace: string | undefined
}

const nonEmpty = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined)

/**
 * `config`: `useRuntimeConfig().isrCache`; `env`: `process.env`; `hasSqlite`: whether `@keyv/sqlite` can be
 * loaded; `dataDir`: the server's data directory (the embedded SQLite file goes there).
 */
export function resolveSettings(config: IsrRuntimeConfig | undefined, env: Record<string, string | undefined>, hasSqlite: boolean, dataDir: string): ResolvedSettings {
  const pick = (key: keyof IsrRuntimeConfig, variable: string) => nonEmpty(config?.[key]) ?? nonEmpty(env[variable])
  const fromConfig = nonEmpty(config?.store)
  const fromEnv = nonEmpty(env.ISR_CACHE_STORE)
  let store: string
  let storeSource: ResolvedSettings['storeSource']
  if (fromConfig !== undefined) [store, storeSource] = [fromConfig, 'runtime config']
  else if (fromEnv !== undefined) [store, storeSource] = [fromEnv, 'ISR_CACHE_STORE']
  else if (hasSqlite) [store, storeSource] = [`sqlite://${join(dataDir, 'isr-cache.sqlite')}`, 'the embedded default, SQLite']
  else [store, storeSource] = ['memory://', 'the embedded default, in memory']
  return {
    store,
    storeSource,
    secret: pick('secret', 'ISR_CACHE_SECRET'),
    bypassToken: pick('bypassToken', 'ISR_CACHE_BYPASS_TOKEN'),
    prefix: pick('prefix', 'ISR_CACHE_PREFIX'),
    namespace: pick('namespace', 'ISR_CACHE_NAMESPACE'),
  }
}

/** A store URL fit for a log line: no password. */
export function describeStore(store: string): string {
  try {
    const url = new URL(store)
    if (url.password !== '') url.password = '***'
    return url.toString()
  } catch {
    return store
  }
}

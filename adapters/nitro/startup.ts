/**
 * What the Nitro plugin does when the server starts, on Nitro 2 and Nitro 3 alike (each major's plugin file
 * only finds its runtime config and the in-process fetch): make the app's cache from runtime config, say in
 * one line which store it uses and whether the revalidation endpoint is on, and close the cache when Nitro
 * closes (so the server exits promptly on SIGTERM).
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { createIsrCache } from '../../src/index.js'
import { IsrCacheError, describeError } from '../../src/errors.js'
import { createRevalidationHandler } from '../../src/http/revalidate.js'
import { describeStore, resolveSettings, type IsrRuntimeConfig } from './settings.js'
import { nitroState, type NitroAppLike } from './state.js'

type PluginConfig = IsrRuntimeConfig & { revalidationPath?: string; nuxtPayloads?: boolean; envPrefix?: string }

/** Whether a package can be loaded: from here, or (Nitro rewrites import.meta.url) from beside the server's entry. */
function canLoad(name: string): boolean {
  for (const from of [import.meta.url, process.argv[1]]) {
    try {
      if (from) {
        createRequire(from).resolve(name)
        return true
      }
    } catch {
      // Not from there.
    }
  }
  return false
}

function openRevalidation(config: PluginConfig, env: string, secret: string | undefined): void {
  const state = nitroState()
  state.revalidate = undefined
  if (!config.revalidationPath) return
  if (secret === undefined) {
    console.log(`[isr-cache] revalidation endpoint ${config.revalidationPath} is off: set ${env}ISR_CACHE_SECRET (or ISR_CACHE_SECRET) to serve it`)
    return
  }
  try {
    state.revalidate = createRevalidationHandler({ cache: state.cache!, secret })
  } catch (error) {
    console.error(`[isr-cache] revalidation endpoint ${config.revalidationPath} is off: ${describeError(error)}`)
  }
}

/** Sets up the process's cache for `nitroApp`, from the app's runtime config (`runtime.isrCache`, `runtime.app.buildId`). */
export function startIsrCache(nitroApp: NitroAppLike, runtime: Record<string, unknown> & { app?: { buildId?: string } }): void {
  const config = (runtime.isrCache ?? {}) as PluginConfig
  const env = config.envPrefix ?? 'NUXT_'
  const settings = resolveSettings(config, process.env, canLoad('@keyv/sqlite'), join(process.cwd(), '.data'))
  // Nuxt's build id: a deployment's pages link to its own assets, so a new build must not serve the last one's pages.
  const namespace = settings.namespace ?? (runtime.app?.buildId || undefined)
  let cache
  try {
    cache = createIsrCache({ store: settings.store, ...(settings.prefix ? { prefix: settings.prefix } : {}), ...(namespace ? { namespace } : {}) })
  } catch (error) {
    throw new IsrCacheError('E_INVALID_OPTION', `[isr-cache] the store from ${env}ISR_CACHE_STORE / ISR_CACHE_STORE (${describeStore(settings.store)}) cannot be used: ${describeError(error)}`, { cause: error })
  }
  const state = nitroState()
  state.cache = cache
  state.nitroApp = nitroApp
  state.settings = { bypassToken: settings.bypassToken, secret: settings.secret, previewCookie: false, nuxtPayloads: config.nuxtPayloads === true }
  console.log(`[isr-cache] store: ${describeStore(settings.store)} (${settings.storeSource}${settings.storeSource.startsWith('the embedded') ? `; set ${env}ISR_CACHE_STORE=redis://… to share it between instances` : ''})`)
  openRevalidation(config, env, settings.secret)
  nitroApp.hooks.hook('close', async () => {
    if (state.cache === cache) state.cache = undefined
    await cache.close().catch(() => {})
  })
}

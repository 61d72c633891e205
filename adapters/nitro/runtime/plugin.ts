/// <reference path="./nitropack.d.ts" />
/**
 * The isr-cache Nitro plugin (registered by the module; Nitro bundles this file): makes the app's cache from
 * runtime config when the server starts, says in one line which store it uses and whether the revalidation
 * endpoint is on, and closes the cache when Nitro closes (so the server exits promptly on SIGTERM).
 */
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { useRuntimeConfig } from 'nitropack/runtime'
import { createIsrCache } from '../../../src/index.js'
import { IsrCacheError, describeError } from '../../../src/errors.js'
import { createRevalidationHandler } from '../../../src/http/revalidate.js'
import { describeStore, resolveSettings, type IsrRuntimeConfig } from '../settings.js'
import { nitroState, type NitroAppLike } from '../state.js'

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

export default function isrCachePlugin(nitroApp: NitroAppLike): void {
  const runtime = useRuntimeConfig()
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
  state.revalidate = undefined
  if (config.revalidationPath) {
    if (settings.secret === undefined) {
      console.log(`[isr-cache] revalidation endpoint ${config.revalidationPath} is off: set ${env}ISR_CACHE_SECRET (or ISR_CACHE_SECRET) to serve it`)
    } else {
      try {
        state.revalidate = createRevalidationHandler({ cache, secret: settings.secret })
      } catch (error) {
        console.error(`[isr-cache] revalidation endpoint ${config.revalidationPath} is off: ${describeError(error)}`)
      }
    }
  }
  nitroApp.hooks.hook('close', async () => {
    if (state.cache === cache) state.cache = undefined
    await cache.close().catch(() => {})
  })
}

/// <reference path="./nitropack.d.ts" />
/**
 * The isr-cache Nitro 2 plugin (registered by the module; Nitro bundles this file): the cache made from
 * runtime config when the server starts, closed when Nitro closes (startup.ts).
 */
import { useRuntimeConfig } from 'nitropack/runtime'
import { startIsrCache } from '../startup.js'
import type { NitroAppLike } from '../state.js'

export default function isrCachePlugin(nitroApp: NitroAppLike): void {
  startIsrCache(nitroApp, useRuntimeConfig())
}

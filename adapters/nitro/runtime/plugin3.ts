/// <reference path="./nitro3.d.ts" />
/**
 * The isr-cache Nitro 3 plugin (registered by the module; Nitro bundles this file): the cache made from
 * runtime config when the server starts, closed when Nitro closes (startup.ts). Renders go through
 * `serverFetch`, Nitro 3's in-process request through the whole app (Nitro 2's `localFetch`).
 */
import { serverFetch } from 'nitro/app'
import { useRuntimeConfig } from 'nitro/runtime-config'
import { startIsrCache } from '../startup.js'
import type { NitroAppLike } from '../state.js'

export default function isrCachePlugin3(nitroApp: { hooks: NitroAppLike['hooks'] }): void {
  startIsrCache({ localFetch: (input, init) => serverFetch(input, init), hooks: nitroApp.hooks }, useRuntimeConfig())
}

/**
 * What the Nitro runtime files share with `useIsrCache()` and `defineIsrEventHandler`: the app's cache,
 * the Nitro app (for in-process renders), the settings read from runtime config, and the marker of our
 * own renders. One record per process on a named global: Nitro's bundle may hold more than one copy of
 * these modules (the registered plugin's and a route file's imports of `isr-cache/nitro`), and they must
 * all see one cache.
 */
import { randomBytes } from 'node:crypto'
import type { IsrCache } from '../../src/cache.js'
import { IsrCacheError } from '../../src/errors.js'
import { secretDigest, secretMatches } from '../../src/http/secret.js'

/** The part of Nitro's `NitroApp` the adapter uses. */
export interface NitroAppLike {
  localFetch(input: string, init?: RequestInit): Promise<Response>
  hooks: { hook(name: string, fn: (...args: never[]) => unknown): unknown }
}

/** Settings resolved at start-up from runtime config and the environment. */
export interface RuntimeSettings {
  bypassToken: string | undefined
  secret: string | undefined
  previewCookie: string | false
  /** Nuxt: serve `…/_payload.json` from the page's entry. */
  nuxtPayloads: boolean
}

interface NitroIsrState {
  cache?: IsrCache
  nitroApp?: NitroAppLike
  settings?: RuntimeSettings
  /** The revalidation endpoint's handler, while a secret is set. */
  revalidate?: (request: Request) => Promise<Response>
  token: { value: string; digest: Buffer }
}

const STATE_KEY = Symbol.for('isr-cache.nitro')

export function nitroState(): NitroIsrState {
  const holder = globalThis as { [STATE_KEY]?: NitroIsrState }
  if (holder[STATE_KEY] === undefined) {
    const value = randomBytes(24).toString('hex')
    holder[STATE_KEY] = { token: { value, digest: secretDigest(value) } }
  }
  return holder[STATE_KEY]
}

/** The request header that marks our own in-process renders (its value is a secret of this process). */
export const INTERNAL_HEADER = 'x-isr-cache-internal'

/** Whether a request's headers mark it as one of our own renders. */
export function isInternalRender(value: string | null | undefined): boolean {
  return value != null && secretMatches(value, nitroState().token.digest)
}

/**
 * The app's `IsrCache`, made by the isr-cache Nitro plugin from runtime config: call `revalidateTag` /
 * `revalidatePath` on it from a server route. Throws `E_INVALID_OPTION` when the module is not installed.
 */
export function useIsrCache(): IsrCache {
  const cache = nitroState().cache
  if (cache === undefined) {
    throw new IsrCacheError(
      'E_INVALID_OPTION',
      "useIsrCache(): no cache yet. Add the module (nuxt.config.ts: modules: ['isr-cache/nuxt']; nitro.config.ts: modules: ['isr-cache/nitro']) and call it inside a request handler or a Nitro plugin, not at module load",
    )
  }
  return cache
}

/** The revalidation endpoint's answer while no secret is set. */
export function endpointOff(): Response {
  return Response.json({ error: 'the revalidation endpoint is off: set NUXT_ISR_CACHE_SECRET (Nuxt), NITRO_ISR_CACHE_SECRET (Nitro) or ISR_CACHE_SECRET' }, { status: 404, headers: { 'cache-control': 'no-store' } })
}

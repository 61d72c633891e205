/**
 * isr-cache/sveltekit: ISR for SvelteKit apps on `adapter-node` (or any server adapter). A `handle` hook
 * caches pages, their `__data.json` (client-side navigation) and `+server.ts` GET endpoints; `withIsr`
 * wraps one endpoint without the hook. Both are thin mappings onto `createIsrHandler` (isr-cache/http).
 *
 * ```ts
 * // src/hooks.server.ts
 * import { createIsrHandle } from 'isr-cache/sveltekit'
 * import { cache } from '$lib/server/cache'
 * export const handle = createIsrHandle({ cache, routes: { '/': { revalidate: 60 }, '/blog/*': { revalidate: 3600, tags: ['posts'] } } })
 * ```
 */
export { createIsrHandle, withIsr } from './handle.js'
export type { IsrHandleOptions, KitHandle, KitHandleInput, KitRequestEvent, WithIsrOptions } from './handle.js'

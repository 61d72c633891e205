/**
 * isr-cache/http: ISR for any Web `Request → Response` server (Hono, srvx, Bun, Deno, Express through a
 * bridge), and a safe endpoint for on-demand revalidation (CMS webhooks).
 *
 * ```ts
 * const isr = createIsrHandler({ cache, routes: { '/blog/*': { revalidate: 3600, tags: ['posts'] } } })
 * export default { fetch: (request: Request) => isr(request, app.fetch) }
 * ```
 */
export { createIsrHandler } from './handler.js'
export type { IsrHandler, IsrHandlerOptions, Render } from './handler.js'
export { createRevalidationHandler } from './revalidate.js'
export type { RevalidationHandlerOptions, RevalidationResult } from './revalidate.js'
export type { RouteRule, RouteRuleOrOff, Routes } from './routes.js'

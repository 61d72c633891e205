import { createRevalidationHandler } from 'isr-cache/http'
import { cache } from '#lib/server/cache.ts'

// On-demand revalidation for a CMS webhook. Send JSON (Kit's CSRF check refuses form-encoded and
// text/plain POSTs without a matching Origin before any hook runs); `fallback` lets the handler answer
// other methods with its JSON 405 instead of Kit's plain-text one. Created at the first request: `vite
// build` imports this module to analyse it, where ISR_CACHE_SECRET is not set.
let revalidate: ((request: Request) => Promise<Response>) | undefined
export const POST = ({ request }: { request: Request }) => (revalidate ??= createRevalidationHandler({ cache, secret: process.env.ISR_CACHE_SECRET! }))(request)
export const fallback = POST

import type { APIRoute } from 'astro'
import { createRevalidationHandler } from 'isr-cache/http'
import { cache } from '../../lib/cache'

// On-demand revalidation for a CMS webhook: send JSON. Astro's checkOrigin (on by default) answers 403 to
// a form-encoded or text/plain POST without a matching Origin before any handler runs; a JSON POST passes.
// Created at the first request, when ISR_CACHE_SECRET is set (the build imports this module without it).
let revalidate: ((request: Request) => Promise<Response>) | undefined
export const ALL: APIRoute = ({ request }) => (revalidate ??= createRevalidationHandler({ cache, secret: process.env.ISR_CACHE_SECRET! }))(request)

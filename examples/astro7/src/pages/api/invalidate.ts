import type { APIRoute } from 'astro'
import { timingSafeEqual, createHash } from 'node:crypto'

// Purges through Astro's own API, context.cache.invalidate(): with isr-cache, in the shared store, for every
// instance. JSON body { tags } or { path }, behind a secret (Astro's invalidate has none of its own).
const digest = (value: string) => createHash('sha256').update(value).digest()
export const POST: APIRoute = async ({ request, cache }) => {
  const secret = process.env.ISR_CACHE_SECRET
  const given = request.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''
  if (!secret || !timingSafeEqual(digest(given), digest(secret))) return Response.json({ error: 'unauthorized' }, { status: 401 })
  let body: { tags?: string[]; path?: string }
  try {
    body = (await request.json()) as typeof body
  } catch {
    return Response.json({ error: 'the body must be JSON: { "tags": [...] } or { "path": "/..." }' }, { status: 400 })
  }
  await cache.invalidate(body.path !== undefined ? { path: body.path } : { tags: body.tags ?? [] })
  return Response.json({ invalidated: body })
}

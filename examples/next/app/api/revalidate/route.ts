import { createHash, timingSafeEqual } from 'node:crypto'
import { revalidatePath, revalidateTag } from 'next/cache'

/**
 * On-demand revalidation, e.g. for a CMS webhook:
 *
 *   POST /api/revalidate?tag=posts&profile=max     (header x-revalidate-secret: $REVALIDATE_SECRET)
 *
 * Parameters (query string, JSON body or form body): `secret` (or the x-revalidate-secret header), `tag`,
 * `profile` (`max`: serve stale while regenerating; `expire0`: expire now; none: Next's default),
 * `path` and `type` (`page` | `layout`) for `revalidatePath`.
 */
export const dynamic = 'force-dynamic'

const PROFILES = new Set(['max', 'expire0'])
const TYPES = new Set(['page', 'layout'])

/** Compared in constant time; hashing first makes the lengths equal and keeps the secret's length private. */
function secretMatches(given: string | null, expected: string): boolean {
  if (given === null) return false
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

async function readParams(request: Request): Promise<URLSearchParams> {
  const params = new URL(request.url).searchParams
  if (request.method !== 'POST') return params
  const contentType = request.headers.get('content-type') ?? ''
  if (contentType.includes('application/json')) {
    const body: unknown = await request.json().catch(() => null)
    if (body !== null && typeof body === 'object') {
      for (const [name, value] of Object.entries(body)) if (typeof value === 'string') params.set(name, value)
    }
  } else if (contentType.includes('form')) {
    for (const [name, value] of await request.formData()) if (typeof value === 'string') params.set(name, value)
  }
  return params
}

const fail = (status: number, error: string) => Response.json({ error }, { status })

async function handle(request: Request): Promise<Response> {
  const expected = process.env.REVALIDATE_SECRET
  if (!expected) return fail(500, 'REVALIDATE_SECRET is not set on the server')
  const params = await readParams(request)
  if (!secretMatches(request.headers.get('x-revalidate-secret') ?? params.get('secret'), expected)) return fail(401, 'invalid secret')

  const tag = params.get('tag')
  const path = params.get('path')
  const type = params.get('type')
  const profile = params.get('profile')
  if (!tag && !path) return fail(400, 'give a `tag` or a `path`')
  if (profile !== null && !PROFILES.has(profile)) return fail(400, '`profile` is `max` or `expire0`')
  if (type !== null && !TYPES.has(type)) return fail(400, '`type` is `page` or `layout`')

  if (tag) {
    if (profile === 'max') revalidateTag(tag, 'max')
    else if (profile === 'expire0') revalidateTag(tag, { expire: 0 })
    // The one-argument form (deprecated in Next 16, still supported): expires now. Its type demands a profile.
    else (revalidateTag as (tag: string) => undefined)(tag)
  }
  if (path) revalidatePath(path, (type ?? undefined) as 'page' | 'layout' | undefined)
  return Response.json({ revalidated: true, tag, path, type, profile, now: Date.now() })
}

export const GET = handle
export const POST = handle

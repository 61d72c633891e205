import { createHash, timingSafeEqual } from 'node:crypto'
import { revalidatePath, revalidateTag } from 'next/cache'

// Next 15.5: revalidateTag(tag) has no profile (it expires the tag now). Parameters as in examples/next:
// `secret` (or the x-revalidate-secret header), `tag`, `path`, `type`, from the query string or a JSON body.
export const dynamic = 'force-dynamic'

function secretMatches(given: string | null, expected: string): boolean {
  if (given === null) return false
  const digest = (value: string) => createHash('sha256').update(value).digest()
  return timingSafeEqual(digest(given), digest(expected))
}

async function handle(request: Request): Promise<Response> {
  const expected = process.env.REVALIDATE_SECRET
  if (!expected) return Response.json({ error: 'REVALIDATE_SECRET is not set on the server' }, { status: 500 })
  const params = new URL(request.url).searchParams
  if (request.method === 'POST' && (request.headers.get('content-type') ?? '').includes('application/json')) {
    const body: unknown = await request.json().catch(() => null)
    if (body !== null && typeof body === 'object') {
      for (const [name, value] of Object.entries(body)) if (typeof value === 'string') params.set(name, value)
    }
  }
  if (!secretMatches(request.headers.get('x-revalidate-secret') ?? params.get('secret'), expected)) {
    return Response.json({ error: 'invalid secret' }, { status: 401 })
  }
  const tag = params.get('tag')
  const path = params.get('path')
  const type = params.get('type')
  if (!tag && !path) return Response.json({ error: 'give a `tag` or a `path`' }, { status: 400 })
  if (params.get('profile') !== null) return Response.json({ error: 'Next 15 has no revalidateTag profiles' }, { status: 400 })
  if (type !== null && type !== 'page' && type !== 'layout') return Response.json({ error: '`type` is `page` or `layout`' }, { status: 400 })
  if (tag) revalidateTag(tag)
  if (path) revalidatePath(path, (type ?? undefined) as 'page' | 'layout' | undefined)
  return Response.json({ revalidated: true, tag, path, type, now: Date.now() })
}

export const GET = handle
export const POST = handle

import type { APIRoute } from 'astro'
import { posts, reportRender, renderId } from '../../lib/upstream'

// An endpoint, cached by its rule (tag "time"); the query does not split the cache.
export const GET: APIRoute = async () => {
  await reportRender('/api/time')
  return Response.json({ id: renderId(), content: await posts(), at: new Date().toISOString() })
}

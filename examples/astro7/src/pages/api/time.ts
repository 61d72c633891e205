import type { APIRoute } from 'astro'
import { posts, reportRender, renderId } from '../../lib/upstream'

// An endpoint on Astro's route caching: context.cache.set, tag "time".
export const GET: APIRoute = async ({ cache }) => {
  cache.set({ maxAge: 3600, tags: ['time'] })
  await reportRender('/api/time')
  return Response.json({ id: renderId(), content: await posts() })
}

import { withIsr } from 'isr-cache/sveltekit'
import { cache } from '#lib/server/cache.ts'
import { posts, reportRender, renderId } from '#lib/server/upstream.ts'

export const GET = withIsr(
  async () => {
    await reportRender('/api/time')
    return Response.json({ id: renderId(), content: await posts() })
  },
  { cache, revalidate: 60, tags: ['time'] },
)

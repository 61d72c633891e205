import { withIsr } from 'isr-cache/sveltekit'
import { cache } from '#lib/server/cache.ts'
import { posts, reportRender, renderId } from '#lib/server/upstream.ts'

// One endpoint cached without the hook's routes: wrapped where it is defined.
export const GET = withIsr(
  async () => {
    await reportRender('/api/time')
    return Response.json({ id: renderId(), content: await posts(), at: new Date().toISOString() })
  },
  { cache, revalidate: Number(process.env.REVALIDATE ?? 10), tags: ['time'] },
)

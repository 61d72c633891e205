import { cache } from '#lib/server/cache.ts'
import { posts, reportRender, renderId } from '#lib/server/upstream.ts'

// A tagged page fed by the upstream: cached until a purge of "posts" (the hook's rule) or of
// "post-<slug>" (its own Cache-Tag), or of its path (which also purges its __data.json).
export async function load({ params, setHeaders }) {
  await reportRender(`/blog/${params.slug}`)
  // Encoded: a header value cannot hold every character a URL segment can (a NUL would make Kit throw).
  setHeaders({ 'cache-tag': `post-${encodeURIComponent(params.slug)}` })
  return { id: renderId(), slug: params.slug, content: await posts() }
}

export const actions = {
  // A form action purging with the core: the next request on any instance renders the page again.
  purge: async ({ params }) => {
    await cache.revalidatePath(`/blog/${params.slug}`)
    return { purged: true }
  },
}

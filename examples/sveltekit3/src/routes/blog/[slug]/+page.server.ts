import { posts, reportRender, renderId } from '#lib/server/upstream.ts'

export async function load({ params, setHeaders }) {
  await reportRender(`/blog/${params.slug}`)
  setHeaders({ 'cache-tag': `post-${params.slug}` })
  return { id: renderId(), slug: params.slug, content: await posts() }
}

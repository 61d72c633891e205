import { posts, reportRender, renderId } from '#lib/server/upstream.ts'

export async function load({ params, setHeaders }) {
  await reportRender(`/blog/${params.slug}`)
  // Encoded: a header value cannot hold every character a URL segment can (a NUL would make Kit throw).
  setHeaders({ 'cache-tag': `post-${encodeURIComponent(params.slug)}` })
  return { id: renderId(), slug: params.slug, content: await posts() }
}

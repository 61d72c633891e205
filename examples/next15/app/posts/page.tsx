import { Markers } from '../../lib/markers'
import { recordRender } from '../../lib/render'

export default async function PostsPage() {
  const upstream = process.env.UPSTREAM_URL
  if (!upstream) throw new Error('UPSTREAM_URL is not set')
  const response = await fetch(`${upstream}/posts`, { next: { tags: ['posts'], revalidate: 3600 } })
  const posts = (await response.json()) as { version: string; title: string }
  const info = await recordRender('/posts')
  return (
    <>
      <h1>Posts</h1>
      <p>
        Upstream content: <span id="content">{posts.version}</span> ({posts.title})
      </p>
      <Markers info={info} />
    </>
  )
}

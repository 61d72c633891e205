import { Markers } from '../../lib/markers'
import { recordRender } from '../../lib/render'
import { upstreamUrl, type Posts } from '../../lib/upstream'

export default async function PostsPage() {
  // Cached in the data cache (cacheHandler, kind FETCH) under the tag `posts`; the page inherits its lifetime.
  const response = await fetch(`${upstreamUrl()}/posts`, { next: { tags: ['posts'], revalidate: 3600 } })
  const posts = (await response.json()) as Posts
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

import { Markers } from '../../lib/markers'
import { recordRender } from '../../lib/render'
import { upstreamUrl, type Posts } from '../../lib/upstream'
import { refreshPosts } from './actions'

export default async function ActionsPage() {
  const response = await fetch(`${upstreamUrl()}/posts`, { next: { tags: ['posts'], revalidate: 3600 } })
  const posts = (await response.json()) as Posts
  const info = await recordRender('/actions')
  return (
    <>
      <h1>Server action</h1>
      <p>
        Upstream content: <span id="content">{posts.version}</span>
      </p>
      <form action={refreshPosts}>
        <button type="submit">updateTag(&apos;posts&apos;)</button>
      </form>
      <Markers info={info} />
    </>
  )
}

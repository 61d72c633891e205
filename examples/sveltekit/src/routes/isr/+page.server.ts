import { posts, reportRender, renderId } from '$lib/server/upstream'

// An ISR page: the hook's rule caches it for REVALIDATE seconds, then regenerates it in the background.
export async function load() {
  await reportRender('/isr')
  return { id: renderId(), content: await posts() }
}

import { posts, reportRender, renderId } from '$lib/server/upstream'

export async function load() {
  await reportRender('/')
  return { id: renderId(), content: await posts() }
}

import { gate, posts, reportRender, renderId } from '$lib/server/upstream'

// Cached until purged; its render waits at a gate a test can hold (many requests, one render).
export async function load() {
  await reportRender('/stampede')
  const content = await posts()
  await gate('stampede')
  return { id: renderId(), content }
}

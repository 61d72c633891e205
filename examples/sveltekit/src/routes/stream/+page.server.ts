import { gate, posts, reportRender, renderId } from '$lib/server/upstream'

// A streamed load: the shell is sent at once, `late` follows when it resolves (held at a gate by a test).
// The cache stores the whole answer; a MISS still streams to its visitor.
export async function load() {
  await reportRender('/stream')
  const id = renderId()
  const late = gate('stream').then(() => `late part of ${id}`)
  return { id, content: await posts(), late }
}

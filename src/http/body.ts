/** Response bodies: read whole with a byte limit, or split so a visitor streams while the cache reads. */

/** The body's bytes, or undefined once it exceeds `limit` (the rest is then not read). */
export async function readLimited(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array(0)
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel().catch(() => {})
      return undefined
    }
    chunks.push(value)
  }
  // Copied even when there is one chunk: the chunks are shared with the visitor's branch of a tee.
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

/**
 * Splits a body in two: one branch for the visitor, who gets each chunk as it is rendered, and the whole
 * body (up to `limit`) for the cache. The cache's reading goes on if the visitor goes away; the visitor's
 * stream goes on if the body turns out too large to cache.
 */
export function teeBody(body: ReadableStream<Uint8Array> | null, limit: number): { visitor: ReadableStream<Uint8Array> | null; whole: Promise<Uint8Array | undefined> } {
  if (body === null) return { visitor: null, whole: Promise.resolve(new Uint8Array(0)) }
  const [visitor, cache] = body.tee()
  return { visitor, whole: readLimited(cache, limit) }
}

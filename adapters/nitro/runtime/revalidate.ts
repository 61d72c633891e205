/**
 * The revalidation endpoint (registered by the module at `revalidationPath`; Nitro bundles this file): the
 * HTTP layer's `createRevalidationHandler` on the app's cache. Answers 404 while no secret is set.
 */
import type { H3EventLike } from '../serve.js'
import { endpointOff, nitroState } from '../state.js'

/** Bodies are read up to just past the endpoint's own limit (64 KiB), which then answers 413. */
const READ_LIMIT = 64 * 1024 + 1

async function bodyOf(event: H3EventLike): Promise<Uint8Array | undefined> {
  const req = event.node.req
  // An in-process request (localFetch) carries its body; a socket's is a stream.
  if (req.body !== undefined && req.body !== null) return typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.from(req.body as Uint8Array)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    chunks.push(bytes)
    size += bytes.byteLength
    if (size >= READ_LIMIT) break
  }
  return Buffer.concat(chunks).subarray(0, READ_LIMIT)
}

async function isrCacheRevalidate(event: H3EventLike): Promise<Response> {
  const revalidate = nitroState().revalidate
  if (revalidate === undefined) return endpointOff()
  const host = event.headers.get('host') ?? 'localhost'
  let url: URL
  try {
    url = new URL(event.path, `http://${host}`)
  } catch {
    return Response.json({ error: 'bad request URL' }, { status: 400 })
  }
  const hasBody = event.method !== 'GET' && event.method !== 'HEAD'
  const body = hasBody ? await bodyOf(event) : undefined
  return revalidate(new Request(url, { method: event.method, headers: event.headers, ...(body !== undefined ? { body } : {}) }))
}

export default Object.assign(isrCacheRevalidate, { __is_handler__: true as const })

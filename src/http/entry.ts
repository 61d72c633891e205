/**
 * The stored form of a response, and the answers built from it: HIT / STALE / MISS with `Age`, `ETag`
 * (the render's, or a digest of the body computed when stored), 304 for a matching `If-None-Match`, and
 * HEAD without the body.
 */
import { createHash } from 'node:crypto'
import { storedHeaders } from './policy.js'

/** A response as stored through the core: the codec keeps the bytes exact, binary included. */
export interface StoredResponse {
  status: number
  /** Lower-case names, already filtered (see `storedHeaders`); always holds an `etag`. */
  headers: Array<[string, string]>
  body: Uint8Array
}

/** What `x-isr-cache` says. */
export type IsrCacheHeader = 'HIT' | 'STALE' | 'MISS' | 'BYPASS'

/** A strong ETag from the body's sha256 (truncated: 128 bits is plenty to tell versions apart). */
export function bodyEtag(body: Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
}

/** The stored form of a rendered response and its whole body. */
export function toStored(response: Response, body: Uint8Array): StoredResponse {
  const headers = storedHeaders(response.headers)
  if (!headers.some(([name]) => name === 'etag')) headers.push(['etag', bodyEtag(body)])
  return { status: response.status, headers, body }
}

/** `If-None-Match` against an entity tag, with the weak comparison RFC 9110 §13.1.2 prescribes for it. */
export function noneMatch(ifNoneMatch: string | null, etag: string | undefined): boolean {
  if (ifNoneMatch === null || etag === undefined) return false
  const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag)
  const target = opaque(etag.trim())
  for (const candidate of ifNoneMatch.split(',')) {
    const tag = candidate.trim()
    if (tag === '*' || opaque(tag) === target) return true
  }
  return false
}

/** Headers not sent with a 304 (it has no body to describe). */
const NOT_IN_304 = new Set(['content-type', 'content-encoding', 'content-language', 'content-range'])

/** Statuses a Response cannot have a body with. */
const NULL_BODY = new Set([204, 205, 304])

/** Per stored value, built once: its header pairs and ETag, reused by every hit on it. */
const prepared = new WeakMap<StoredResponse, { etag: string | undefined; length: string }>()

function preparedOf(stored: StoredResponse): { etag: string | undefined; length: string } {
  let ready = prepared.get(stored)
  if (ready === undefined) {
    ready = { etag: stored.headers.find(([name]) => name === 'etag')?.[1], length: String(stored.body.byteLength) }
    prepared.set(stored, ready)
  }
  return ready
}

/**
 * The answer to a GET or HEAD from a stored response. `ageSeconds`: since it was rendered. A matching
 * `If-None-Match` gets 304 (only for a stored 200).
 */
export function respondFromStored(stored: StoredResponse, request: Request, state: IsrCacheHeader, ageSeconds: number): Response {
  const { etag, length } = preparedOf(stored)
  const headers = new Headers(stored.headers)
  headers.set('x-isr-cache', state)
  headers.set('age', String(ageSeconds))
  if (stored.status === 200 && noneMatch(request.headers.get('if-none-match'), etag)) {
    for (const name of NOT_IN_304) headers.delete(name)
    return new Response(null, { status: 304, headers })
  }
  if (NULL_BODY.has(stored.status)) return new Response(null, { status: stored.status, headers })
  headers.set('content-length', length)
  return new Response(request.method === 'HEAD' ? null : stored.body, { status: stored.status, headers })
}

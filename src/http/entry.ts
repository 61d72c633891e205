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

/** Per stored value, built once and reused by every hit on it: its headers as a record, and its ETag. */
interface Prepared {
  etag: string | undefined
  /** The stored headers (each name once: `Set-Cookie`, the only repeatable one, is never stored) and `content-length`. */
  pairs: Array<[string, string]>
}
const prepared = new WeakMap<StoredResponse, Prepared>()

function preparedOf(stored: StoredResponse): Prepared {
  let ready = prepared.get(stored)
  if (ready === undefined) {
    const pairs = [...stored.headers]
    if (!NULL_BODY.has(stored.status)) pairs.push(['content-length', String(stored.body.byteLength)])
    ready = { etag: stored.headers.find(([name]) => name === 'etag')?.[1], pairs }
    prepared.set(stored, ready)
  }
  return ready
}

/** What is sent for a stored response: status, headers as a plain record, and the body (null for HEAD, 304, …). */
export interface StoredAnswer {
  status: number
  headers: Record<string, string>
  body: Uint8Array | null
}

/**
 * The answer to a GET or HEAD from a stored response, as status, headers and body. `ageSeconds`: since it was
 * rendered. A matching `If-None-Match` gets 304 (only for a stored 200). For adapters that write it to the
 * server's response themselves (this is the hot path of every HIT); `respondFromStored` makes a Response of it.
 */
export function storedAnswer(stored: StoredResponse, method: string, ifNoneMatch: string | null, state: IsrCacheHeader, ageSeconds: number): StoredAnswer {
  const { etag, pairs } = preparedOf(stored)
  // Built by a loop: object spread of header records is an order of magnitude slower in V8 here.
  const headers: Record<string, string> = { 'x-isr-cache': state, age: String(ageSeconds) }
  for (let i = 0; i < pairs.length; i++) headers[pairs[i]![0]] = pairs[i]![1]
  if (etag !== undefined && stored.status === 200 && ifNoneMatch !== null && noneMatch(ifNoneMatch, etag)) {
    for (const name of NOT_IN_304) delete headers[name]
    delete headers['content-length']
    return { status: 304, headers, body: null }
  }
  const body = method === 'HEAD' || NULL_BODY.has(stored.status) ? null : stored.body
  return { status: stored.status, headers, body }
}

/**
 * The answer to a GET or HEAD from a stored response, as a Response. Headers go out as a plain record:
 * servers such as @hono/node-server write one without building a Headers object.
 */
export function respondFromStored(stored: StoredResponse, request: Request, state: IsrCacheHeader, ageSeconds: number): Response {
  const answer = storedAnswer(stored, request.method, request.headers.get('if-none-match'), state, ageSeconds)
  return new Response(answer.body, { status: answer.status, headers: answer.headers })
}

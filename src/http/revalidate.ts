/**
 * createRevalidationHandler: the endpoint a CMS webhook calls to purge tags and paths. It is the only way
 * into purges from the network, so it refuses to exist without a real secret, compares it in constant
 * time, answers every input with JSON and one of a few statuses, and never lets an error become a 500.
 */
import type { IsrCache, PurgeResult } from '../cache.js'
import { IsrCacheError } from '../errors.js'
import { checkKnown, isValidPath as validPath, isValidTag as validTag, MAX_TAGS } from '../validate.js'
import { readLimited } from './body.js'
import { secretDigest, secretMatches } from './secret.js'

/** Options of `createRevalidationHandler`. */
export interface RevalidationHandlerOptions {
  /** The cache to purge (`createIsrCache(...)`). Required. */
  cache: IsrCache
  /**
   * The shared secret (at least 16 characters; e.g. `openssl rand -hex 32`). Callers send it as
   * `Authorization: Bearer <secret>`, `x-isr-cache-secret: <secret>` or `?secret=<secret>`. Required: there
   * is no open purge endpoint by accident.
   */
  secret: string | undefined
}

/** The body of a 200 answer. */
export interface RevalidationResult {
  revalidated: true
  tags: string[]
  paths: string[]
  /** When the purge was done, epoch ms. */
  now: number
  /**
   * Of the purge calls this request made (one for the tags, one per path): the fewest other instances that
   * acknowledged one, the most that were live (undefined where the store cannot count them), and whether
   * every call was confirmed everywhere (see `PurgeResult`).
   */
  acknowledged: number
  live: number | undefined
  complete: boolean
}

/** Request bodies larger than this are refused with 413. */
const MAX_BODY_BYTES = 64 * 1024
const MIN_SECRET_LENGTH = 16

/** A request the endpoint refuses: its status and what to tell the caller. */
class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  })
}

/** Validates the tags or paths given in a field: an array of strings, each passing `check`. */
function stringList(field: string, value: unknown, check: (item: string) => boolean, what: string): string[] {
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || !check(item))) {
    throw new Refused(400, `${field} must be an array of ${what}`, field)
  }
  return value as string[]
}


/** `expire` from the JSON body (a number) or the query (a decimal string). */
function expireOf(value: unknown, fromQuery: boolean): number | undefined {
  if (value === undefined || (fromQuery && value === '')) return undefined
  const number = fromQuery && typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) throw new Refused(400, 'expire must be a number of seconds (0 or more)', 'expire')
  return number
}

function typeOf(value: unknown): 'page' | 'layout' | undefined {
  if (value === undefined) return undefined
  if (value !== 'page' && value !== 'layout') throw new Refused(400, 'type must be "page" (the path only) or "layout" (the path and everything below it)', 'type')
  return value
}

/** The JSON body, or {} when there is none. */
async function bodyOf(request: Request): Promise<Record<string, unknown>> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw new Refused(413, `the body must be at most ${MAX_BODY_BYTES} bytes`)
  let bytes: Uint8Array | undefined
  try {
    bytes = await readLimited(request.body, MAX_BODY_BYTES)
  } catch {
    throw new Refused(400, 'the request body could not be read', 'body')
  }
  if (bytes === undefined) throw new Refused(413, `the body must be at most ${MAX_BODY_BYTES} bytes`)
  const text = new TextDecoder().decode(bytes)
  // No body: the query form (webhooks that cannot send one), whatever content type they declared.
  if (text.trim() === '') return {}
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  if (type !== 'application/json' && !/^application\/[^/]+\+json$/.test(type)) {
    throw new Refused(415, 'send JSON (content-type: application/json), or no body and the query form (?tag=…&path=…)')
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Refused(400, 'the body is not valid JSON', 'body')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Refused(400, 'the body must be a JSON object: { "tags"?: [...], "paths"?: [...], "type"?, "expire"? }', 'body')
  return parsed as Record<string, unknown>
}

function secretOf(request: Request, url: URL): string[] {
  const given: string[] = []
  const authorization = request.headers.get('authorization')
  const bearer = authorization === null ? null : /^\s*bearer\s+(.+?)\s*$/i.exec(authorization)
  if (bearer) given.push(bearer[1]!)
  const header = request.headers.get('x-isr-cache-secret')
  if (header !== null) given.push(header)
  const query = url.searchParams.get('secret')
  if (query !== null) given.push(query)
  return given
}

/**
 * Creates the revalidation endpoint: `POST` with a JSON body `{ tags?, paths?, type?, expire? }` or the
 * query form `?tag=…&path=…&type=…&expire=…` (`tag` and `path` repeatable). With `expire` the purge is soft
 * (stale now, regenerated on the next request, expired after `expire` s); without, hard. Answers 200
 * `{ revalidated: true, tags, paths, now, acknowledged, live, complete }` once every live instance applied
 * the purges (or `purgeAckTimeout` passed), 400 naming the bad field, 401, 405 (with `Allow`), 413 (over
 * 64 KiB), 415, or 503 `{ revalidated: false }` when the store failed. Throws `E_INVALID_OPTION` without a
 * secret of at least 16 characters.
 */
/** One summary of several purge calls' confirmations (a cache that resolves nothing counts as unconfirmed). */
function combined(results: Array<PurgeResult | undefined>): Pick<RevalidationResult, 'acknowledged' | 'live' | 'complete'> {
  const known = results.filter((r): r is PurgeResult => typeof r === 'object' && r !== null)
  const lives = known.map((r) => r.live)
  return {
    acknowledged: known.length === 0 ? 0 : Math.min(...known.map((r) => r.acknowledged)),
    live: lives.length > 0 && lives.every((live) => typeof live === 'number') ? Math.max(...(lives as number[])) : undefined,
    complete: known.length === results.length && known.every((r) => r.complete === true),
  }
}

export function createRevalidationHandler(options: RevalidationHandlerOptions): (request: Request) => Promise<Response> {
  if (typeof options !== 'object' || options === null) throw new IsrCacheError('E_INVALID_OPTION', 'createRevalidationHandler: pass an options object: { cache, secret }')
  checkKnown(options as unknown as Record<string, unknown>, ['cache', 'secret'], 'createRevalidationHandler', 'E_INVALID_OPTION')
  const { cache, secret } = options
  if (typeof cache?.revalidateTag !== 'function' || typeof cache?.revalidatePath !== 'function') {
    throw new IsrCacheError('E_INVALID_OPTION', 'createRevalidationHandler: option cache must be an isr-cache instance (createIsrCache(...))')
  }
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new IsrCacheError(
      'E_INVALID_OPTION',
      `createRevalidationHandler: option secret must be a string of at least ${MIN_SECRET_LENGTH} characters (got ${typeof secret === 'string' ? `${secret.length}` : String(secret)}); generate one with \`openssl rand -hex 32\` and pass it from an environment variable`,
    )
  }
  const expected = secretDigest(secret)

  async function handle(request: Request): Promise<Response> {
    if (request.method !== 'POST') throw new Refused(405, 'use POST', undefined, { allow: 'POST' })
    const url = new URL(request.url)
    // Every given secret is compared (no early exit that would tell which form was tried).
    let authorized = false
    for (const given of secretOf(request, url)) authorized = secretMatches(given, expected) || authorized
    if (!authorized) throw new Refused(401, 'a valid secret is required (Authorization: Bearer <secret>, x-isr-cache-secret, or ?secret=)', undefined, { 'www-authenticate': 'Bearer' })

    const body = await bodyOf(request)
    const query = url.searchParams
    const tags = [
      ...(body.tags === undefined ? [] : stringList('tags', body.tags, validTag, 'tags (1-256 characters, no control characters)')),
      ...stringList('tag', query.getAll('tag'), validTag, 'tags (1-256 characters, no control characters)'),
    ]
    const paths = [
      ...(body.paths === undefined ? [] : stringList('paths', body.paths, validPath, 'URL paths starting with "/", without query or fragment')),
      ...stringList('path', query.getAll('path'), validPath, 'URL paths starting with "/", without query or fragment'),
    ]
    const type = typeOf(body.type) ?? typeOf(query.get('type') ?? undefined)
    const expire = body.expire !== undefined ? expireOf(body.expire, false) : expireOf(query.get('expire') ?? undefined, true)
    const uniqueTags = [...new Set(tags)]
    const uniquePaths = [...new Set(paths)]
    if (uniqueTags.length === 0 && uniquePaths.length === 0) throw new Refused(400, 'nothing to revalidate: give tags and/or paths', 'tags')
    if (uniqueTags.length > MAX_TAGS) throw new Refused(400, `at most ${MAX_TAGS} tags per call`, 'tags')
    if (uniquePaths.length > MAX_TAGS) throw new Refused(400, `at most ${MAX_TAGS} paths per call`, 'paths')

    const soft = expire === undefined ? {} : { expire }
    const confirmations: PurgeResult[] = []
    try {
      if (uniqueTags.length > 0) confirmations.push(await cache.revalidateTag(uniqueTags, soft))
      for (const path of uniquePaths) confirmations.push(await cache.revalidatePath(path, { ...soft, ...(type === undefined ? {} : { type }) }))
    } catch (error) {
      if (error instanceof IsrCacheError && error.code === 'E_INVALID_INPUT') throw new Refused(400, error.message.replace(/^\[isr-cache\] /, ''), uniquePaths.length > 0 ? 'paths' : 'tags')
      return json(503, { revalidated: false, error: 'the cache store failed; nothing may have been purged, retry later' }, { 'retry-after': '5' })
    }
    const result: RevalidationResult = { revalidated: true, tags: uniqueTags, paths: uniquePaths, now: Date.now(), ...combined(confirmations) }
    return json(200, result)
  }

  return async function revalidate(request) {
    try {
      return await handle(request)
    } catch (error) {
      if (error instanceof Refused) return json(error.status, { revalidated: false, error: error.message, ...(error.field ? { field: error.field } : {}) }, error.headers)
      // Whatever else went wrong happened before any purge: the caller may retry.
      return json(503, { revalidated: false, error: 'the revalidation could not be done; retry later' })
    }
  }
}

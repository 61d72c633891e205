/**
 * What may be stored, and what is sent. A stored response must be the same for every visitor: no header
 * that belongs to one visitor or one connection, no directive meant only for this cache, and nothing that
 * varies on what the render was not given (cookies, authorization) or on what the key does not hold.
 */
import { isValidTag } from '../validate.js'
import { declaredFreshness, parseVary, tokenList } from './directives.js'
import type { RouteRule } from './routes.js'

const YEAR = 365 * 24 * 60 * 60

/** Never stored: per-visitor, per-connection, recomputed, or addressed to this cache only. */
const NEVER_STORED = new Set([
  'set-cookie',
  'content-length',
  'date',
  'age',
  // hop-by-hop (RFC 9110 §7.6.1)
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // directives addressed to this cache
  'cdn-cache-control',
  'cache-tag',
  'x-isr-cache',
])

/** Headers that only address this cache: never forwarded to the visitor. */
export const DIRECTIVE_HEADERS = ['cdn-cache-control', 'cache-tag'] as const

/** Request headers a cacheable render never sees: the visitor's identity, and what would make it answer 304 or a part. */
export const PRIVATE_REQUEST_HEADERS = [
  'cookie',
  'authorization',
  'x-isr-cache-bypass',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-unmodified-since',
  'if-range',
  'range',
] as const

/** The headers of a response that are stored: every header minus `NEVER_STORED` and those `Connection` names. */
export function storedHeaders(headers: Headers): Array<[string, string]> {
  const perConnection = new Set(tokenList(headers.get('connection')).map((name) => name.toLowerCase()))
  const kept: Array<[string, string]> = []
  headers.forEach((value, name) => {
    if (!NEVER_STORED.has(name) && !perConnection.has(name)) kept.push([name, value])
  })
  return kept
}

/** Why a response is not stored (for tests and events), or undefined when it may be. */
export type Refusal = 'no-opt-in' | 'status' | 'private' | 'vary' | 'too-large' | 'no-body'

/** The outcome of `decide`: store it with these entry options, or refuse. */
export type Decision =
  | { store: true; revalidate: number | false | undefined; expire: number | undefined; tags: string[] }
  | { store: false; reason: Refusal }

export interface PolicySettings {
  statuses: ReadonlySet<number>
  /** Request header names (lower case) the key holds. */
  vary: ReadonlySet<string>
  maxBodyBytes: number
}

/** Tags from `Cache-Tag`, keeping only those the core accepts (1–256 characters, no control characters). */
export function cacheTags(header: string | null): string[] {
  return tokenList(header).filter(isValidTag)
}

/**
 * Whether a rendered response may be stored, and with which tags and durations: the response's own
 * `CDN-Cache-Control` / `Cache-Control: s-maxage` override the rule's durations, its `Cache-Tag` adds tags.
 * `rule` undefined: no route rule, the response must opt in by its headers.
 */
export function decide(response: Response, rule: RouteRule | undefined, settings: PolicySettings): Decision {
  const headers = response.headers
  const declared = declaredFreshness(headers.get('cdn-cache-control'), headers.get('cache-control'))
  if (rule === undefined && !declared.optIn) return { store: false, reason: 'no-opt-in' }
  if (!settings.statuses.has(response.status)) return { store: false, reason: 'status' }
  if (declared.optOut) return { store: false, reason: 'private' }
  for (const name of parseVary(headers.get('vary'))) {
    if (name === '*' || name === 'cookie' || name === 'authorization') return { store: false, reason: 'vary' }
    if (settings.vary.has(name)) continue
    // An unencoded body suits every client, whatever Accept-Encoding said: no other variant is served for it.
    if (name === 'accept-encoding' && isIdentity(headers.get('content-encoding'))) continue
    return { store: false, reason: 'vary' }
  }
  const length = headers.get('content-length')
  if (length !== null && Number(length) > settings.maxBodyBytes) return { store: false, reason: 'too-large' }
  const tags = [...(rule?.tags ?? []), ...cacheTags(headers.get('cache-tag'))]
  let revalidate = declared.optIn ? declared.revalidate : rule?.revalidate
  let expire = declared.optIn && declared.expire !== undefined ? declared.expire : rule?.expire
  // A declared lifetime longer than the expire would make the core refuse the entry: the expire wins
  // (without one, the core's default expire, a year unless configured lower).
  if (typeof revalidate === 'number' && revalidate > (expire ?? YEAR)) revalidate = expire ?? YEAR
  return { store: true, revalidate, expire, tags: [...new Set(tags)].slice(0, 512) }
}

function isIdentity(contentEncoding: string | null): boolean {
  return contentEncoding === null || contentEncoding.trim() === '' || contentEncoding.trim().toLowerCase() === 'identity'
}

/** The headers a visitor gets from a fresh render: the directives addressed to this cache removed. */
export function withoutDirectives(headers: Headers): Headers {
  const copy = new Headers(headers)
  for (const name of DIRECTIVE_HEADERS) copy.delete(name)
  return copy
}

/**
 * Parsing of the response headers this layer reads: `Cache-Control` and `CDN-Cache-Control` directives,
 * `Cache-Tag`, `Vary`. Lenient like HTTP caches are (unknown directives ignored, names case-insensitive),
 * and total: no input throws.
 */

/** Directive name (lower case) → its value (`true` when it has none). Later duplicates do not override. */
export type Directives = Map<string, string | true>

/** Parses `a, b=1, c="x, y"` (RFC 9111 §5.2 directives, quoted strings allowed). */
export function parseDirectives(header: string | null | undefined): Directives {
  const directives: Directives = new Map()
  if (!header) return directives
  let i = 0
  const n = header.length
  while (i < n) {
    // name
    while (i < n && (header[i] === ',' || header[i] === ' ' || header[i] === '\t')) i++
    const nameStart = i
    while (i < n && header[i] !== '=' && header[i] !== ',') i++
    const name = header.slice(nameStart, i).trim().toLowerCase()
    let value: string | true = true
    if (i < n && header[i] === '=') {
      i++
      while (i < n && (header[i] === ' ' || header[i] === '\t')) i++
      if (header[i] === '"') {
        i++
        let quoted = ''
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++
          quoted += header[i]
          i++
        }
        i++ // closing quote
        value = quoted
        while (i < n && header[i] !== ',') i++
      } else {
        const valueStart = i
        while (i < n && header[i] !== ',') i++
        value = header.slice(valueStart, i).trim()
      }
    }
    if (name !== '' && !directives.has(name)) directives.set(name, value)
  }
  return directives
}

/** A delta-seconds value (`max-age=60`): a whole number ≥ 0, or undefined when absent or malformed. */
export function deltaSeconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value)) return undefined
  return Number(value)
}

/** Comma-separated tokens, trimmed, empty ones dropped, in order, without duplicates. */
export function tokenList(header: string | null | undefined): string[] {
  if (!header) return []
  const seen = new Set<string>()
  for (const part of header.split(',')) {
    const token = part.trim()
    if (token !== '') seen.add(token)
  }
  return [...seen]
}

/** `Vary` as lower-case header names (`*` stays `*`). */
export function parseVary(header: string | null | undefined): string[] {
  return [...new Set(tokenList(header).map((name) => name.toLowerCase()))]
}

/** What a response declares for a shared cache, from `CDN-Cache-Control` first, else `Cache-Control`. */
export interface Declared {
  /** The response opts in: `CDN-Cache-Control: max-age=N` or `Cache-Control: s-maxage=N` with N > 0. */
  optIn: boolean
  /** It opts out: `private` or `no-store` in either header, or a zero freshness lifetime it declares. */
  optOut: boolean
  /** Seconds until stale (N), when declared. */
  revalidate?: number
  /** Seconds until it can no longer be served (N + stale-while-revalidate), when declared. */
  expire?: number
}

/** Reads the freshness a response declares for a shared cache (see `Declared`). */
export function declaredFreshness(cdnCacheControl: string | null, cacheControl: string | null): Declared {
  const cdn = parseDirectives(cdnCacheControl)
  const cc = parseDirectives(cacheControl)
  const optOut = cdn.has('private') || cdn.has('no-store') || cc.has('private') || cc.has('no-store')
  let lifetime: number | undefined
  let swr: number | undefined
  if (cdnCacheControl) {
    lifetime = deltaSeconds(cdn.get('s-maxage')) ?? deltaSeconds(cdn.get('max-age'))
    swr = deltaSeconds(cdn.get('stale-while-revalidate'))
  } else {
    lifetime = deltaSeconds(cc.get('s-maxage'))
    swr = deltaSeconds(cc.get('stale-while-revalidate'))
  }
  if (lifetime === undefined) return { optIn: false, optOut }
  if (lifetime === 0) return { optIn: false, optOut: true }
  return { optIn: true, optOut, revalidate: lifetime, ...(swr !== undefined ? { expire: lifetime + swr } : {}) }
}

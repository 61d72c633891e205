/**
 * Cache keys: the pathname, the query parameters the route allows (sorted by name, values in request
 * order), and the request headers configured to vary on. Tracking parameters (`utm_*`, `fbclid`) and any
 * other parameter the route does not allow never split the cache.
 */

/**
 * The key of a request. `allowQuery`: the route's parameter names, sorted; `vary`: lower-case request header
 * names whose values select a variant (`option vary`), read through `headers` (a Headers, or any getter).
 * A newline cannot occur in a URL, so the parts never blur.
 */
export function cacheKey(url: URL, allowQuery: readonly string[] | undefined, vary: readonly string[], headers: { get(name: string): string | null }): string {
  let key = url.pathname
  if (allowQuery !== undefined && allowQuery.length > 0 && url.search !== '') {
    const kept = new URLSearchParams()
    for (const name of allowQuery) for (const value of url.searchParams.getAll(name)) kept.append(name, value)
    const query = kept.toString()
    if (query !== '') key += `?${query}`
  }
  for (const name of vary) key += `\n${name}: ${normalizeHeaderValue(headers.get(name))}`
  return key
}

/** Whitespace runs collapsed, so that `en,  fr` and `en, fr` are one variant. */
function normalizeHeaderValue(value: string | null): string {
  return value === null ? '' : value.trim().replace(/\s+/g, ' ')
}

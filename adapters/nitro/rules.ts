/**
 * Nitro's `isr` route rule, as users already write it for Vercel and Netlify, translated into the HTTP
 * layer's rule: a number (seconds until stale), `true` (until purged), or
 * `{ expiration, allowQuery, passQuery, tags }`. Pure: tested with fast-check (test/nitro.rules.test.ts).
 */
import { IsrCacheError } from '../../src/errors.js'
import { isValidTag } from '../../src/validate.js'
import type { RouteRule } from '../../src/http/routes.js'

/** Nitro's `isr` rule object (`VercelISRConfig`), plus `tags`. Keys only Vercel understands (`group`, `exposeErrBody`) are accepted and ignored. */
export interface NitroIsrConfig {
  /** Seconds until the page is stale (served, and rendered again in the background), or `false`: only a purge. Default `false`. */
  expiration?: number | false
  /** Query parameters that make a different page (part of the key, and passed to the render). Default: none, the query is ignored. */
  allowQuery?: string[]
  /** Whether the render sees the allowed query parameters. Default `true`. `false`: the render gets the bare path. */
  passQuery?: boolean
  /** Tags every entry of the route carries (a response's `Cache-Tag` adds to them). */
  tags?: string[]
  group?: number
  exposeErrBody?: boolean
}

/** What a route's `isr` rule may be. */
export type NitroIsrRule = number | boolean | NitroIsrConfig

/** The translated rule: the HTTP layer's rule, and whether the render sees the allowed query. */
export interface TranslatedRule {
  rule: RouteRule
  passQuery: boolean
}

const KNOWN = new Set(['expiration', 'allowQuery', 'passQuery', 'tags', 'group', 'exposeErrBody'])

function invalid(where: string, message: string): IsrCacheError {
  return new IsrCacheError('E_INVALID_OPTION', `routeRules["${where}"].isr ${message}`)
}

function checkSeconds(where: string, field: string, value: unknown): number | false {
  if (value === false) return false
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(where, `${field}must be a number of seconds greater than 0, or false (until purged); got ${JSON.stringify(value)}`)
  }
  return value
}

/**
 * Translates a route's `isr` value. `undefined`, `null` and `false` mean "not cached" (undefined result).
 * Throws `IsrCacheError` `E_INVALID_OPTION` naming the route and the field for anything else it cannot honour.
 */
export function translateIsrRule(value: unknown, where = '…'): TranslatedRule | undefined {
  if (value === undefined || value === null || value === false) return undefined
  if (value === true) return { rule: { revalidate: false }, passQuery: true }
  if (typeof value === 'number') return { rule: { revalidate: checkSeconds(where, '', value) }, passQuery: true }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(where, `must be a number of seconds, true, or { expiration, allowQuery, passQuery, tags }; got ${JSON.stringify(value)}`)
  }
  const config = value as Record<string, unknown>
  for (const key of Object.keys(config)) {
    if (!KNOWN.has(key)) throw invalid(where, `has an unknown field "${key}" (known: ${[...KNOWN].join(', ')})`)
  }
  const rule: RouteRule = { revalidate: config.expiration === undefined ? false : checkSeconds(where, 'expiration ', config.expiration) }
  if (config.allowQuery !== undefined) {
    if (!Array.isArray(config.allowQuery) || config.allowQuery.some((name) => typeof name !== 'string' || name === '')) {
      throw invalid(where, `allowQuery must be an array of query parameter names, e.g. ['page']`)
    }
    if (config.allowQuery.length > 0) rule.allowQuery = [...new Set(config.allowQuery as string[])].sort()
  }
  if (config.tags !== undefined) {
    if (!Array.isArray(config.tags) || config.tags.some((tag) => typeof tag !== 'string' || !isValidTag(tag))) {
      throw invalid(where, `tags must be an array of tags (1 to 256 characters, no control characters), e.g. ['posts']`)
    }
    if (config.tags.length > 0) rule.tags = [...new Set(config.tags as string[])]
  }
  if (config.passQuery !== undefined && typeof config.passQuery !== 'boolean') throw invalid(where, `passQuery must be true or false`)
  return { rule, passQuery: config.passQuery !== false }
}

/**
 * The path and query a render of `url` is given: the query parameters the key holds (those of
 * `allowQuery`, in request order), or none when `passQuery` is false. A render never sees a parameter the
 * key ignores, so no such parameter can change what is stored for everyone.
 */
export function renderTarget(url: URL, translated: TranslatedRule): string {
  const allow = translated.rule.allowQuery
  if (!translated.passQuery || allow === undefined || url.search === '') return url.pathname
  const kept = new URLSearchParams()
  for (const [name, value] of url.searchParams) if (allow.includes(name)) kept.append(name, value)
  const query = kept.toString()
  return query === '' ? url.pathname : `${url.pathname}?${query}`
}

/** Nuxt's payload URL of a page: `<page>/_payload.json` (any query is the build id). */
const PAYLOAD_SUFFIX = '/_payload.json'

/** The page a `…/_payload.json` pathname belongs to (`/_payload.json` → `/`), or undefined for any other pathname. */
export function payloadPage(pathname: string): string | undefined {
  if (!pathname.endsWith(PAYLOAD_SUFFIX)) return undefined
  return pathname.slice(0, -PAYLOAD_SUFFIX.length) || '/'
}

/**
 * The payload route rules a Nuxt app needs for its `isr` routes: Nuxt renders a `_payload.json` at run time
 * only when the payload URL itself has an `isr` rule. Nuxt adds them for exact routes; a `**` pattern
 * covers its payloads already; patterns with `*` elsewhere (`/blog/*`) get theirs here. Returns only the
 * patterns to add (those not already present).
 */
export function payloadRules(routeRules: Record<string, { isr?: unknown; ssr?: unknown }>): Record<string, { isr: unknown }> {
  const added: Record<string, { isr: unknown }> = {}
  for (const [pattern, rule] of Object.entries(routeRules)) {
    if (rule?.isr === undefined || rule.isr === false || rule.ssr === false) continue
    if (pattern.endsWith('**') || pattern.endsWith(PAYLOAD_SUFFIX)) continue
    const payload = (pattern === '/' ? '' : pattern.replace(/\/$/, '')) + PAYLOAD_SUFFIX
    if (routeRules[payload] === undefined) added[payload] = { isr: rule.isr }
  }
  return added
}

/**
 * Route rules: which paths are cached and how. Patterns are exact paths, `*` (one segment) and `**` (any
 * number of segments, none included); the most specific matching pattern wins (see `compareSpecificity`).
 */
import { IsrCacheError } from '../errors.js'
import { checkKnown, checkTags, seconds } from '../validate.js'

/** How a route is cached. Durations in seconds, as in the core. */
export interface RouteRule {
  /** Seconds until an entry is stale (served, and regenerated in the background), or `false`: only a purge. Default: the cache's `revalidate`. */
  revalidate?: number | false
  /** Seconds until an entry can no longer be served. Default: the cache's `expire`. */
  expire?: number
  /** Tags every entry of this route carries, for `revalidateTag`. A response's `Cache-Tag` adds to them. */
  tags?: string[]
  /** Query parameters that make a different page (the key keeps them, sorted); all others are ignored. Default none. */
  allowQuery?: string[]
}

/** A rule, or `false`: never cache this route. */
export type RouteRuleOrOff = RouteRule | false

/** Route patterns → rules, e.g. `{ '/': { revalidate: 60 }, '/blog/*': { revalidate: 3600, tags: ['posts'] }, '/admin/**': false }`. */
export type Routes = Record<string, RouteRuleOrOff>

type Segment = { kind: 'literal'; text: string } | { kind: 'one' } | { kind: 'any' }

interface CompiledRoute {
  pattern: string
  segments: Segment[]
  rule: RouteRuleOrOff
}

/** The segments of a path: `/blog/a/` → `['blog', 'a']`. */
export function pathSegments(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '')
}

function compileSegment(text: string): Segment {
  if (text === '*') return { kind: 'one' }
  if (text === '**') return { kind: 'any' }
  return { kind: 'literal', text }
}

const RANK = { literal: 2, one: 1, any: 0 } as const

/**
 * Negative when `a` is more specific than `b`. Segment by segment from the left: a literal beats `*`, which
 * beats `**`; at the first difference the more specific wins. If one pattern is a prefix of the other, the
 * shorter wins (the longer one only matched through a trailing `**` matching nothing).
 */
export function compareSpecificity(a: readonly Segment[], b: readonly Segment[]): number {
  const shared = Math.min(a.length, b.length)
  for (let i = 0; i < shared; i++) {
    const difference = RANK[b[i]!.kind] - RANK[a[i]!.kind]
    if (difference !== 0) return difference
  }
  return a.length - b.length
}

function matches(segments: readonly Segment[], path: readonly string[], si = 0, pi = 0): boolean {
  while (si < segments.length) {
    const segment = segments[si]!
    if (segment.kind === 'any') {
      if (si === segments.length - 1) return true
      for (let skip = pi; skip <= path.length; skip++) if (matches(segments, path, si + 1, skip)) return true
      return false
    }
    if (pi >= path.length) return false
    if (segment.kind === 'literal' && segment.text !== path[pi]) return false
    si++
    pi++
  }
  return pi === path.length
}

function optionError(message: string): IsrCacheError {
  return new IsrCacheError('E_INVALID_OPTION', message)
}

function checkRule(pattern: string, rule: unknown): RouteRuleOrOff {
  if (rule === false) return false
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) {
    throw optionError(`option routes["${pattern}"] must be a rule object ({ revalidate?, expire?, tags?, allowQuery? }) or false (never cache)`)
  }
  const input = rule as Record<string, unknown>
  const name = `option routes["${pattern}"]`
  checkKnown(input, ['revalidate', 'expire', 'tags', 'allowQuery'], name, 'E_INVALID_OPTION')
  const checked: RouteRule = {}
  if (input.revalidate !== undefined) checked.revalidate = seconds('E_INVALID_OPTION', `${name}.revalidate`, input.revalidate, { allowFalse: true })
  if (input.expire !== undefined) checked.expire = seconds('E_INVALID_OPTION', `${name}.expire`, input.expire, { positive: true }) as number
  if (typeof checked.revalidate === 'number' && checked.expire !== undefined && checked.revalidate > checked.expire) {
    throw optionError(`${name}.revalidate (${checked.revalidate} s) exceeds its expire (${checked.expire} s); lower revalidate or raise expire`)
  }
  if (input.tags !== undefined) {
    try {
      checked.tags = checkTags(input.tags, `${name}.tags`)
    } catch (error) {
      throw optionError((error as Error).message)
    }
  }
  if (input.allowQuery !== undefined) {
    if (!Array.isArray(input.allowQuery) || input.allowQuery.some((param) => typeof param !== 'string' || param === '')) {
      throw optionError(`${name}.allowQuery must be an array of query parameter names, e.g. ['page']`)
    }
    checked.allowQuery = [...new Set(input.allowQuery as string[])].sort()
  }
  return checked
}

/** A compiled route table: `match(pathname)` is the most specific rule, `false`, or undefined (no route). */
export interface RouteTable {
  match(pathname: string): RouteRuleOrOff | undefined
}

/** Checks and compiles `routes`; throws `E_INVALID_OPTION` naming the bad pattern or field. */
export function compileRoutes(routes: unknown): RouteTable {
  if (routes === undefined) return { match: () => undefined }
  if (typeof routes !== 'object' || routes === null || Array.isArray(routes)) {
    throw optionError(`option routes must be an object of path patterns to rules, e.g. { '/blog/*': { revalidate: 60 } }`)
  }
  const compiled: CompiledRoute[] = []
  for (const [pattern, rule] of Object.entries(routes)) {
    if (!pattern.startsWith('/') || pattern.includes('?') || pattern.includes('#')) {
      throw optionError(`option routes: the pattern "${pattern}" must be a path starting with "/" (no query or fragment), e.g. "/blog/*"`)
    }
    const segments = pathSegments(pattern).map(compileSegment)
    compiled.push({ pattern, segments, rule: checkRule(pattern, rule) })
  }
  compiled.sort((a, b) => compareSpecificity(a.segments, b.segments))
  const exact = new Map<string, RouteRuleOrOff>()
  for (const route of compiled) {
    if (route.segments.every((segment) => segment.kind === 'literal')) exact.set(`/${route.segments.map((s) => (s as { text: string }).text).join('/')}`, route.rule)
  }
  const patterns = compiled.filter((route) => route.segments.some((segment) => segment.kind !== 'literal'))
  // Memoised per pathname (bounded): a hit should not walk the patterns again.
  const memo = new Map<string, RouteRuleOrOff | undefined>()
  return {
    match(pathname) {
      if (memo.has(pathname)) return memo.get(pathname)
      const path = pathSegments(pathname)
      const normalized = `/${path.join('/')}`
      let found = exact.get(normalized)
      if (found === undefined) {
        for (const route of patterns) {
          if (matches(route.segments, path)) {
            found = route.rule
            break
          }
        }
      }
      if (memo.size >= 10_000) memo.clear()
      memo.set(pathname, found)
      return found
    },
  }
}

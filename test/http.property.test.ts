/**
 * Property tests of the HTTP layer's pure parts: directive and list header parsing, route matching and
 * key derivation.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { declaredFreshness, parseDirectives, parseVary, tokenList } from '../src/http/directives.js'
import { cacheKey } from '../src/http/key.js'
import { cacheTags } from '../src/http/policy.js'
import { compileRoutes, type RouteRule } from '../src/http/routes.js'
import { checkTags } from '../src/validate.js'

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/)
const space = fc.constantFrom('', ' ', '  ', '\t')
const segment = fc.stringMatching(/^[a-z0-9]{1,4}$/)

describe('header parsing', () => {
  it('parseDirectives reads back what was written, whatever the spacing, case and quoting', () => {
    const value = fc.oneof(fc.constant(true as const), fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.stringMatching(/^[a-z ,=]{0,8}$/).map((v) => ({ quoted: v })))
    fc.assert(
      fc.property(fc.array(fc.tuple(token, value, space, space, fc.boolean()), { minLength: 1, maxLength: 8 }), (list) => {
        const header = list
          .map(([name, v, before, after, upper]) => {
            const shown = upper ? name.toUpperCase() : name
            if (v === true) return `${before}${shown}${after}`
            if (typeof v === 'string') return `${before}${shown}=${v}${after}`
            return `${before}${shown}="${v.quoted}"${after}`
          })
          .join(',')
        const expected = new Map<string, string | true>()
        for (const [name, v] of list) if (!expected.has(name)) expected.set(name, typeof v === 'object' ? v.quoted : v)
        expect(parseDirectives(header)).toEqual(expected)
      }),
    )
  })

  it('parsing never throws, on any input', () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.option(fc.string()), (a, b) => {
        parseDirectives(a)
        declaredFreshness(a, b)
        tokenList(a)
        parseVary(b)
        cacheTags(a)
      }),
    )
  })

  it('CDN-Cache-Control max-age=N, stale-while-revalidate=M → revalidate N, expire N+M; it takes precedence over Cache-Control', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.option(fc.integer({ min: 0, max: 1e6 })), fc.integer({ min: 0, max: 1e6 }), (n, m, other) => {
        const swr = m === null ? '' : `, stale-while-revalidate=${m}`
        const cdn = declaredFreshness(`max-age=${n}${swr}`, `s-maxage=${other}, max-age=${other}`)
        expect(cdn).toEqual({ optIn: true, optOut: false, revalidate: n, ...(m === null ? {} : { expire: n + m }) })
        const cc = declaredFreshness(null, `public, max-age=${other}, s-maxage=${n}${swr}`)
        expect(cc).toEqual({ optIn: true, optOut: false, revalidate: n, ...(m === null ? {} : { expire: n + m }) })
        // max-age alone in Cache-Control addresses browsers, not this cache.
        expect(declaredFreshness(null, `max-age=${n}`).optIn).toBe(false)
        expect(declaredFreshness(`max-age=${n}`, 'private').optOut).toBe(true)
        expect(declaredFreshness(`max-age=0`, null)).toEqual({ optIn: false, optOut: true })
      }),
    )
  })

  it('Vary and Cache-Tag lists: trimmed, de-duplicated, in order; tags are always ones the core accepts', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(token, space, space, fc.boolean())), (list) => {
        const header = list.map(([name, a, b, upper]) => `${a}${upper ? name.toUpperCase() : name}${b}`).join(',')
        expect(parseVary(header)).toEqual([...new Set(list.map(([name]) => name))])
      }),
    )
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (header) => {
        expect(() => checkTags(cacheTags(header))).not.toThrow()
      }),
    )
  })
})

describe('route matching', () => {
  const patternSegment = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('a', 'b', 'c') }, { weight: 1, arbitrary: fc.constant('*') }, { weight: 1, arbitrary: fc.constant('**') })
  const pattern = fc.array(patternSegment, { maxLength: 4 }).map((segments) => `/${segments.join('/')}`)
  const path = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 5 }).map((segments) => `/${segments.join('/')}`)

  /** The reference: a pattern as a regular expression. */
  function reference(p: string): RegExp {
    const parts = p.split('/').filter(Boolean)
    let source = ''
    for (const part of parts) source += part === '**' ? '(?:/[^/]+)*' : part === '*' ? '/[^/]+' : `/${part}`
    return new RegExp(`^${source === '' ? '/' : `${source}/?`}$`.replace('^/?$', '^/$'))
  }

  it('a rule is found exactly when some pattern matches; the one found matches; an exact path wins', () => {
    fc.assert(
      fc.property(fc.uniqueArray(pattern, { maxLength: 6 }), path, (patterns, p) => {
        const rules: Record<string, RouteRule> = {}
        patterns.forEach((pt, i) => (rules[pt] = { revalidate: i + 1 }))
        const table = compileRoutes(rules)
        const found = table.match(p)
        const matching = patterns.filter((pt) => reference(pt).test(p) || (pt.endsWith('/**') && reference(pt.slice(0, -3) || '/').test(p)))
        expect(found !== undefined).toBe(matching.length > 0)
        if (found !== undefined && found !== false) expect(matching).toContain(patterns[(found.revalidate as number) - 1])
        if (patterns.includes(p)) expect(found).toEqual({ revalidate: patterns.indexOf(p) + 1 })
      }),
    )
  })

  it('specificity: a literal beats *, which beats **, at the first segment that differs', () => {
    const table = compileRoutes({ '/**': { revalidate: 1 }, '/blog/**': { revalidate: 2 }, '/blog/*': { revalidate: 3 }, '/blog/a': { revalidate: 4 }, '/*/a/**': { revalidate: 5 } })
    expect(table.match('/blog/a')).toEqual({ revalidate: 4 })
    expect(table.match('/blog/b')).toEqual({ revalidate: 3 })
    expect(table.match('/blog/b/c')).toEqual({ revalidate: 2 })
    expect(table.match('/blog')).toEqual({ revalidate: 2 })
    expect(table.match('/x/a/y')).toEqual({ revalidate: 5 })
    expect(table.match('/x')).toEqual({ revalidate: 1 })
    expect(table.match('/')).toEqual({ revalidate: 1 })
  })
})

describe('key derivation', () => {
  const name = fc.constantFrom('page', 'sort', 'q', 'utm_source', 'fbclid', 'x')
  const param = fc.tuple(name, fc.string({ maxLength: 6 }))
  it('only allowed parameters count, in name order (values of one name in request order); others never split the cache', () => {
    fc.assert(
      fc.property(fc.array(param, { maxLength: 8 }), fc.subarray(['page', 'sort', 'q']), fc.array(segment, { maxLength: 3 }), (params, allowed, segments) => {
        const pathname = `/${segments.join('/')}`
        const allow = [...allowed].sort()
        const url = new URL(`http://h${pathname}?${new URLSearchParams(params)}`)
        const key = cacheKey(url, allow, [], new Headers())
        // Reorder parameters of different names, add noise: same key.
        const shuffled = [...params].sort((a, b) => a[0].localeCompare(b[0]))
        const noisy = new URL(`http://h${pathname}?${new URLSearchParams([['utm_campaign', 'z'], ...shuffled, ['fbclid', 'y']])}`)
        if (!allow.includes('utm_campaign')) expect(cacheKey(noisy, allow, [], new Headers())).toBe(key)
        const kept = params.filter(([n]) => allow.includes(n))
        expect(key).toBe(kept.length === 0 ? pathname : `${pathname}?${new URLSearchParams(allow.flatMap((n) => kept.filter(([k]) => k === n)))}`)
      }),
    )
  })

  it('vary headers key the entry; their absence and their presence are different keys', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{2}(-[A-Z]{2})?$/), fc.stringMatching(/^[a-z]{2}$/), (a, b) => {
        const url = new URL('http://h/p')
        const keyOf = (value?: string) => cacheKey(url, undefined, ['accept-language'], new Headers(value === undefined ? {} : { 'accept-language': value }))
        expect(keyOf(a) === keyOf(b)).toBe(a === b)
        expect(keyOf(a)).not.toBe(keyOf())
        expect(keyOf(` ${a} `)).toBe(keyOf(a))
      }),
    )
  })
})

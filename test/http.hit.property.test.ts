/**
 * The adapters' HIT path (src/http/hit.ts) against `isr` itself: for any request, what `freshHit` answers
 * must be exactly the HIT `isr` answers (status, headers but `age`, body), and on the memory store it must
 * answer every HIT `isr` would answer without its bypass (so the adapters lose no hit to the slow path).
 * Requests are generated: methods, paths under routes with and without rules, allowed and tracking query
 * parameters, varying headers, cookies, the preview cookie, bypass tokens right and wrong, If-None-Match.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createIsrCache } from '../src/cache.js'
import { createIsrHandler } from '../src/http/handler.js'
import { freshHit, hitResponse } from '../src/http/hit.js'

const BYPASS = 'the-bypass-token'

function setUp() {
  const cache = createIsrCache()
  const isr = createIsrHandler({
    cache,
    routes: { '/a/*': { revalidate: 60, allowQuery: ['page'] }, '/b': { revalidate: 60 }, '/off/**': false },
    vary: ['accept-language'],
    bypassToken: BYPASS,
  })
  const render = (request: Request) => {
    const url = new URL(request.url)
    const headers: Record<string, string> = { 'content-type': 'text/plain' }
    if (url.pathname.startsWith('/h')) headers['cache-control'] = 's-maxage=60' // opts in by its headers
    return new Response(`${url.pathname}${url.search} ${request.headers.get('accept-language') ?? '-'}`, { headers })
  }
  return { cache, isr, render }
}

const requestArb = fc.record({
  method: fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST'),
  path: fc.constantFrom('/a/1', '/a/2', '/b', '/off/x', '/h1', '/h2', '/nope', '/a/%2e%2e', '/a/1/'),
  query: fc.constantFrom('', '?page=2', '?utm_source=x', '?page=1&page=2', '?other=1'),
  language: fc.constantFrom(undefined, 'en', 'fr', ' en '),
  cookie: fc.constantFrom(undefined, 'session=1', '__prerender_bypass=1', 'a=1; __prerender_bypass=x'),
  bypass: fc.constantFrom(undefined, undefined, BYPASS, 'wrong'),
  ifNoneMatch: fc.constantFrom(undefined, '*', '"nope"'),
})
type Asked = typeof requestArb extends fc.Arbitrary<infer T> ? T : never

function requestOf(asked: Asked): Request {
  const headers = new Headers()
  if (asked.language !== undefined) headers.set('accept-language', asked.language)
  if (asked.cookie !== undefined) headers.set('cookie', asked.cookie)
  if (asked.bypass !== undefined) headers.set('x-isr-cache-bypass', asked.bypass)
  if (asked.ifNoneMatch !== undefined) headers.set('if-none-match', asked.ifNoneMatch)
  return new Request(`http://example.test${asked.path}${asked.query}`, { method: asked.method, headers })
}

async function seen(response: Response) {
  const headers = Object.fromEntries([...response.headers].filter(([name]) => name !== 'age'))
  return { status: response.status, headers, body: await response.text() }
}

describe('freshHit agrees with isr', () => {
  it('answers exactly the HITs isr answers, and (memory store) every one of them but bypasses', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(requestArb, { minLength: 1, maxLength: 25 }), async (requests) => {
        const { cache, isr, render } = setUp()
        for (const asked of requests) {
          // The previous render's write lands first (while one is landing, the fast path leaves it to isr).
          await new Promise((resolve) => setImmediate(resolve))
          const request = requestOf(asked)
          const hit = freshHit(isr, { method: request.method, url: new URL(request.url), headers: request.headers })
          const fast = hit === undefined ? undefined : await seen(hitResponse(hit, request.method, request.headers.get('if-none-match')))
          const slow = await seen(await isr(request, render))
          if (fast !== undefined) expect(fast).toStrictEqual(slow)
          else if (slow.headers['x-isr-cache'] === 'HIT') expect(asked.bypass, `a HIT the fast path missed: ${JSON.stringify(asked)}`).toBe('wrong')
        }
        await cache.close()
      }),
      { numRuns: 150 },
    )
  })

  it('answers nothing for a function that is not an isr handler', () => {
    const request = new Request('http://example.test/b')
    expect(freshHit(() => undefined, { method: 'GET', url: new URL(request.url), headers: request.headers })).toBeUndefined()
  })
})

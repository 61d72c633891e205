/**
 * The Astro mapping in process, without Astro: contexts and `next()` / `rewrite()` shaped as Astro's
 * (`APIContext` for the Astro 5 middleware, the cache provider's context for Astro 7), on the real in-memory
 * store. What is asserted is what the adapter decides: what passes through, what a cached render sees, whose
 * cookie jar an answer carries, what the provider writes into a build. Real Astro builds are in
 * astro.e2e.test.ts.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { IsrCacheError, createIsrCache, type IsrCache } from '../src/index.js'
import { createIsrMiddleware, isrCacheProvider } from '../adapters/astro/index.js'
import { cacheProviderFactory } from '../adapters/astro/provider-runtime.js'
import { ASTRO_COOKIES, renderCookieless, type AstroContextLike } from '../adapters/astro/context.js'

const ORIGIN = 'http://localhost'

/** A cookie jar as Astro's: parses the request's Cookie header on first use; `set` adds an outgoing cookie. */
class Jar {
  private incoming: Map<string, string> | undefined
  readonly outgoing = new Map<string, string>()
  constructor(private readonly request: Request) {}
  private parsed(): Map<string, string> {
    this.incoming ??= new Map((this.request.headers.get('cookie') ?? '').split(';').filter(Boolean).map((pair) => pair.trim().split('=') as [string, string]))
    return this.incoming
  }
  get(key: string): { value: string } | undefined {
    const value = this.outgoing.get(key) ?? this.parsed().get(key)
    return value === undefined ? undefined : { value }
  }
  has(key: string): boolean {
    return this.outgoing.has(key) || this.parsed().has(key)
  }
  set(key: string, value: string): void {
    this.outgoing.set(key, value)
  }
  *headers(): Generator<string> {
    for (const [key, value] of this.outgoing) yield `${key}=${value}`
  }
}

/** What a page saw, per render. */
interface Seen {
  url: string
  cookie: string | null
  session: string | undefined
  locals: Record<string, unknown>
}

/**
 * An Astro 5 request: `chain` is the middleware sequence; `rewrite()` runs the whole chain again for another
 * Request with a fresh jar (Astro merges the visitor's outgoing cookies into it) and the same `locals`.
 */
function astro5(chain: Array<(context: AstroContextLike, next: () => Promise<Response>) => Promise<Response>>, page: (context: AstroContextLike & { cookies: Jar }) => Response) {
  const seen: Seen[] = []
  function run(request: Request, options: { locals?: Record<string, unknown>; cookies?: Jar; routePattern?: string; isPrerendered?: boolean } = {}): { context: AstroContextLike & { cookies: Jar; locals: Record<string, unknown> }; response: Promise<Response> } {
    const state = { request, cookies: options.cookies ?? new Jar(request) }
    const locals = options.locals ?? {}
    const context = {
      get request() {
        return state.request
      },
      url: new URL(request.url),
      get cookies() {
        return state.cookies
      },
      locals,
      isPrerendered: options.isPrerendered ?? false,
      routePattern: options.routePattern ?? new URL(request.url).pathname,
      rewrite: async (payload: Request) => {
        const fresh = new Jar(payload)
        for (const [key, value] of state.cookies.outgoing) fresh.set(key, value)
        state.request = payload
        state.cookies = fresh
        return run(payload, { locals, cookies: fresh }).response
      },
    }
    const step = (i: number): Promise<Response> => {
      if (i === chain.length) {
        seen.push({ url: state.request.url, cookie: state.request.headers.get('cookie'), session: state.cookies.get('session')?.value, locals: { ...locals } })
        return Promise.resolve(page(context))
      }
      return chain[i]!(context, () => step(i + 1))
    }
    return { context, response: step(0) }
  }
  return { run, seen }
}

const caches: IsrCache[] = []
function memoryCache(): IsrCache {
  const cache = createIsrCache()
  caches.push(cache)
  return cache
}
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

/** Polls `probe` until it holds (the background regeneration has no promise to await); throws after 5 s. */
async function until(probe: () => Promise<boolean>): Promise<void> {
  const giveUpAt = Date.now() + 5000
  while (!(await probe())) {
    if (Date.now() > giveUpAt) throw new Error('gave up after 5 s')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => new Request(`${ORIGIN}${path}`, { method, headers })

describe('createIsrMiddleware (Astro 5)', () => {
  function app(routes = { '/': { revalidate: 60 }, '/blog/*': { revalidate: 60 } }) {
    const cache = memoryCache()
    const isr = createIsrMiddleware({ cache, routes })
    let renders = 0
    // A middleware before the cache that reads the session into locals, as an auth middleware would.
    const auth = async (context: AstroContextLike, next: () => Promise<Response>) => {
      const value = (context.cookies as Jar).get('session')?.value
      if (value !== undefined) (context.locals as Record<string, unknown>).user = value
      return next()
    }
    const astro = astro5([auth, isr], (context) => {
      renders += 1
      context.cookies.set('visitor', String(renders))
      return new Response(`render ${renders}`, { headers: { 'content-type': 'text/html' } })
    })
    return { ...astro, cache, renders: () => renders }
  }

  it('MISS then HIT: the cached render sees no cookie, no authorization and no visitor locals; the MISS visitor keeps the jar its render set', async () => {
    const { run, seen } = app()
    const first = run(get('/', { cookie: 'session=secret', authorization: 'Bearer x' }))
    const miss = await first.response
    expect([miss.headers.get('x-isr-cache'), await miss.text()]).toEqual(['MISS', 'render 1'])
    expect(seen).toEqual([{ url: `${ORIGIN}/`, cookie: null, session: undefined, locals: {} }])
    // The rewrite's jar became the context's: Astro attaches it to the answer, with the render's cookie.
    expect([...first.context.cookies.headers()]).toEqual(['visitor=1'])
    const second = run(get('/', { cookie: 'session=other' }))
    const hit = await second.response
    expect([hit.headers.get('x-isr-cache'), await hit.text()]).toEqual(['HIT', 'render 1'])
    expect([...second.context.cookies.headers()]).toEqual([])
    expect(seen).toHaveLength(1)
  })

  it("a background regeneration renders cookie-less, after the stale visitor's answer, into a jar of its own", async () => {
    const { run, seen, cache } = app({ '/': { revalidate: 60 }, '/blog/*': { revalidate: 60 } })
    await (await run(get('/')).response).text()
    await cache.revalidatePath('/', { expire: 3600 })
    // The regeneration must start in a later millisecond than the purge: one that starts in the same
    // millisecond counts as older than the purge (its data may predate it) and leaves the entry stale.
    await new Promise((resolve) => setTimeout(resolve, 2))
    const visit = run(get('/', { cookie: 'session=stale-visitor' }))
    const stale = await visit.response
    // The jar Astro attaches to the stale visitor's answer: the context's, when the middleware returned.
    const answeredJar = visit.context.cookies
    expect([stale.headers.get('x-isr-cache'), await stale.text()]).toEqual(['STALE', 'render 1'])
    await until(async () => (await cache.get('/'))?.status === 'hit')
    expect(seen.at(-1)).toEqual({ url: `${ORIGIN}/`, cookie: null, session: undefined, locals: {} })
    // The jar the stale visitor's answer carried never got the regenerated page's cookie: the rewrite's did.
    expect(answeredJar.outgoing.size).toBe(0)
    expect(visit.context.cookies).not.toBe(answeredJar)
    expect([...visit.context.cookies.headers()]).toEqual(['visitor=2'])
  })

  it('passes through: other methods, prerendered pages, Astro\'s own routes, and our marker sent by a visitor is dropped', async () => {
    const { run, seen } = app({ '/**': { revalidate: 60 } } as never)
    for (const [request, options] of [
      [get('/', {}, 'POST'), {}],
      [get('/about'), { isPrerendered: true }],
      [get('/_image?href=a.png'), { routePattern: '/_image' }],
      [get('/_server-islands/Island'), { routePattern: '/_server-islands/[name]' }],
      [get('/_actions/like'), { routePattern: '/[...slug]' }],
    ] as const) {
      const response = await run(request, options).response
      expect(response.headers.get('x-isr-cache'), request.url).toBeNull()
    }
    expect(seen).toHaveLength(5)
    const forged = await run(get('/blog/a', { 'x-isr-cache-internal': 'guess', cookie: 'session=s' })).response
    expect(forged.headers.get('x-isr-cache')).toBe('MISS')
    expect(seen.at(-1)!.cookie).toBeNull()
  })

  it('a cookie a middleware before the cache set for this visitor could reach the render: served private, never stored, warned once', async () => {
    const cache = memoryCache()
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const issuesCookie = async (context: AstroContextLike, next: () => Promise<Response>) => {
      if (context.request.headers.has('cookie')) (context.cookies as Jar).set('session', 'issued-for-visitor')
      return next()
    }
    let renders = 0
    const { run, seen } = astro5([issuesCookie, createIsrMiddleware({ cache, routes: { '/': { revalidate: 60 } } })], () => new Response(`render ${++renders}`))
    const first = await run(get('/', { cookie: 'a=1' })).response
    expect([first.headers.get('x-isr-cache'), first.headers.get('cache-control')]).toEqual(['MISS', 'private, no-store'])
    expect(seen[0]!.session).toBe('issued-for-visitor')
    const again = await run(get('/')).response
    expect([again.headers.get('x-isr-cache'), await again.text()]).toEqual(['MISS', 'render 2'])
    expect((await run(get('/')).response).headers.get('x-isr-cache')).toBe('HIT')
    await run(get('/', { cookie: 'a=1' })).response
    expect(warn.mock.calls.length).toBeLessThanOrEqual(1)
  })
})

describe('renderCookieless (the in-place render, for contexts without rewrite)', () => {
  it("deletes what the HTTP layer left out from context.request; a jar that already read the visitor's cookie makes the render private", async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const request = get('/', { cookie: 'session=s', authorization: 'Bearer t', accept: 'text/html' })
    const asked = new Request(request.url, { headers: { accept: 'text/html' } })
    const jar = new Jar(request)
    let sawCookie: string | null = 'unset'
    const clean = await renderCookieless({ request, url: new URL(request.url), cookies: jar }, async () => {
      sawCookie = request.headers.get('cookie')
      return new Response('ok')
    }, asked)
    expect([sawCookie, request.headers.get('authorization'), request.headers.get('accept'), clean.headers.get('cache-control')]).toEqual([null, null, 'text/html', null])

    const read = get('/', { cookie: 'session=s' })
    const parsedJar = new Jar(read)
    parsedJar.get('session') // a middleware before the cache read it
    const tainted = await renderCookieless({ request: read, url: new URL(read.url), cookies: parsedJar }, async () => new Response('ok'), new Request(read.url))
    expect(tainted.headers.get('cache-control')).toBe('private, no-store')

    // A provider context has no jar to look at beforehand: the one left on the Response is read afterwards.
    const late = get('/', { cookie: 'session=s%20v' })
    const leaked = await renderCookieless({ request: late, url: new URL(late.url) }, async () => {
      const response = new Response('ok')
      Reflect.set(response, ASTRO_COOKIES, { get: (key: string) => (key === 'session' ? { value: 's v' } : undefined) })
      return response
    }, new Request(late.url))
    expect(leaked.headers.get('cache-control')).toBe('private, no-store')
  })
})

describe('isrCacheProvider (Astro 7 config)', () => {
  it("returns Astro's provider shape: the package's runtime entrypoint and JSON config; a token is written as its digest only", () => {
    const provider = isrCacheProvider({ routes: { '/search': { allowQuery: ['q'] } }, bypassToken: 'a-secret-bypass-token', cacheOptions: { prefix: 'blog' } })
    expect(provider.name).toBe('isr-cache')
    expect(provider.entrypoint).toBe('isr-cache/astro/provider')
    const json = JSON.stringify(provider.config)
    expect(JSON.parse(json)).toEqual(provider.config)
    expect(json).not.toContain('a-secret-bypass-token')
    expect(provider.config.handler.bypassToken).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(isrCacheProvider()).toEqual({ name: 'isr-cache', entrypoint: 'isr-cache/astro/provider', config: { handler: {}, cacheOptions: {} } })
  })

  it('refuses what cannot or must not be written into a build, naming the fix', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ cache: createIsrCache() }, /option cache is not accepted: the provider creates its cache at run time from ISR_CACHE_STORE/],
      [{ now: () => 1 }, /option now is not accepted/],
      [{ cacheOptions: { store: 'redis://x' } }, /cacheOptions.store is not accepted: the store is read at run time from ISR_CACHE_STORE/],
      [{ cacheOptions: { onError: () => {} } }, /cacheOptions.onError is not accepted here/],
      [{ routes: { '/': { revalidate: -1 } } }, /revalidate/],
      [{ bypassToken: 42 }, /option bypassToken must be a string; better, leave it out and set ISR_CACHE_BYPASS_TOKEN/],
      [{ vary: ['cookie'] }, /option vary cannot hold cookie/],
      ['routes', /pass an options object/],
    ]
    for (const [options, message] of cases) {
      expect(() => isrCacheProvider(options as never), String(message)).toThrow(message)
      expect(() => isrCacheProvider(options as never)).toThrow(IsrCacheError)
    }
  })
})

describe('the provider runtime (isr-cache/astro/provider)', () => {
  /** Astro 7's `next()` for one request: renders, applies Astro.cache.set() as headers, attaches the jar. */
  function astro7(directives: string | undefined, tags?: string) {
    let renders = 0
    const seen: Array<string | null> = []
    const request = (path: string, headers: Record<string, string> = {}) => {
      const req = get(path, headers)
      const jar = new Jar(req)
      const next = async () => {
        renders += 1
        seen.push(req.headers.get('cookie'))
        jar.set('visitor', String(renders))
        const response = new Response(`render ${renders}`, { headers: { 'content-type': 'text/html' } })
        if (directives) response.headers.set('CDN-Cache-Control', directives)
        if (tags) response.headers.set('Cache-Tag', tags)
        Reflect.set(response, ASTRO_COOKIES, jar)
        return response
      }
      return { context: { request: req, url: new URL(req.url) }, next, jar }
    }
    return { request, seen, renders: () => renders }
  }

  it("MISS (the visitor's own jar carried over, the render cookie-less) → HIT (nobody's jar) → invalidate by tag and by path", async () => {
    const provider = cacheProviderFactory(isrCacheProvider().config)
    caches.push(provider.cache)
    const app = astro7('max-age=60, stale-while-revalidate=600', 'posts')
    const first = app.request('/blog/a', { cookie: 'session=secret' })
    // A visitor with cookies renders for itself (not stored): Astro.cache.set() is known only after the render.
    const own = await provider.onRequest(first.context, first.next)
    expect(Reflect.get(own, ASTRO_COOKIES)).toBe(first.jar)
    expect(own.headers.get('x-isr-cache')).toBe('MISS')
    const anonymous = app.request('/blog/a')
    const miss = await provider.onRequest(anonymous.context, anonymous.next)
    expect([miss.headers.get('x-isr-cache'), await miss.text()]).toEqual(['MISS', 'render 2'])
    expect(Reflect.get(miss, ASTRO_COOKIES)).toBe(anonymous.jar)
    expect(miss.headers.get('cdn-cache-control')).toBeNull()
    const again = app.request('/blog/a', { cookie: 'session=other' })
    const hit = await provider.onRequest(again.context, again.next)
    expect([hit.headers.get('x-isr-cache'), await hit.text()]).toEqual(['HIT', 'render 2'])
    expect(Reflect.get(hit, ASTRO_COOKIES)).toBeUndefined()

    await provider.invalidate({ tags: ['posts'] })
    const afterTag = app.request('/blog/a')
    expect((await provider.onRequest(afterTag.context, afterTag.next)).headers.get('x-isr-cache')).toBe('MISS')
    await provider.invalidate({ path: '/blog/a?x=1' })
    const afterPath = app.request('/blog/a')
    expect((await provider.onRequest(afterPath.context, afterPath.next)).headers.get('x-isr-cache')).toBe('MISS')
    await provider.invalidate({ tags: [] })
  })

  it('a stale page: served STALE at once, regenerated once, cookie-less, into nobody\'s answer', async () => {
    const provider = cacheProviderFactory(undefined)
    caches.push(provider.cache)
    const app = astro7('max-age=60')
    const first = app.request('/')
    await (await provider.onRequest(first.context, first.next)).text()
    await provider.cache.revalidatePath('/', { expire: 3600 })
    const visits = Array.from({ length: 5 }, () => app.request('/', { cookie: 'session=stale-visitor' }))
    const answers = await Promise.all(visits.map((visit) => provider.onRequest(visit.context, visit.next)))
    for (const answer of answers) {
      expect(answer.headers.get('x-isr-cache')).toBe('STALE')
      expect(Reflect.get(answer, ASTRO_COOKIES)).toBeUndefined()
    }
    await until(async () => (await provider.cache.get('/'))?.status === 'hit')
    expect(app.renders()).toBe(2)
    expect(app.seen.at(-1)).toBeNull()
  })

  it('reads the store, prefix and bypass token from the environment when the server starts', async () => {
    vi.stubEnv('ISR_CACHE_BYPASS_TOKEN', 'token-from-the-environment')
    try {
      const provider = cacheProviderFactory(isrCacheProvider({ bypassToken: 'token-in-the-config' }).config)
      caches.push(provider.cache)
      const app = astro7('max-age=60')
      const warm = app.request('/')
      await (await provider.onRequest(warm.context, warm.next)).text()
      const withConfigToken = app.request('/', { 'x-isr-cache-bypass': 'token-in-the-config' })
      expect((await provider.onRequest(withConfigToken.context, withConfigToken.next)).headers.get('x-isr-cache')).toBe('HIT')
      const withEnvToken = app.request('/', { 'x-isr-cache-bypass': 'token-from-the-environment' })
      expect((await provider.onRequest(withEnvToken.context, withEnvToken.next)).headers.get('x-isr-cache')).toBe('BYPASS')
    } finally {
      vi.unstubAllEnvs()
    }
    const configured = cacheProviderFactory(isrCacheProvider({ bypassToken: 'token-in-the-config' }).config)
    caches.push(configured.cache)
    const app = astro7('max-age=60')
    const bypass = app.request('/', { 'x-isr-cache-bypass': 'token-in-the-config' })
    expect((await configured.onRequest(bypass.context, bypass.next)).headers.get('x-isr-cache')).toBe('BYPASS')
  })
})

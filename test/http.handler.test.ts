/**
 * createIsrHandler in process, on the real in-memory store: what is stored, what is served, what a render
 * sees. The two-instance behaviour on Redis is in http.e2e.test.ts.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCache } from '../src/index.js'
import { createIsrHandler, type IsrHandlerOptions, type Render } from '../src/http/index.js'
import { isBackgroundRender } from '../src/http/handler.js'

const URL_BASE = 'http://app.test'
const get = (path: string, headers: Record<string, string> = {}, method = 'GET') => new Request(`${URL_BASE}${path}`, { method, headers })

/** A render that numbers its calls and records the requests it was given. */
function counted(respond: (request: Request, n: number) => Response | Promise<Response> = (_r, n) => new Response(`render ${n}`)) {
  const seen: Request[] = []
  const render: Render = (request) => {
    seen.push(request)
    return respond(request, seen.length)
  }
  return { render, seen, get count() { return seen.length } }
}

function setup(options: Omit<IsrHandlerOptions, 'cache'> = {}, cacheOptions: Parameters<typeof createIsrCache>[0] = {}) {
  let at = 1_700_000_000_000
  const now = () => at
  const cache: IsrCache = createIsrCache({ now, ...cacheOptions })
  const isr = createIsrHandler({ cache, now, routes: { '/': { revalidate: 60 }, '/blog/*': { revalidate: 60, tags: ['posts'], allowQuery: ['page'] } }, ...options })
  return { cache, isr, advance: (seconds: number) => (at += seconds * 1000) }
}

/** A controllable stream: `push` chunks, `end` it. */
function gatedBody() {
  let controller!: ReadableStreamDefaultController<Uint8Array>
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) })
  const encoder = new TextEncoder()
  return { stream, push: (text: string) => controller.enqueue(encoder.encode(text)), end: () => controller.close() }
}

describe('createIsrHandler', () => {
  it('MISS, then HIT with Age, then STALE with one background render, then HIT with the new content', async () => {
    const { isr, advance, cache } = setup()
    const app = counted()
    const miss = await isr(get('/'), app.render)
    expect(miss.headers.get('x-isr-cache')).toBe('MISS')
    expect(await miss.text()).toBe('render 1')
    advance(10)
    const hit = await isr(get('/'), app.render)
    expect([hit.headers.get('x-isr-cache'), hit.headers.get('age'), await hit.text()]).toEqual(['HIT', '10', 'render 1'])
    advance(60)
    const stale = await Promise.all(Array.from({ length: 10 }, () => isr(get('/'), app.render)))
    for (const response of stale) {
      expect(response.headers.get('x-isr-cache')).toBe('STALE')
      expect(await response.text()).toBe('render 1')
    }
    await waitUntil(async () => (await cache.get('/'))?.status === 'hit')
    const fresh = await isr(get('/'), app.render)
    expect([fresh.headers.get('x-isr-cache'), await fresh.text()]).toEqual(['HIT', 'render 2'])
    expect(app.count).toBe(2)
    await cache.close()
  })

  it('streams a MISS: the first chunk arrives before the render ends; a concurrent request waits for that one render', async () => {
    const { isr, cache } = setup()
    const body = gatedBody()
    const app = counted(() => new Response(body.stream, { headers: { 'content-type': 'text/html' } }))
    body.push('<p>first</p>')
    const first = await isr(get('/'), app.render)
    expect(first.headers.get('x-isr-cache')).toBe('MISS')
    let secondDone = false
    const second = isr(get('/'), app.render).then((response) => {
      secondDone = true
      return response
    })
    const reader = first.body!.getReader()
    const chunk = await reader.read()
    expect(new TextDecoder().decode(chunk.value)).toBe('<p>first</p>')
    // The render has not ended: the concurrent request is still waiting for it.
    expect(secondDone).toBe(false)
    body.push('<p>last</p>')
    body.end()
    let rest = ''
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest += new TextDecoder().decode(next.value)
    expect(rest).toBe('<p>last</p>')
    const waited = await second
    expect([waited.headers.get('x-isr-cache'), await waited.text()]).toEqual(['MISS', '<p>first</p><p>last</p>'])
    expect(app.count).toBe(1)
    await cache.close()
  })

  it('a cacheable render never sees Cookie or Authorization; Set-Cookie goes to the MISS requester only', async () => {
    const { isr, cache } = setup()
    const app = counted((request, n) => new Response(`render ${n} cookie=${request.headers.get('cookie')} auth=${request.headers.get('authorization')}`, { headers: { 'set-cookie': `visitor=${n}` } }))
    const miss = await isr(get('/', { cookie: 'session=secret', authorization: 'Bearer secret' }), app.render)
    expect(await miss.text()).toBe('render 1 cookie=null auth=null')
    expect(miss.headers.get('set-cookie')).toBe('visitor=1')
    const hit = await isr(get('/', { cookie: 'session=other' }), app.render)
    expect(hit.headers.get('x-isr-cache')).toBe('HIT')
    expect(hit.headers.get('set-cookie')).toBeNull()
    expect(await hit.text()).not.toContain('secret')
    await cache.close()
  })

  it('keys by pathname and allowQuery only, sorted; other parameters do not split the cache', async () => {
    const { isr, cache } = setup()
    const app = counted()
    expect(await (await isr(get('/blog/a?page=2&utm_source=x'), app.render)).text()).toBe('render 1')
    expect(await (await isr(get('/blog/a?fbclid=1&page=2'), app.render)).text()).toBe('render 1')
    expect(await (await isr(get('/blog/a?page=3'), app.render)).text()).toBe('render 2')
    expect(await (await isr(get('/blog/a'), app.render)).text()).toBe('render 3')
    // utm_* never reaches a different entry on the root either (no allowQuery there)
    expect(await (await isr(get('/?utm_campaign=z'), app.render)).text()).toBe('render 4')
    expect(await (await isr(get('/'), app.render)).text()).toBe('render 4')
    await cache.close()
  })

  it('ETag (computed when stored) and If-None-Match → 304; HEAD from the GET entry', async () => {
    const { isr, cache } = setup()
    const app = counted()
    await (await isr(get('/'), app.render)).text()
    const hit = await isr(get('/'), app.render)
    const etag = hit.headers.get('etag')
    expect(etag).toMatch(/^"[\w-]{22}"$/)
    const notModified = await isr(get('/', { 'if-none-match': `W/${etag}, "other"` }), app.render)
    expect(notModified.status).toBe(304)
    expect(notModified.headers.get('x-isr-cache')).toBe('HIT')
    expect(await notModified.text()).toBe('')
    const head = await isr(get('/', {}, 'HEAD'), app.render)
    expect([head.status, head.headers.get('x-isr-cache'), head.headers.get('content-length'), await head.text()]).toEqual([200, 'HIT', '8', ''])
    // A HEAD on a missing page renders it as a GET and stores it.
    const headMiss = await isr(get('/blog/x', {}, 'HEAD'), app.render)
    expect([headMiss.headers.get('x-isr-cache'), await headMiss.text()]).toEqual(['MISS', ''])
    expect(app.seen.at(-1)!.method).toBe('GET')
    expect(await (await isr(get('/blog/x'), app.render)).text()).toBe('render 2')
    // The app's own ETag is kept.
    const own = counted(() => new Response('x', { headers: { etag: '"v1"' } }))
    await (await isr(get('/blog/own'), own.render)).text()
    expect((await isr(get('/blog/own', { 'if-none-match': '"v1"' }), own.render)).status).toBe(304)
    await cache.close()
  })

  it('stores the exact bytes of a binary body, and never the headers that are not the page', async () => {
    const { isr, cache } = setup()
    const bytes = new Uint8Array(256).map((_, i) => i)
    const app = counted(() =>
      new Response(bytes, {
        headers: { 'content-type': 'application/octet-stream', 'set-cookie': 'a=1', date: 'Mon, 01 Jan 2024 00:00:00 GMT', age: '99', 'keep-alive': 'timeout=5', 'cdn-cache-control': 'max-age=60', 'cache-tag': 'bin', 'x-kept': 'yes' },
      }),
    )
    const miss = await isr(get('/blog/bin'), app.render)
    expect(miss.headers.get('cdn-cache-control')).toBeNull()
    expect(miss.headers.get('cache-tag')).toBeNull()
    expect(new Uint8Array(await miss.arrayBuffer())).toEqual(bytes)
    const hit = await isr(get('/blog/bin'), app.render)
    expect(new Uint8Array(await hit.arrayBuffer())).toEqual(bytes)
    for (const name of ['set-cookie', 'date', 'keep-alive', 'cdn-cache-control', 'cache-tag']) expect(hit.headers.get(name), name).toBeNull()
    expect(hit.headers.get('age')).toBe('0')
    expect(hit.headers.get('x-kept')).toBe('yes')
    // Cache-Tag tags purge it.
    await cache.revalidateTag('bin')
    expect((await isr(get('/blog/bin'), app.render)).headers.get('x-isr-cache')).toBe('MISS')
    await cache.close()
  })

  it.each([
    ['Cache-Control: private', { 'cache-control': 'private, max-age=60' }],
    ['Cache-Control: no-store', { 'cache-control': 'no-store' }],
    ['Vary: *', { vary: '*' }],
    ['Vary: Cookie', { vary: 'Accept-Encoding, Cookie' }],
    ['Vary: Authorization', { vary: 'authorization' }],
    ['Vary on a header the key does not hold', { vary: 'accept-language' }],
    ['Vary: Accept-Encoding with an encoded body', { vary: 'accept-encoding', 'content-encoding': 'gzip' }],
  ])('never stores a response with %s', async (_name, headers) => {
    const { isr, cache } = setup()
    const app = counted((_r, n) => new Response(`render ${n}`, { headers }))
    expect(await (await isr(get('/'), app.render)).text()).toBe('render 1')
    const second = await isr(get('/'), app.render)
    expect(await second.text()).toBe('render 2')
    expect(second.headers.get('x-isr-cache')).toBe('MISS')
    await cache.close()
  })

  it('a Vary header the key holds (option vary) keys the entry: one variant is never served for another', async () => {
    const { isr, cache } = setup({ vary: ['accept-language'] })
    const app = counted((request, n) => new Response(`${request.headers.get('accept-language')} ${n}`, { headers: { vary: 'Accept-Language, Accept-Encoding' } }))
    expect(await (await isr(get('/', { 'accept-language': 'fr' }), app.render)).text()).toBe('fr 1')
    expect(await (await isr(get('/', { 'accept-language': 'en' }), app.render)).text()).toBe('en 2')
    expect(await (await isr(get('/', { 'accept-language': 'fr' }), app.render)).text()).toBe('fr 1')
    await cache.close()
  })

  it('a render that returns a 500 is passed through, not stored; while stale, it keeps the stale page (stale-if-error)', async () => {
    const { isr, cache, advance } = setup({}, { onError: () => {} })
    let failing = true
    const app = counted((_r, n) => (failing ? new Response(`error ${n}`, { status: 500 }) : new Response(`ok ${n}`)))
    const first = await isr(get('/'), app.render)
    expect([first.status, await first.text()]).toEqual([500, 'error 1'])
    failing = false
    expect(await (await isr(get('/'), app.render)).text()).toBe('ok 2')
    failing = true
    advance(61)
    const errorsBefore = cache.stats().regenerationErrors
    const stale = await isr(get('/'), app.render)
    expect([stale.headers.get('x-isr-cache'), await stale.text()]).toEqual(['STALE', 'ok 2'])
    // The background render answered 500: a regeneration error for the core, which keeps the stale entry.
    await waitUntil(() => cache.stats().regenerationErrors === errorsBefore + 1)
    expect(app.count).toBe(3)
    const still = await isr(get('/'), app.render)
    expect([still.status, await still.text()]).toEqual([200, 'ok 2'])
    await cache.close()
  })

  it('a render that throws on a MISS: the app error reaches the server as it would without the cache', async () => {
    const { isr, cache } = setup()
    const failure = new Error('render failed')
    await expect(isr(get('/'), () => Promise.reject(failure))).rejects.toBe(failure)
    // Nothing was stored: the next request renders.
    const app = counted()
    expect(await (await isr(get('/'), app.render)).text()).toBe('render 1')
    await cache.close()
  })

  it('hardTimeout: a request waiting on a missing page too long gets a 504; the render goes on and is stored', async () => {
    const { isr, cache } = setup({ hardTimeout: 0.05 })
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const app = counted(async (_r, n) => {
      await held
      return new Response(`render ${n}`)
    })
    const timedOut = await isr(get('/'), app.render)
    expect([timedOut.status, timedOut.headers.get('x-isr-cache')]).toEqual([504, 'MISS'])
    release()
    await waitUntil(async () => (await cache.get('/')) !== undefined)
    expect(await (await isr(get('/'), app.render)).text()).toBe('render 1')
    await cache.close()
  })

  it('softTimeout: a stale page whose regeneration lands in time is answered fresh', async () => {
    const { isr, cache, advance } = setup({ softTimeout: 5 })
    const app = counted()
    await (await isr(get('/'), app.render)).text()
    advance(61)
    const fresh = await isr(get('/'), app.render)
    expect([fresh.headers.get('x-isr-cache'), await fresh.text()]).toEqual(['MISS', 'render 2'])
    await cache.close()
  })

  it('bodies over maxBodyBytes are served whole and not stored', async () => {
    const { isr, cache } = setup({ maxBodyBytes: 1000 })
    const big = 'x'.repeat(5000)
    const app = counted((_r, n) => new Response(`${n}${big}`))
    expect((await (await isr(get('/'), app.render)).text()).length).toBe(5001)
    expect(await (await isr(get('/'), app.render)).text()).toBe(`2${big}`)
    await cache.close()
  })

  it('a route without a rule: cached only when the response opts in (CDN-Cache-Control / s-maxage); otherwise untouched', async () => {
    const { isr, cache, advance } = setup()
    const untouched = new Response('untouched')
    expect(await isr(get('/other'), () => untouched)).toBe(untouched)
    const optOut = new Response('opt-out', { headers: { 'cdn-cache-control': 'no-store' } })
    expect(await isr(get('/other2'), () => optOut)).toBe(optOut)
    const app = counted((_r, n) => new Response(`opt-in ${n}`, { headers: { 'cache-control': 'public, s-maxage=10, stale-while-revalidate=100', 'cache-tag': 'a, b' } }))
    expect(await (await isr(get('/opt'), app.render)).text()).toBe('opt-in 1')
    const hit = await isr(get('/opt'), app.render)
    expect([hit.headers.get('x-isr-cache'), hit.headers.get('cache-control'), await hit.text()]).toEqual(['HIT', 'public, s-maxage=10, stale-while-revalidate=100', 'opt-in 1'])
    advance(11)
    expect((await isr(get('/opt'), app.render)).headers.get('x-isr-cache')).toBe('STALE')
    await waitUntil(async () => (await cache.get('/opt'))?.status === 'hit')
    expect(await (await isr(get('/opt'), app.render)).text()).toBe('opt-in 2')
    await cache.revalidateTag('b')
    expect(await (await isr(get('/opt'), app.render)).text()).toBe('opt-in 3')
    // A visitor with a cookie gets a render with its cookie, and it is not stored.
    const withCookie = counted((request, n) => new Response(`c ${request.headers.get('cookie')} ${n}`, { headers: { 'cdn-cache-control': 'max-age=60' } }))
    expect(await (await isr(get('/c', { cookie: 'a=1' }), withCookie.render)).text()).toBe('c a=1 1')
    expect(await (await isr(get('/c'), withCookie.render)).text()).toBe('c null 2')
    expect(await (await isr(get('/c', { cookie: 'a=1' }), withCookie.render)).text()).toBe('c null 2')
    await cache.close()
  })

  it('a route without a rule: a purge issued while the render streams wins over it (the entry is stamped with when the render started)', async () => {
    const { isr, cache, advance } = setup()
    for (const purge of [() => cache.revalidateTag('posts'), () => cache.revalidatePath('/late')]) {
      const body = gatedBody()
      const streaming = await isr(get('/late'), () => new Response(body.stream, { headers: { 'cdn-cache-control': 'max-age=60', 'cache-tag': 'posts' } }))
      expect(streaming.headers.get('x-isr-cache')).toBe('MISS')
      body.push('rendered before the purge')
      advance(1)
      await purge()
      advance(1)
      const writes = cache.stats().writes
      body.end()
      expect(await streaming.text()).toBe('rendered before the purge')
      await waitUntil(() => cache.stats().writes > writes)
      // Stored, but as of when its render started: the (hard) purge after that has expired it.
      expect(await cache.get('/late')).toBeUndefined()
      const app = counted((_r, n) => new Response(`after the purge ${n}`, { headers: { 'cdn-cache-control': 'max-age=60', 'cache-tag': 'posts' } }))
      const next = await isr(get('/late'), app.render)
      expect([next.headers.get('x-isr-cache'), await next.text()]).toEqual(['MISS', 'after the purge 1'])
      await waitUntil(async () => (await cache.get('/late'))?.status === 'hit')
      await cache.delete('/late')
    }
    await cache.close()
  })

  it('routes: false never caches, the most specific pattern wins, ** matches any depth', async () => {
    let at = 0
    const cache = createIsrCache({ now: () => at })
    const isr = createIsrHandler({
      cache,
      routes: { '/**': { revalidate: 10 }, '/admin/**': false, '/admin/public': { revalidate: 10 }, '/docs/*': false, '/docs/*/edit': false },
    })
    const app = counted()
    const twice = async (path: string) => [await (await isr(get(path), app.render)).text(), await (await isr(get(path), app.render)).text()]
    expect(await twice('/admin/users/1')).toEqual(['render 1', 'render 2'])
    expect(await twice('/admin/public')).toEqual(['render 3', 'render 3'])
    expect(await twice('/docs/a')).toEqual(['render 4', 'render 5'])
    expect(await twice('/docs/a/b')).toEqual(['render 6', 'render 6'])
    at += 1
    await cache.close()
  })

  it('bypass token: renders fresh and replaces the entry; a wrong token is an ordinary request', async () => {
    const { isr, cache } = setup({ bypassToken: 'bypass-token-0123456789' })
    const app = counted()
    await (await isr(get('/'), app.render)).text()
    const wrong = await isr(get('/', { 'x-isr-cache-bypass': 'bypass-token-012345678' }), app.render)
    expect([wrong.headers.get('x-isr-cache'), await wrong.text()]).toEqual(['HIT', 'render 1'])
    const bypass = await isr(get('/', { 'x-isr-cache-bypass': 'bypass-token-0123456789', cookie: 'session=1' }), app.render)
    expect([bypass.headers.get('x-isr-cache'), await bypass.text()]).toEqual(['BYPASS', 'render 2'])
    expect(app.seen.at(-1)!.headers.get('cookie')).toBeNull()
    expect(app.seen.at(-1)!.headers.get('x-isr-cache-bypass')).toBeNull()
    await waitUntil(async () => (await (await isr(get('/'), app.render)).text()) === 'render 2')
    await cache.close()
  })

  it('bypass token given as its SHA-256 digest ({ sha256 }): the same bypass; a malformed digest is refused', async () => {
    const sha256 = createHash('sha256').update('bypass-token-0123456789').digest('hex')
    const { isr, cache } = setup({ bypassToken: { sha256 } })
    const app = counted()
    await (await isr(get('/'), app.render)).text()
    const wrong = await isr(get('/', { 'x-isr-cache-bypass': sha256 }), app.render)
    expect([wrong.headers.get('x-isr-cache'), await wrong.text()]).toEqual(['HIT', 'render 1'])
    const bypass = await isr(get('/', { 'x-isr-cache-bypass': 'bypass-token-0123456789' }), app.render)
    expect([bypass.headers.get('x-isr-cache'), await bypass.text()]).toEqual(['BYPASS', 'render 2'])
    for (const bad of [{ sha256: 'abc' }, { sha256: 'z'.repeat(64) }, {}, 42]) {
      expect(() => setup({ bypassToken: bad as never })).toThrow(/option bypassToken must be a string, \{ sha256/)
    }
    await cache.close()
  })

  it('isBackgroundRender tells a background regeneration from the render of a MISS or a bypass', async () => {
    const { isr, advance, cache } = setup({ bypassToken: 'bypass-token-0123456789' })
    const app = counted((request, n) => new Response(`render ${n} ${isBackgroundRender(request) ? 'background' : 'foreground'}`))
    expect(await (await isr(get('/'), app.render)).text()).toBe('render 1 foreground')
    expect(await (await isr(get('/', { 'x-isr-cache-bypass': 'bypass-token-0123456789' }), app.render)).text()).toBe('render 2 foreground')
    advance(61)
    expect((await isr(get('/'), app.render)).headers.get('x-isr-cache')).toBe('STALE')
    await waitUntil(async () => (await cache.get('/'))?.status === 'hit')
    expect(await (await isr(get('/'), app.render)).text()).toBe('render 3 background')
    expect(isBackgroundRender(get('/'))).toBe(false)
    await cache.close()
  })

  it('a preview cookie renders with the cookies, uncached, never stored, never served from the cache', async () => {
    const { isr, cache } = setup({ previewCookie: 'draft' })
    const app = counted((request, n) => new Response(`${request.headers.get('cookie')} ${n}`))
    await (await isr(get('/'), app.render)).text()
    const preview = await isr(get('/', { cookie: 'a=1; draft=yes' }), app.render)
    expect([preview.headers.get('x-isr-cache'), preview.headers.get('cache-control'), await preview.text()]).toEqual(['BYPASS', 'private, no-store', 'a=1; draft=yes 2'])
    expect(await (await isr(get('/'), app.render)).text()).toBe('null 1')
    await cache.close()
  })

  it('revalidatePath purges what this layer stored, page and layout', async () => {
    const { isr, cache } = setup()
    const app = counted()
    for (const path of ['/blog/a', '/blog/b?page=2']) await (await isr(get(path), app.render)).text()
    await cache.revalidatePath('/blog/a')
    expect((await isr(get('/blog/a'), app.render)).headers.get('x-isr-cache')).toBe('MISS')
    expect((await isr(get('/blog/b?page=2'), app.render)).headers.get('x-isr-cache')).toBe('HIT')
    await cache.revalidatePath('/blog', { type: 'layout' })
    expect((await isr(get('/blog/b?page=2'), app.render)).headers.get('x-isr-cache')).toBe('MISS')
    await cache.close()
  })

  it('only GET and HEAD are cached; other methods pass through', async () => {
    const { isr, cache } = setup()
    const app = counted()
    const response = new Response('posted')
    expect(await isr(get('/', {}, 'POST'), () => response)).toBe(response)
    expect(app.count).toBe(0)
    await cache.close()
  })

  it('refuses bad options at construction', () => {
    const cache = createIsrCache()
    expect(() => createIsrHandler({ cache, routes: { 'blog/*': { revalidate: 1 } } })).toThrow(/must be a path starting with "\/"/)
    expect(() => createIsrHandler({ cache, routes: { '/': { revalidate: -1 } } })).toThrow(/routes\["\/"\].revalidate/)
    expect(() => createIsrHandler({ cache, routes: { '/': { revalidat: 1 } as never } })).toThrow(/revalidat/)
    expect(() => createIsrHandler({ cache, vary: ['cookie'] })).toThrow(/cookie/)
    expect(() => createIsrHandler({ cache: {} as never })).toThrow(/isr-cache instance/)
    expect(() => createIsrHandler({ cache, maxBodyBytes: -1 })).toThrow(/maxBodyBytes/)
    void cache.close()
  })
})

async function waitUntil(condition: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const giveUpAt = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/**
 * The SvelteKit adapter in process, with Kit's part played by a small stand-in: `resolve` renders, and
 * `event.fetch` re-enters the hook as Kit's in-process sub-request does (`isSubRequest: true`). What this
 * checks is the adapter's own mapping: which requests pass through, the key of a `__data.json`, Kit's
 * `cache-control` on data answers, the internal marker, and option errors. The real Kit 2 and Kit 3
 * production builds, on two instances and Redis, are in sveltekit.e2e.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { createIsrCache, IsrCacheError, type IsrCache } from '../src/index.js'
import { createIsrHandle, withIsr, type KitHandle, type KitRequestEvent } from '../adapters/sveltekit/index.js'

const BASE = 'http://kit.test'

/** A Kit-like app: `render` answers a (page or data) event; `handle` is the adapter's hook in front of it. */
function kitApp(handle: KitHandle, render: (event: KitRequestEvent) => Response | Promise<Response>) {
  const rendered: KitRequestEvent[] = []
  function eventFor(request: Request, isSubRequest: boolean): KitRequestEvent {
    const requestUrl = new URL(request.url)
    const isDataRequest = requestUrl.pathname.endsWith('/__data.json')
    const url = new URL(requestUrl)
    if (isDataRequest) {
      url.pathname = url.pathname.slice(0, -'/__data.json'.length) || '/'
      url.search = ''
    }
    const event: KitRequestEvent = {
      params: {},
      locals: {},
      request,
      url,
      route: { id: url.pathname === '/unrouted' ? null : url.pathname },
      isDataRequest,
      isSubRequest,
      isRemoteRequest: requestUrl.pathname.startsWith('/_app/remote'),
      fetch: ((input: string | URL | Request, init?: RequestInit) => {
        const inner = new Request(new URL(String(input), url), init)
        return answer(inner, true)
      }) as typeof fetch,
    }
    return event
  }
  function answer(request: Request, isSubRequest = false): Promise<Response> {
    const event = eventFor(request, isSubRequest)
    return handle({
      event,
      resolve: async (resolved) => {
        rendered.push(resolved)
        return render(resolved)
      },
    })
  }
  return { answer: (path: string, init?: RequestInit) => answer(new Request(`${BASE}${path}`, init)), rendered }
}

function page(event: KitRequestEvent, n: number): Response {
  if (event.isDataRequest) return new Response(`{"type":"data","n":${n}}`, { headers: { 'content-type': 'application/json', 'cache-control': 'private, no-store' } })
  return new Response(`<p>render ${n}, cookie ${event.request.headers.get('cookie') ?? 'none'}</p>`, { headers: { 'content-type': 'text/html', 'set-cookie': 'seen=1' } })
}

function setup(cache: IsrCache = createIsrCache()) {
  let renders = 0
  const handle = createIsrHandle({ cache, routes: { '/': { revalidate: 60 }, '/blog/*': { revalidate: 60, tags: ['posts'] }, '/api/**': false } })
  const app = kitApp(handle, (event) => page(event, ++renders))
  return { cache, app, renders: () => renders }
}

const text = async (response: Response) => [response.headers.get('x-isr-cache'), await response.text()]

describe('createIsrHandle (in process)', () => {
  it('renders a page once, cookie-less, through event.fetch; Set-Cookie is not replayed', async () => {
    const { app, renders, cache } = setup()
    const miss = await app.answer('/blog/a', { headers: { cookie: 'session=secret' } })
    expect(await text(miss)).toEqual(['MISS', '<p>render 1, cookie none</p>'])
    const hit = await app.answer('/blog/a', { headers: { cookie: 'session=other' } })
    expect(await text(hit)).toEqual(['HIT', '<p>render 1, cookie none</p>'])
    expect(hit.headers.get('set-cookie')).toBeNull()
    expect(renders()).toBe(1)
    // The render was Kit's sub-request (event.fetch), never a second resolve of the visitor's event.
    expect(app.rendered.map((event) => [event.isSubRequest, event.request.headers.get('cookie')])).toEqual([[true, null]])
    await cache.close()
  })

  it("a page's __data.json is its own entry under the page's path, purged with it, with Kit's cache-control kept for the visitor", async () => {
    const { app, cache } = setup()
    expect((await text(await app.answer('/blog/a')))[0]).toBe('MISS')
    const data = await app.answer('/blog/a/__data.json')
    expect(await text(data)).toEqual(['MISS', '{"type":"data","n":2}'])
    expect(data.headers.get('cache-control')).toBe('private, no-store')
    const dataHit = await app.answer('/blog/a/__data.json')
    expect(await text(dataHit)).toEqual(['HIT', '{"type":"data","n":2}'])
    expect(dataHit.headers.get('cache-control')).toBe('private, no-store')
    // Another invalidation set is another body: another entry.
    expect((await text(await app.answer('/blog/a/__data.json?x-sveltekit-invalidated=01')))[0]).toBe('MISS')
    expect((await text(await app.answer('/blog/a')))).toEqual(['HIT', '<p>render 1, cookie none</p>'])

    await cache.revalidatePath('/blog/a')
    expect((await text(await app.answer('/blog/a')))[0]).toBe('MISS')
    expect((await text(await app.answer('/blog/a/__data.json')))[0]).toBe('MISS')
    await cache.close()
  })

  it('passes through non-GET requests, remote functions, unrouted requests, rules of false, and its own sub-requests', async () => {
    const { app, renders, cache } = setup()
    for (const [path, init] of [
      ['/blog/a', { method: 'POST', body: 'x' }],
      ['/_app/remote/abc', {}],
      ['/unrouted', {}],
      ['/api/time', {}],
    ] as const) {
      const response = await app.answer(path, init)
      expect(response.headers.get('x-isr-cache'), path).toBeNull()
    }
    expect(renders()).toBe(4)
    await cache.close()
  })

  it("headers of the adapter's own sent by a visitor change nothing", async () => {
    const { app, cache } = setup()
    const miss = await app.answer('/blog/a')
    const body = await miss.text()
    // The internal marker is a process secret: a guess does not skip the cache.
    const forged = await app.answer('/blog/a', { headers: { 'x-isr-cache-internal': 'guess' } })
    expect(await text(forged)).toEqual(['HIT', body])
    // The data header does not make a page answer from (or write to) its data entry.
    const asData = await app.answer('/blog/a', { headers: { 'x-isr-cache-sveltekit-data': 'data;;' } })
    expect(await text(asData)).toEqual(['HIT', body])
    expect((await text(await app.answer('/blog/a/__data.json')))[0]).toBe('MISS')
    await cache.close()
  })

  it('refuses bad options with IsrCacheError E_INVALID_OPTION', () => {
    const cache = createIsrCache()
    const attempts: Array<() => unknown> = [
      () => createIsrHandle({ cache, routes: { '/': { revalidate: -1 } } }),
      () => createIsrHandle({ cache: {} as IsrCache }),
      () => withIsr('nope' as never, { cache, revalidate: 60 }),
      () => withIsr(() => new Response('x'), undefined as never),
      () => withIsr(() => new Response('x'), { cache, revalidate: 60, tags: [42] as never }),
    ]
    for (const attempt of attempts) {
      let thrown: unknown
      try {
        attempt()
      } catch (error) {
        thrown = error
      }
      expect(thrown, String(attempt)).toBeInstanceOf(IsrCacheError)
      expect((thrown as IsrCacheError).code).toBe('E_INVALID_OPTION')
    }
    return cache.close()
  })
})

describe('a __data.json whose load threw', () => {
  it('is answered with the error status, never stored, and a failed regeneration keeps the last good data', async () => {
    const cache = createIsrCache()
    let failing = false
    let renders = 0
    const handle = createIsrHandle({ cache, routes: { '/blog/*': { revalidate: false } } })
    const app = kitApp(handle, (event) => {
      renders++
      if (!failing || !event.isDataRequest) return page(event, renders)
      // What Kit sends when a load throws: 200, the failed node in the first line.
      const body = '{"type":"data","nodes":[null,{"type":"error","error":{"message":"Internal Error"}}]}\n'
      return new Response(body, { headers: { 'content-type': 'application/json', 'cache-control': 'private, no-store' } })
    })
    const good = await app.answer('/blog/a/__data.json')
    expect(await text(good)).toEqual(['MISS', `{"type":"data","n":${renders}}`])

    failing = true
    // A soft purge: stale, served at once while one regeneration runs (and fails).
    await cache.revalidatePath('/blog/a', { expire: 3600 })
    const stale = await app.answer('/blog/a/__data.json')
    expect(await text(stale)).toEqual(['STALE', `{"type":"data","n":1}`])
    // The regeneration fails (the error answer is not stored), and the last good data is still what is served.
    await waitFor(async () => cache.stats().regenerationErrors === 1)
    const after = await app.answer('/blog/a/__data.json')
    expect(await text(after)).toEqual(['STALE', '{"type":"data","n":1}'])

    // A miss whose load throws: the visitor gets the error with its status, as Kit's own data errors; nothing stored.
    const miss = await app.answer('/blog/b/__data.json')
    expect([miss.status, miss.headers.get('x-isr-cache'), await miss.json()]).toEqual([500, 'MISS', { message: 'Internal Error' }])
    expect(miss.headers.get('cache-control')).toBe('private, no-store')
    expect(await cache.get('/blog/b')).toBeUndefined()
    // A streamed data answer without an error streams on whole.
    failing = false
    expect((await text(await app.answer('/blog/b/__data.json')))[0]).toBe('MISS')
    await cache.close()
  })
})

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('withIsr (in process)', () => {
  it('caches one endpoint without the hook, cookie-less, ignoring the query unless allowed', async () => {
    const cache = createIsrCache()
    let calls = 0
    const endpoint = withIsr((event: KitRequestEvent) => Response.json({ n: ++calls, cookie: event.request.headers.get('cookie') }), { cache, revalidate: 60, tags: ['time'] })
    // The hook is Kit's default (resolve), so event.fetch re-enters the endpoint as a sub-request.
    const passThrough: KitHandle = async ({ event, resolve }) => resolve(event)
    const app = kitApp(passThrough, (event) => endpoint(event))
    const first = await app.answer('/api/time?x=1', { headers: { cookie: 'session=secret' } })
    expect(await text(first)).toEqual(['MISS', '{"n":1,"cookie":null}'])
    const second = await app.answer('/api/time?x=2')
    expect(await text(second)).toEqual(['HIT', '{"n":1,"cookie":null}'])
    expect((await app.answer('/api/time', { method: 'POST' })).headers.get('x-isr-cache')).toBeNull()
    await cache.revalidateTag('time')
    expect(await text(await app.answer('/api/time'))).toEqual(['MISS', '{"n":3,"cookie":null}'])
    await cache.close()
  })
})

/**
 * The Next.js handlers driven as Next drives them (same calls, contexts and value shapes as measured on
 * next@16.4.6, see the research notes), against the real Redis: every value kind byte-exact, tags and
 * soft tags, profiles, cacheControl, shielding between instances, build ids, prerender seeding, the
 * 'use cache' stream contract. The end-to-end tests against a real `next build` are in next.e2e.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Keyv } from 'keyv'
import KeyvRedis from '@keyv/redis'
import { afterAll, describe, expect, it } from 'vitest'
import { QUIET_TURNS, resetBatching } from '../adapters/next/batching.js'
import { leaseHold } from '../adapters/next/handler.js'
import { createNextCacheHandler, createNextUseCacheHandler } from '../adapters/next/index.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'

const dir = mkdtempSync(join(tmpdir(), 'isr-next-'))
const prefixes: string[] = []
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  for (const prefix of prefixes) await dropPrefix(prefix)
})

/** An "instance": its own Keyv object, so it gets its own core cache, as another process would. */
function instance(prefix: string, extra: Record<string, unknown> = {}) {
  const store = new Keyv({ store: new KeyvRedis(REDIS_URL) })
  const Handler = createNextCacheHandler({ store, prefix, buildId: 'build-1', distDir: join(dir, 'none'), ...extra })
  return { handler: new Handler({}), Handler, store }
}

const appPage = () => ({
  kind: 'APP_PAGE',
  html: '<!DOCTYPE html><html><body>héllo</body></html>',
  rscData: Buffer.from([0, 1, 2, 250, 251, 255]),
  headers: { 'x-nextjs-stale-time': '300', 'x-next-cache-tags': '_N_T_/layout,_N_T_/posts/layout,_N_T_/posts/page,_N_T_/posts,posts' },
  postponed: undefined,
  status: undefined,
  segmentData: new Map([
    ['/_tree', Buffer.from('tree')],
    ['/_full', Buffer.from([9, 8, 7])],
    ['/posts/__PAGE__', Buffer.from('page')],
  ]),
})

const pageCtx = { kind: 'APP_PAGE', isRoutePPREnabled: false, isFallback: false }

describe.runIf(redisAvailable)('Next.js cacheHandler', () => {
  it('round-trips every value kind byte-exact, and returns cacheControl', async () => {
    const prefix = uniquePrefix('next-kinds')
    prefixes.push(prefix)
    const { handler } = instance(prefix)
    const other = instance(prefix).handler // another instance reads what the first wrote
    const cases: Array<[string, unknown, Record<string, unknown>, Record<string, unknown>]> = [
      ['/route-cache/APP_PAGE/abc/$/posts', appPage(), { kind: 'APP_PAGE', cacheControl: { revalidate: 10, expire: 31536000 } }, pageCtx],
      [
        '/route-cache/APP_PAGE/ppr/$/ppr',
        { ...appPage(), postponed: '{"postponed":true}', status: 200 },
        { kind: 'APP_PAGE', cacheControl: { revalidate: false, expire: undefined } },
        { ...pageCtx, isRoutePPREnabled: true },
      ],
      [
        '/route-cache/APP_ROUTE/def/$/api/time',
        { kind: 'APP_ROUTE', body: Buffer.from('{"t":1}'), status: 200, headers: { 'content-type': 'application/json', 'x-next-cache-tags': '_N_T_/api/time/route' } },
        { kind: 'APP_ROUTE', cacheControl: { revalidate: 10, expire: 31536000 } },
        { kind: 'APP_ROUTE', isFallback: false },
      ],
      ['/route-cache/PAGES/ghi/$/legacy', { kind: 'PAGES', html: '<p>legacy</p>', pageData: { pageProps: { n: 1 }, __N_SSG: true }, headers: undefined, status: undefined }, { kind: 'PAGES', cacheControl: { revalidate: 10, expire: 31536000 } }, { kind: 'PAGES', isFallback: false }],
      ['/route-cache/PAGES/jkl/$/go/1', { kind: 'REDIRECT', props: { pageProps: { __N_REDIRECT: '/isr', __N_REDIRECT_STATUS: 307 }, __N_SSG: true } }, { kind: 'PAGES', cacheControl: { revalidate: 10, expire: 31536000 } }, { kind: 'PAGES', isFallback: false }],
      ['0813de867c2e', { kind: 'FETCH', data: { headers: { a: 'b' }, body: '{"posts":[]}', url: 'http://127.0.0.1/posts', status: 200 }, revalidate: 31536000 }, { fetchCache: true, fetchUrl: 'http://127.0.0.1/posts', fetchIdx: 1, tags: ['posts'] }, { kind: 'FETCH', revalidate: 4294967294, tags: ['posts'], softTags: ['_N_T_/layout'] }],
      ['hW8plJJdtTqFz2s2LSaAJQ', { kind: 'IMAGE', etag: 'e', upstreamEtag: 'u', buffer: Buffer.from([137, 80, 78, 71, 0, 255]), extension: 'png', revalidate: 14400 }, { kind: 'IMAGE', cacheControl: { revalidate: 14400 } }, { kind: 'IMAGE', isFallback: false }],
      ['/route-cache/APP_PAGE/404/$/_not-found', null, { kind: 'APP_PAGE', cacheControl: { revalidate: false } }, pageCtx],
    ]
    for (const [key, value, setCtx, getCtx] of cases) {
      await handler.set(key, value as never, setCtx as never)
      const got = await other.get(key, getCtx as never)
      expect(got, key).not.toBeNull()
      expect(got!.value, key).toStrictEqual(value)
      if ('cacheControl' in setCtx) expect(got!.cacheControl, key).toEqual(setCtx.cacheControl)
      expect(Math.abs(got!.lastModified - Date.now())).toBeLessThan(5000)
    }
    // The values are Buffers and a Map again, not { type: 'Buffer', data } or {}.
    const page = (await other.get('/route-cache/APP_PAGE/abc/$/posts', pageCtx as never))!.value as ReturnType<typeof appPage>
    expect(Buffer.isBuffer(page.rscData)).toBe(true)
    expect(page.segmentData.get('/_tree')?.toString()).toBe('tree')
  })

  it('honours tags from x-next-cache-tags: a profile purge serves stale once, a hard purge misses', async () => {
    const prefix = uniquePrefix('next-tags')
    prefixes.push(prefix)
    const { handler } = instance(prefix, { l1: false })
    const key = '/route-cache/APP_PAGE/abc/$/posts'
    await handler.set(key, appPage() as never, { kind: 'APP_PAGE', cacheControl: { revalidate: 30, expire: 31536000 } } as never)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await handler.revalidateTag(['posts'], { expire: 31536000 }) // revalidateTag('posts', 'max')
    const stale = (await handler.get(key, pageCtx as never))!
    // Aged past its revalidate: Next serves it STALE and regenerates in the background.
    expect(Date.now() - stale.lastModified).toBeGreaterThan(30_000)
    expect(stale.cacheControl).toEqual({ revalidate: 30, expire: 31536000 })
    await handler.set(key, appPage() as never, { kind: 'APP_PAGE', cacheControl: { revalidate: 30, expire: 31536000 } } as never)
    const fresh = (await handler.get(key, pageCtx as never))!
    expect(Date.now() - fresh.lastModified).toBeLessThan(5000)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await handler.revalidateTag(['_N_T_/posts'], undefined) // revalidatePath('/posts')
    expect(await handler.get(key, pageCtx as never)).toBeNull()
  })

  it('checks a fetch entry against the soft tags of the page that reads it', async () => {
    const prefix = uniquePrefix('next-soft')
    prefixes.push(prefix)
    const { handler } = instance(prefix, { l1: false })
    const value = { kind: 'FETCH', data: { headers: {}, body: 'x', url: 'u', status: 200 }, revalidate: 30 }
    await handler.set('f1', value as never, { fetchCache: true, tags: ['comments'] } as never)
    await new Promise((resolve) => setTimeout(resolve, 5))
    await handler.revalidateTag(['_N_T_/posts'], undefined)
    const ctxOf = (softTags: string[]) => ({ kind: 'FETCH', revalidate: 30, tags: ['comments'], softTags })
    expect(await handler.get('f1', ctxOf(['_N_T_/layout', '_N_T_/posts']) as never)).toBeNull()
    expect((await handler.get('f1', ctxOf(['_N_T_/layout', '_N_T_/about']) as never))?.value).toEqual(value)
    await handler.revalidateTag(['comments'], { expire: 3600 })
    const stale = await handler.get('f1', ctxOf(['_N_T_/about']) as never)
    expect(Date.now() - stale!.lastModified).toBeGreaterThan(30_000) // aged past the fetch's revalidate
  })

  it('shields the cluster: of two instances seeing a stale page, one gets it stale, the other fresh', async () => {
    const prefix = uniquePrefix('next-shield')
    prefixes.push(prefix)
    const a = instance(prefix, { l1: false }).handler
    const b = instance(prefix, { l1: false }).handler
    const key = '/route-cache/APP_PAGE/abc/$/isr'
    await a.set(key, appPage() as never, { kind: 'APP_PAGE', cacheControl: { revalidate: 1, expire: 31536000 } } as never)
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const first = (await a.get(key, pageCtx as never))!
    const askedB = Date.now()
    const second = (await b.get(key, pageCtx as never))!
    expect(Date.now() - first.lastModified).toBeGreaterThan(1000) // stale (aged past revalidate): A regenerates
    expect(second.lastModified).toBeGreaterThanOrEqual(askedB) // fresh-looking (modified "now"): B does not
    // A's regeneration lands and releases the lease; B sees the new entry.
    const next = { ...appPage(), html: '<p>new</p>' }
    await a.set(key, next as never, { kind: 'APP_PAGE', cacheControl: { revalidate: 1, expire: 31536000 } } as never)
    expect(((await b.get(key, pageCtx as never))!.value as unknown as { html: string }).html).toBe('<p>new</p>')
  })

  it('a page found fresh just before its revalidate time looks fresh to Next for a margin more (Next judges staleness again, later)', async () => {
    const prefix = uniquePrefix('next-margin')
    prefixes.push(prefix)
    const { handler } = instance(prefix)
    const key = '/route-cache/APP_PAGE/abc/$/margin'
    await handler.set(key, appPage() as never, { kind: 'APP_PAGE', cacheControl: { revalidate: 2, expire: 31536000 } } as never)
    const stored = (await handler.get(key, pageCtx as never))!
    await new Promise((resolve) => setTimeout(resolve, 1500)) // 0.5 s before it turns stale
    const near = (await handler.get(key, pageCtx as never))!
    const asked = Date.now()
    // Next: stale once lastModified + revalidate passes. It must not pass for at least half the revalidate.
    expect(near.lastModified + 2000 - asked, 'the margin Next gets before it could call the page stale').toBeGreaterThanOrEqual(1000 - 50)
    expect(near.lastModified).toBeGreaterThan(stored.lastModified)
    await new Promise((resolve) => setTimeout(resolve, 600)) // past revalidate for isr-cache: stale, lease won
    const stale = (await handler.get(key, pageCtx as never))!
    expect(Date.now() - stale.lastModified, 'stale for Next').toBeGreaterThan(2000)
  })

  it('a won page lease that Next never follows with a set (the regeneration threw) is given back, so the page can be regenerated again', async () => {
    const prefix = uniquePrefix('next-lease-hold')
    prefixes.push(prefix)
    const hold = leaseHold.ms
    leaseHold.ms = 300
    try {
      const a = instance(prefix, { l1: false }).handler
      const b = instance(prefix, { l1: false }).handler
      const key = '/route-cache/APP_PAGE/abc/$/lease-hold'
      await a.set(key, appPage() as never, { kind: 'APP_PAGE', cacheControl: { revalidate: 1, expire: 31536000 } } as never)
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const first = (await a.get(key, pageCtx as never))!
      expect(Date.now() - first.lastModified, 'A wins the lease: stale, Next regenerates (and never calls set)').toBeGreaterThan(1000)
      const whileHeld = (await b.get(key, pageCtx as never))!
      expect(Date.now() - whileHeld.lastModified, 'B loses it meanwhile: served as fresh').toBeLessThan(1000)
      // Past the hold, the lease is free again: the next instance to see the page stale regenerates it.
      await new Promise((resolve) => setTimeout(resolve, 500))
      const after = (await b.get(key, pageCtx as never))!
      expect(Date.now() - after.lastModified, 'B wins the lease now: stale').toBeGreaterThan(1000)
    } finally {
      leaseHold.ms = hold
    }
  })

  it('an instance that wins the lease of a page its L1 holds stale, after another stored a newer render, serves the newer one (no second render)', async () => {
    const prefix = uniquePrefix('next-newer')
    prefixes.push(prefix)
    const a = instance(prefix).handler
    // B with L1 on, and the moment before it hears of A's write made to last: its change feed delivers
    // nothing and its L1 entries are not re-checked for a minute. (Normally that moment is the pub/sub
    // delay, milliseconds; under load it was long enough to render a page twice in the e2e stampede.)
    const deaf = { publish() {}, subscribe: () => () => {} }
    const b = instance(prefix, { bus: deaf, l1MaxAge: 60 }).handler
    const key = '/route-cache/APP_PAGE/abc/$/newer'
    const life = { kind: 'APP_PAGE', cacheControl: { revalidate: 1, expire: 31536000 } }
    await a.set(key, appPage() as never, life as never)
    expect((await b.get(key, pageCtx as never))?.value).toStrictEqual(appPage()) // now in B's L1
    await new Promise((resolve) => setTimeout(resolve, 1100)) // past revalidate: stale everywhere
    const onA = (await a.get(key, pageCtx as never))!
    expect(Date.now() - onA.lastModified, 'A wins the lease: stale').toBeGreaterThan(1000)
    const askedB = Date.now()
    const onB = (await b.get(key, pageCtx as never))!
    expect(onB.lastModified, 'B loses it: served as fresh (as of now)').toBeGreaterThanOrEqual(askedB)

    // A's regeneration lands and releases the lease. B's L1 still holds the old render, stale.
    const newer = { ...appPage(), html: '<p>newer</p>' }
    const storedAt = Date.now()
    await a.set(key, newer as never, life as never)
    const after = (await b.get(key, pageCtx as never))!
    expect((after.value as unknown as { html: string }).html, 'B serves what the store holds').toBe('<p>newer</p>')
    // Its own lastModified (a stale answer is aged past its revalidate instead): Next does not render it again.
    expect(after.lastModified, 'as fresh').toBeGreaterThanOrEqual(storedAt)
    expect(after.cacheControl).toEqual(life.cacheControl)
    // B gave the lease back: once the new render is stale too, A can take it again.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    expect(Date.now() - (await a.get(key, pageCtx as never))!.lastModified, 'A wins the lease again: stale').toBeGreaterThan(1000)
  })

  it('keeps page entries per build id, and shares data entries between builds', async () => {
    const prefix = uniquePrefix('next-build')
    prefixes.push(prefix)
    const one = instance(prefix, { buildId: 'one' }).handler
    const two = instance(prefix, { buildId: 'two' }).handler
    await one.set('/route-cache/APP_PAGE/x/$/p', appPage() as never, { kind: 'APP_PAGE', cacheControl: { revalidate: false } } as never)
    await one.set('f', { kind: 'FETCH', data: { headers: {}, body: 'x', url: 'u' }, revalidate: 60 } as never, { fetchCache: true, tags: [] } as never)
    expect(await two.get('/route-cache/APP_PAGE/x/$/p', pageCtx as never)).toBeNull()
    expect(await one.get('/route-cache/APP_PAGE/x/$/p', pageCtx as never)).not.toBeNull()
    expect(await two.get('f', { kind: 'FETCH', revalidate: 60, tags: [], softTags: [] } as never)).not.toBeNull()
  })

  it('holds page lookups to the end of their turn only while requests arrive together (batchPageLookups), a fetch lookup never, and nothing with the option off', async () => {
    const prefix = uniquePrefix('next-batch')
    prefixes.push(prefix)
    // A long purgeAckTimeout: on a loaded machine, a lookup right after the event loop stood still for half
    // of it waits for the end of the poll phase (the stall guard, see tiers-and-bus.md), which is not what
    // this test is about.
    const batched = instance(prefix, { purgeAckTimeout: 60 }).handler
    const unbatched = instance(prefix, { batchPageLookups: false, purgeAckTimeout: 60 }).handler
    const key = '/route-cache/APP_PAGE/b/$/batched'
    await batched.set(key, appPage() as never, { kind: 'APP_PAGE', cacheControl: { revalidate: 3600, expire: 31536000 } } as never)
    await batched.set('fb', { kind: 'FETCH', data: { headers: {}, body: 'x', url: 'u' }, revalidate: 60 } as never, { fetchCache: true, tags: [] } as never)
    const fetchCtx = { kind: 'FETCH', revalidate: 60, tags: [], softTags: [] }
    for (const handler of [batched, unbatched]) expect((await handler.get(key, pageCtx as never))?.value, 'in L1 now').toBeTruthy()

    /** Whether the lookup settles before an immediate queued just before it (i.e. within this turn). */
    async function settlesWithinTurn(lookup: () => Promise<unknown>): Promise<boolean> {
      const order: string[] = []
      setImmediate(() => order.push('end of turn'))
      const answered = lookup().then((value) => {
        expect(value).toBeTruthy()
        order.push('answer')
      })
      await answered
      await new Promise((resolve) => setImmediate(resolve))
      return order[0] === 'answer'
    }
    /** Which of `count` page lookups started together in one turn settle before that turn's end. */
    async function withinTurn(count: number): Promise<boolean[]> {
      const order: Array<number | 'end'> = []
      setImmediate(() => order.push('end'))
      const started = Array.from({ length: count }, (_, i) =>
        batched.get(key, pageCtx as never).then((found) => {
          expect(found?.value).toStrictEqual(appPage())
          order.push(i)
        }),
      )
      await Promise.all(started)
      await new Promise((resolve) => setImmediate(resolve))
      const end = order.indexOf('end')
      return Array.from({ length: count }, (_, i) => order.indexOf(i) < end)
    }
    resetBatching()
    // One request at a time (an idle server): nothing is held, whatever the turn.
    expect(await settlesWithinTurn(() => batched.get(key, pageCtx as never)), 'a lone page lookup from L1 is answered at once').toBe(true)
    expect(await settlesWithinTurn(() => batched.get(key, pageCtx as never)), 'and the next lone one too').toBe(true)
    // Requests arriving together: the first of a turn is answered at once (nothing said they would come),
    // the others wait for the end of the turn, sharing one wait.
    expect(await withinTurn(20)).toStrictEqual([true, ...Array.from({ length: 19 }, () => false)])
    // After a turn with several lookups, the first of the next turns is held as well ...
    expect(await withinTurn(3)).toStrictEqual([false, false, false])
    for (let i = 0; i < QUIET_TURNS; i++) {
      expect(await settlesWithinTurn(() => batched.get(key, pageCtx as never)), `lone lookup ${i + 1} after a busy turn is held`).toBe(false)
    }
    // ... until QUIET_TURNS turns had only one: then lone lookups go out at once again.
    expect(await settlesWithinTurn(() => batched.get(key, pageCtx as never)), 'back to one at a time').toBe(true)
    await withinTurn(2)
    expect(await settlesWithinTurn(() => batched.get('fb', fetchCtx as never)), 'a fetch lookup inside a render is never held').toBe(true)
    expect(await settlesWithinTurn(() => unbatched.get(key, pageCtx as never)), 'batchPageLookups: false').toBe(true)
    expect(() => createNextCacheHandler({ batchPageLookups: 'yes' as never })).toThrow(/option batchPageLookups must be true or false/)
  })

  it('never throws from get, and answers quickly, when the store is unreachable', async () => {
    const Handler = createNextCacheHandler({ store: 'redis://127.0.0.1:1', readTimeout: 0.2, writeTimeout: 0.2, onError: () => {}, distDir: join(dir, 'none') })
    const handler = new Handler({})
    const started = performance.now()
    expect(await handler.get('/route-cache/APP_PAGE/x/$/p', pageCtx as never)).toBeNull()
    await handler.set('/route-cache/APP_PAGE/x/$/p', appPage() as never, { kind: 'APP_PAGE' } as never)
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('serves a page prerendered at build from the build output (a HIT), never over a purge', async () => {
    const prefix = uniquePrefix('next-seed')
    prefixes.push(prefix)
    const distDir = join(dir, 'dist-seed')
    const app = join(distDir, 'server', 'app', 'blog')
    mkdirSync(join(app, 'a.segments', 'blog', '$d$slug'), { recursive: true })
    const key = '/route-cache/APP_PAGE/598124ea/$/blog/a'
    writeFileSync(join(app, 'a.html'), '<p>built</p>')
    writeFileSync(join(app, 'a.rsc'), Buffer.from([1, 2, 3]))
    writeFileSync(join(app, 'a.segments', '_tree.segment.rsc'), 'tree')
    writeFileSync(join(app, 'a.segments', 'blog', '$d$slug', '__PAGE__.segment.rsc'), 'page')
    writeFileSync(
      join(app, 'a.meta'),
      JSON.stringify({ routeCache: { key }, headers: { 'x-next-cache-tags': '_N_T_/layout,_N_T_/blog/a,posts' }, segmentPaths: ['/_tree', '/blog/$d$slug/__PAGE__'] }),
    )
    writeFileSync(join(distDir, 'prerender-manifest.json'), JSON.stringify({ routes: { '/blog/a': { initialRevalidateSeconds: 3600, initialExpireSeconds: 31536000 } } }))
    const built = new Date(Date.now() - 60_000)
    utimesSync(join(app, 'a.html'), built, built)

    const Handler = createNextCacheHandler({ store: new Keyv({ store: new KeyvRedis(REDIS_URL) }), prefix, buildId: 'b', distDir })
    const got = (await new Handler({}).get(key, pageCtx as never))!
    expect(got).not.toBeNull()
    const value = got.value as ReturnType<typeof appPage>
    expect(value.html).toBe('<p>built</p>')
    expect(value.segmentData.get('/blog/$d$slug/__PAGE__')?.toString()).toBe('page')
    expect(got.cacheControl).toEqual({ revalidate: 3600, expire: 31536000 })
    expect(Math.abs(got.lastModified - built.getTime())).toBeLessThan(1000)
    // Another instance finds it in the store.
    const Other = createNextCacheHandler({ store: new Keyv({ store: new KeyvRedis(REDIS_URL) }), prefix, buildId: 'b', distDir: join(dir, 'none') })
    expect(((await new Other({}).get(key, pageCtx as never))!.value as unknown as { html: string }).html).toBe('<p>built</p>')

    // Purged since the build: a fresh process must not serve the build's copy.
    const prefix2 = uniquePrefix('next-seed-purged')
    prefixes.push(prefix2)
    const Purged = createNextCacheHandler({ store: new Keyv({ store: new KeyvRedis(REDIS_URL) }), prefix: prefix2, buildId: 'b', distDir })
    const purger = new Purged({})
    await purger.revalidateTag(['posts'], undefined)
    expect(await purger.get(key, pageCtx as never)).toBeNull()
  })
})

describe.runIf(redisAvailable)("Next.js 'use cache' handler", () => {
  const entry = (text: string, extra: Partial<{ tags: string[]; revalidate: number; expire: number }> = {}) => ({
    value: new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text.slice(0, 2)))
        controller.enqueue(new TextEncoder().encode(text.slice(2)))
        controller.close()
      },
    }),
    tags: extra.tags ?? ['posts'],
    stale: 300,
    timestamp: Date.now() + 0.5,
    expire: extra.expire ?? 4294967294,
    revalidate: extra.revalidate ?? 900,
  })
  const read = async (stream: ReadableStream<Uint8Array>) => Buffer.from(await new Response(stream).arrayBuffer()).toString()

  it('stores the stream once, returns a new stream per get, and waits for a pending set', async () => {
    const prefix = uniquePrefix('next-uc')
    prefixes.push(prefix)
    const handler = createNextUseCacheHandler({ store: new Keyv({ store: new KeyvRedis(REDIS_URL) }), prefix })
    let resolve!: (e: ReturnType<typeof entry>) => void
    const setting = handler.set('k', new Promise((r) => (resolve = r)))
    const getting = handler.get('k', [])
    resolve(entry('hello world'))
    await setting
    const first = (await getting)!
    expect(await read(first.value)).toBe('hello world')
    const second = (await handler.get('k', ['_N_T_/layout']))!
    expect(await read(second.value)).toBe('hello world')
    expect(second).toMatchObject({ tags: ['posts'], stale: 300, revalidate: 900, expire: 4294967294 })
    expect(await handler.getExpiration(['_N_T_/layout'])).toBe(0)
  })

  it('serves a soft-purged entry once with revalidate -1, drops a hard-purged one, checks soft tags (16 and 15.5 calls)', async () => {
    const prefix = uniquePrefix('next-uc-tags')
    prefixes.push(prefix)
    const handler = createNextUseCacheHandler({ store: new Keyv({ store: new KeyvRedis(REDIS_URL) }), prefix, l1: false })
    await handler.set('a', Promise.resolve(entry('A')))
    await handler.set('b', Promise.resolve(entry('B', { tags: ['other'] })))
    await new Promise((r) => setTimeout(r, 5))
    await handler.updateTags(['posts'], { expire: 31536000 }) // revalidateTag('posts', 'max') on Next 16
    expect((await handler.get('a', []))!.revalidate).toBe(-1)
    await handler.expireTags('other') // Next 15.5
    expect(await handler.get('b', [])).toBeUndefined()
    await handler.set('c', Promise.resolve(entry('C', { tags: [] })))
    await new Promise((r) => setTimeout(r, 5))
    await handler.updateTags(['_N_T_/cached'])
    expect(await handler.get('c', ['_N_T_/layout', '_N_T_/cached'])).toBeUndefined()
    expect(await handler.get('c', ['_N_T_/layout', '_N_T_/other'])).toBeDefined()
    await handler.set('d', Promise.resolve(entry('D', { expire: 0 })))
    expect(await handler.get('d', [])).toBeUndefined() // expire 0 is not kept
  })

  it('a Next purge reaches the store once, though Next calls both handlers for it; a purge asked for in a later run purges again', async () => {
    const prefix = uniquePrefix('next-purge-once')
    prefixes.push(prefix)
    const purges: string[][] = []
    // Both handlers on one store, as Next's two handler modules are: one shared core.
    const options = {
      store: new Keyv({ store: new KeyvRedis(REDIS_URL) }),
      prefix,
      buildId: 'build-1',
      distDir: join(dir, 'none'),
      onEvent: (event: { type: string; tags?: readonly string[] }) => {
        if (event.type === 'purge') purges.push([...(event.tags ?? [])])
      },
    }
    const pages = new (createNextCacheHandler(options))({})
    const useCache = createNextUseCacheHandler(options)
    await useCache.set('a', Promise.resolve(entry('A')))
    await new Promise((r) => setTimeout(r, 5))
    // revalidateTag('posts', 'max') on Next 16: every 'use cache' handler, then the incremental cache, in one run.
    await Promise.all([useCache.updateTags(['posts'], { expire: 31536000 }), pages.revalidateTag(['posts'], { expire: 31536000 })])
    expect(purges).toEqual([['posts']])
    expect((await useCache.get('a', []))!.revalidate, 'the joined purge purged').toBe(-1)
    // revalidateTag('posts') on Next 15.5: the incremental cache first, then expireTags.
    await Promise.all([pages.revalidateTag(['posts']), useCache.expireTags('posts')])
    expect(purges).toEqual([['posts'], ['posts']])
    expect(await useCache.get('a', [])).toBeUndefined()
    // Another lifetime, or other tags, in the same run: purges of their own.
    await Promise.all([pages.revalidateTag(['posts'], { expire: 60 }), useCache.updateTags(['posts']), useCache.updateTags(['other'], { expire: 60 })])
    expect(purges).toHaveLength(5)
    // The same purge asked for again in a later run, the first possibly still in flight: it purges again.
    const first = pages.revalidateTag(['posts'])
    await new Promise((r) => setImmediate(r))
    await Promise.all([first, useCache.updateTags(['posts'])])
    expect(purges).toHaveLength(7)
  })
})

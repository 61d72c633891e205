/**
 * End to end: examples/nuxt (Nuxt 4.4.5, Nitro 2, isr-cache installed from a tarball of this checkout and
 * added as `modules: ['isr-cache/nuxt']`) and the same app on Nuxt 4.5.2 under Node 24 (examples/nuxt45, its
 * sources written from the Nuxt 4.4 example's), each a production build (`nuxt build`,
 * `node .output/server/index.mjs`) made once per run, every scenario run on both; two instances on loopback sharing the real Redis (a unique key prefix per run, dropped
 * afterwards), with the loopback upstream the pages read and report their renders to. What a test reads is
 * HTTP (`x-isr-cache`, headers, the render id and content version every page prints, the `_payload.json`
 * client-side navigation fetches) and, once, a real browser. Renders a test must hold in the middle wait at
 * an upstream gate, so ordering is asserted by events, never by timing.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, watchPage } from './support/browser.js'
import type { NextServer } from '../examples/next/tooling/prepare.mjs'
import { startUpstream, type Upstream } from '../examples/next/tooling/upstream.mjs'
import { prepareNitro, prepareNuxt, prepareNuxt45, startNitro, startNuxt, startNuxt45 } from '../examples/nuxt/tooling/app.mjs'
import { preparedOnce } from './support/fixtures.js'
import { waitFor } from './support/next-app.js'
import { missHitStaleHit, servesThroughStoreOutage, stampedeRendersOnce, type TwoInstances } from './support/scenarios.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'
import { freePort, redisServerAvailable, startPrivateRedis, type PrivateRedis } from './support/redis-server.js'

const PREPARE_TIMEOUT = 10 * 60_000
const TEST_TIMEOUT = 60_000
/** Seconds until /isr is stale in this run (the page's CDN-Cache-Control, from REVALIDATE). */
const REVALIDATE = 3
const SECRET = randomBytes(16).toString('hex')
const BYPASS = randomBytes(16).toString('hex')
const RUN = Date.now().toString(36)
/** Bound for a purge or a write on one instance to show on the other (bus, else the 1 s L1 re-check). */
const PROPAGATION_MS = 10_000
const log = (line: string) => console.log(`[nuxt e2e] ${line}`)

/** One Nuxt version's build of the example app: both run every scenario below. */
interface Fixture {
  title: string
  /** Suffix of its instances' names (A, B → A45, B45). */
  suffix: string
  prefix: string
  /** Pack + install + build once per test process (each skipped while its inputs are unchanged). */
  prepare(): Promise<unknown>
  start(options: { port: number; name: string; log: typeof log; env: Record<string, string> }): Promise<NextServer>
}

const nuxt44: Fixture = {
  title: 'examples/nuxt (Nuxt 4.4.5, Node 20)',
  suffix: '',
  prefix: 'nuxt-e2e',
  prepare: preparedOnce('Nuxt 4.4', () => prepareNuxt({ log }), log),
  start: startNuxt,
}
const nuxt45: Fixture = {
  title: 'examples/nuxt45 (Nuxt 4.5.2, Node 24, the same app)',
  suffix: '45',
  prefix: 'nuxt45-e2e',
  prepare: preparedOnce('Nuxt 4.5', () => prepareNuxt45({ log }), log),
  start: startNuxt45,
}

interface Page {
  status: number
  cache: string | null
  id: string | undefined
  version: string | undefined
  body: string
  headers: Headers
}

/** The render id and content version a page printed: from its HTML, its JSON (a server route), or its `_payload.json`. */
function marker(body: string): { id: string | undefined; version: string | undefined } {
  if (body.startsWith('[')) {
    // A payload: devalue's flattened form, each value an index into the array.
    const flat = JSON.parse(body) as unknown[]
    const data = flat[(flat[0] as { data: number }).data] as unknown
    const entries = (Array.isArray(data) ? flat[data[1] as number] : data) as Record<string, number>
    const first = flat[Object.values(entries)[0]!] as { id: number; posts: number }
    const posts = flat[first.posts] as { version: number }
    return { id: flat[first.id] as string, version: flat[posts.version] as string }
  }
  if (body.startsWith('{')) {
    const json = JSON.parse(body) as { id?: string; posts?: { version?: string } }
    return { id: json.id, version: json.posts?.version }
  }
  return { id: /id="render-id">([a-z0-9]+)</.exec(body)?.[1], version: /id="version">([^<]*)</.exec(body)?.[1] }
}

async function readPage(response: Response): Promise<Page> {
  const body = await response.text()
  return { status: response.status, cache: response.headers.get('x-isr-cache'), ...marker(body), body, headers: response.headers }
}

async function startInstance(fixture: Fixture, name: string, upstream: Upstream, store: string, prefix: string): Promise<NextServer> {
  return fixture.start({
    port: await freePort(),
    name: `${name}${fixture.suffix}`,
    log,
    env: {
      UPSTREAM_URL: upstream.url,
      // Nuxt's runtime config names for the store and the secret, the fallbacks for the others.
      NUXT_ISR_CACHE_STORE: store,
      NUXT_ISR_CACHE_PREFIX: prefix,
      NUXT_ISR_CACHE_SECRET: SECRET,
      ISR_CACHE_BYPASS_TOKEN: BYPASS,
      REVALIDATE: String(REVALIDATE),
    },
  })
}

const fetchPage = async (server: NextServer, path: string, init: RequestInit = {}) =>
  readPage(await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) }))

const purge = (server: NextServer, body: unknown) =>
  fetch(`${server.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Polls `path` on `server` until it is served from the cache (HIT or STALE). */
const cachedOn = (server: NextServer, path: string, init: RequestInit = {}) =>
  waitFor(async () => {
    const page = await fetchPage(server, path, init)
    return page.cache === 'HIT' || page.cache === 'STALE' ? page : undefined
  }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })

function twoInstances(fixture: Fixture): void {
  describe.runIf(redisAvailable)(`${fixture.title}: two production instances on the shared Redis`, () => {
    const prefix = uniquePrefix(fixture.prefix)
    let upstream: Upstream
    let a: NextServer
    let b: NextServer

    beforeAll(async () => {
      await fixture.prepare()
      upstream = await startUpstream({ posts: { version: 'v1', title: 'first' } })
      ;[a, b] = await Promise.all([startInstance(fixture, 'A', upstream, REDIS_URL, prefix), startInstance(fixture, 'B', upstream, REDIS_URL, prefix)])
    }, PREPARE_TIMEOUT)

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()])
      await upstream?.close()
      await dropPrefix(prefix)
    })
    const scenario = (): TwoInstances<NextServer, Page> => ({ a, b, upstream, fetchPage, purge, propagationMs: PROPAGATION_MS })

    it('logs its store and that the endpoint is on (no default-store line, the secret is set)', () => {
      expect(a.output()).toContain('[isr-cache] store: redis://127.0.0.1')
      expect(a.output()).toContain('(runtime config)')
      expect(a.output()).not.toContain('is off')
    })

    it("the home page ('/': { isr: 60 }) and its payload: MISS, then HIT on the other instance", async () => {
      const home = await fetchPage(a, '/')
      expect([home.status, home.cache]).toEqual([200, 'MISS'])
      expect((await cachedOn(b, '/')).id).toBe(home.id)
      const payload = await cachedOn(b, '/_payload.json?x')
      expect([payload.status, payload.id]).toEqual([200, home.id])
    }, TEST_TIMEOUT)

    it('MISS → HIT (on the other instance too) → STALE → HIT with the new content', async () => {
      await missHitStaleHit(scenario(), '/isr', REVALIDATE, (hitOnB) => expect(hitOnB.headers.get('content-type')).toMatch(/^text\/html/))
    }, TEST_TIMEOUT)

    it("a page's _payload.json comes from the page's own entry: same render on the other instance, purged with the page", async () => {
      const slug = `${RUN}-payload`
      upstream.setPosts({ version: 'p1', title: 'payload' })
      const rendersBefore = upstream.renders(`/blog/${slug}`)
      const page = await fetchPage(a, `/blog/${slug}`)
      expect([page.status, page.cache, page.version]).toEqual([200, 'MISS', 'p1'])
      // The query is the build id; any value finds the page's entry.
      const payload = await cachedOn(b, `/blog/${slug}/_payload.json?some-build`)
      expect(payload.headers.get('content-type')).toMatch(/^application\/json/)
      expect([payload.id, payload.version]).toEqual([page.id, 'p1'])
      expect(upstream.renders(`/blog/${slug}`) - rendersBefore, 'page and payload: one render').toBe(1)
      // A payload asked for first (client navigation to a page never visited) renders the page once, for both.
      const other = `/blog/${RUN}-payload-first`
      const payloadFirst = await fetchPage(b, `${other}/_payload.json?x`)
      expect([payloadFirst.status, payloadFirst.cache]).toEqual([200, 'MISS'])
      const pageAfter = await cachedOn(a, other)
      expect(pageAfter.id).toBe(payloadFirst.id)
      expect(upstream.renders(other)).toBe(1)
      // One path purge on A renews both on B.
      upstream.setPosts({ version: 'p2', title: 'payload purged' })
      expect((await purge(a, { paths: [`/blog/${slug}`] })).status).toBe(200)
      const renewed = await waitFor(async () => {
        const p = await fetchPage(b, `/blog/${slug}/_payload.json?some-build`)
        return p.version === 'p2' ? p : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect((await cachedOn(b, `/blog/${slug}`)).id).toBe(renewed.id)
      // An exact route's payload (its rule added for it) and the ETag round trip.
      await fetchPage(a, '/tagged')
      const tagged = await cachedOn(b, '/tagged/_payload.json?b')
      const etag = tagged.headers.get('etag')
      expect(etag).toMatch(/-payload"$/)
      const notModified = await fetch(`${b.url}/tagged/_payload.json?b`, { headers: { 'if-none-match': etag! } })
      expect([notModified.status, await notModified.text()]).toEqual([304, ''])
    }, TEST_TIMEOUT)

    it('50 concurrent requests on a stale page across both instances: all served stale at once, exactly one render', async () => {
      await stampedeRendersOnce(scenario(), '/stampede', 'stampede')
    }, TEST_TIMEOUT)

    it('tag and path purges on A are honoured on B (Cache-Tag of pages and server routes, defineIsrEventHandler tags); bad input is a 4xx', async () => {
      upstream.setPosts({ version: 't1', title: 'tags' })
      const paths = ['/tagged', '/api/posts', '/api/wrapped', `/blog/${RUN}-tags`]
      await purge(a, { tags: ['posts'] })
      const firsts = []
      for (const path of paths) {
        await fetchPage(a, path)
        const cached = await cachedOn(b, path)
        expect(cached.version).toBe('t1')
        firsts.push(cached)
      }
      expect(firsts[1]!.headers.get('content-type')).toMatch(/^application\/json/)
      expect(firsts[1]!.headers.get('cache-tag'), 'Cache-Tag is addressed to the cache, not sent').toBeNull()
      upstream.setPosts({ version: 't2', title: 'tags purged' })
      // The blog page's own tag only.
      expect((await purge(a, { tags: [`post:${RUN}-tags`] })).status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, paths[3]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect((await fetchPage(b, '/tagged')).id).toBe(firsts[0]!.id)
      // A path, query form.
      const byPath = await fetch(`${a.url}/api/revalidate?path=/api/posts`, { method: 'POST', headers: { 'x-isr-cache-secret': SECRET } })
      expect(byPath.status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, '/api/posts')).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect((await fetchPage(b, '/tagged')).id).toBe(firsts[0]!.id)
      // `posts`, soft: served stale at once on B, then regenerated (the page's Cache-Tag, the wrapper's tags).
      expect((await purge(a, { tags: ['posts'], expire: 60 })).status).toBe(200)
      for (const [i, path] of [[0, '/tagged'], [2, '/api/wrapped']] as const) {
        const stale = await waitFor(async () => {
          const page = await fetchPage(b, path)
          return page.cache === 'STALE' ? page : undefined
        }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
        expect(stale.id).toBe(firsts[i]!.id)
        await waitFor(async () => ((await fetchPage(b, path)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      }
      // Bad input: 4xx (JSON), never a 500.
      const denied = await fetch(`${a.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}x`, 'content-type': 'application/json' }, body: '{"tags":["posts"]}' })
      expect(denied.status).toBe(401)
      const malformed = await fetch(`${a.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: '{"tags":' })
      expect(malformed.status).toBe(400)
      const get = await fetch(`${a.url}/api/revalidate`)
      expect(get.status).toBe(405)
      for (const nasty of ['/blog/%00', '/blog/%E0%A4%A', `/blog/${'a'.repeat(5000)}`, '/blog/x/_payload.json?%zz', '//blog/x', '/blog/x/_payload.json/_payload.json']) {
        const answer = await fetch(`${a.url}${nasty}`)
        expect(answer.status, nasty.slice(0, 40)).toBeLessThan(500)
        await answer.arrayBuffer()
      }
    }, TEST_TIMEOUT)

    it("a visitor's cookie never reaches a cached render, and a render's Set-Cookie is never replayed", async () => {
      const cookie = `session=visitor-secret-${RUN}`
      await purge(a, { paths: ['/cookie'] })
      const miss = await waitFor(async () => {
        const page = await fetchPage(a, '/cookie', { headers: { cookie } })
        return page.cache === 'MISS' ? page : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect(miss.body).toContain('id="session">none<')
      expect(miss.body).not.toContain('visitor-secret')
      for (const server of [a, b]) {
        const cached = await cachedOn(server, '/cookie', { headers: { cookie: `${cookie}-2` } })
        expect(cached.id).toBe(miss.id)
        expect(cached.headers.get('set-cookie')).toBeNull()
        expect(cached.body).not.toContain('visitor-secret')
        const payload = await cachedOn(server, '/cookie/_payload.json?x', { headers: { cookie } })
        expect(payload.headers.get('set-cookie')).toBeNull()
        expect(payload.body).not.toContain('visitor-secret')
      }
      // The other way: a cookie-less visitor's cached page was rendered without any cookie, so a visitor
      // with one sees nothing of another's; and the uncached API that renders it saw none either.
      const anonymous = await fetchPage(b, '/cookie')
      expect(anonymous.body).toContain('id="session">none<')
    }, TEST_TIMEOUT)

    it('the bypass token renders fresh and replaces the entry; a wrong one and a forged internal marker are ignored', async () => {
      const path = `/blog/${RUN}-bypass`
      const miss = await fetchPage(a, path)
      expect(miss.cache).toBe('MISS')
      const wrong = await cachedOn(a, path, { headers: { 'x-isr-cache-bypass': `${BYPASS}0` } })
      expect(wrong.id).toBe(miss.id)
      const bypass = await fetchPage(a, path, { headers: { 'x-isr-cache-bypass': BYPASS } })
      expect(bypass.cache).toBe('BYPASS')
      expect(bypass.id).not.toBe(miss.id)
      const replaced = await waitFor(async () => {
        const page = await fetchPage(b, path)
        return page.id === bypass.id ? page : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect(replaced.cache).toBe('HIT')
      const forged = await fetchPage(b, path, { headers: { 'x-isr-cache-internal': BYPASS } })
      expect([forged.cache, forged.id]).toEqual(['HIT', bypass.id])
    }, TEST_TIMEOUT)

    it("side by side: Nitro's native swr rule renders once per instance and has no purge (printed)", async () => {
      upstream.setPosts({ version: 'w1', title: 'swr' })
      const before = { swr: upstream.renders('/swr'), isr: upstream.renders(`/blog/${RUN}-side`) }
      for (const server of [a, b, a, b]) await fetchPage(server, '/swr')
      // The first render's write lands before B asks (a request racing it would wait on A's lease, or render).
      await fetchPage(a, `/blog/${RUN}-side`)
      await cachedOn(b, `/blog/${RUN}-side`)
      for (const server of [a, b]) await fetchPage(server, `/blog/${RUN}-side`)
      const swrRenders = upstream.renders('/swr') - before.swr
      const isrRenders = upstream.renders(`/blog/${RUN}-side`) - before.isr
      upstream.setPosts({ version: 'w2', title: 'swr purged?' })
      await purge(a, { paths: ['/swr', `/blog/${RUN}-side`] })
      const isrAfter = await waitFor(async () => {
        const page = await fetchPage(b, `/blog/${RUN}-side`)
        return page.version === 'w2' ? page : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      const swrAfter = await fetchPage(b, '/swr')
      const table = [
        ['', 'isr-cache (isr rule)', "Nitro's swr rule"],
        ['renders for 4 or more requests on 2 instances', String(isrRenders), String(swrRenders)],
        ['after a purge on A, B serves', isrAfter.version!, swrAfter.version!],
        ['x-isr-cache header', String(isrAfter.cache), String(swrAfter.cache)],
      ]
      log(`side by side:\n${table.map((row) => row.map((cell) => cell.padEnd(40)).join('')).join('\n')}`)
      expect(isrRenders).toBe(1)
      expect(swrRenders).toBe(2)
      expect(swrAfter.version, "swr has no purge: B still serves its own copy").toBe('w1')
    }, TEST_TIMEOUT)

    it.runIf(chromiumAvailable)(
      'a real browser: a cached page on B, client-side navigation to another cached page (its _payload.json from the cache), no console error, no hydration warning',
      async () => {
        upstream.setPosts({ version: 'b1', title: 'browser' })
        await purge(a, { tags: ['posts'] })
        // Both pages cached (from A), so that B serves them, and the payload, from the shared store.
        await fetchPage(a, '/blog/hello')
        await fetchPage(a, '/tagged')
        await cachedOn(b, '/blog/hello')
        await cachedOn(b, '/tagged')
        const browser = await launchChromium()
        try {
          const page = await browser.newPage()
          const { problems } = watchPage(page)
          const requests: string[] = []
          page.on('request', (request) => {
            if (['document', 'fetch', 'xhr'].includes(request.resourceType())) requests.push(new URL(request.url()).pathname)
          })
          const first = await page.goto(`${b.url}/blog/hello`)
          expect(['HIT', 'STALE']).toContain(first?.headers()['x-isr-cache'])
          await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 })
          const [payload] = await Promise.all([page.waitForResponse((response) => response.url().includes('/tagged/_payload.json'), { timeout: 20_000 }), page.click('#to-tagged')])
          expect(payload.status()).toBe(200)
          expect(['HIT', 'STALE']).toContain(payload.headers()['x-isr-cache'])
          await page.waitForSelector('h1#title', { timeout: 20_000 })
          expect(await page.textContent('#version')).toBe('b1')
          expect(await page.textContent('#title')).toBe('browser')
          // One document; then payloads only (NuxtLink prefetches those of visible links): the pages' data
          // came from them, never from an API call of the browser's.
          const other = requests.filter((path) => !path.startsWith('/_nuxt/'))
          expect(other[0]).toBe('/blog/hello')
          expect(other.slice(1).filter((path) => !path.endsWith('/_payload.json')), 'no request but payloads after the document').toEqual([])
          expect(other).toContain('/tagged/_payload.json')
          expect(problems, `requests: ${requests.join(', ')}`).toEqual([])
        } finally {
          await browser.close()
        }
      },
      TEST_TIMEOUT,
    )
  })
}

function redisStopped(fixture: Fixture): void {
  describe.runIf(redisServerAvailable)(`${fixture.title} with its Redis stopped`, () => {
    let redis: PrivateRedis
    let upstream: Upstream
    let c: NextServer
    let d: NextServer

    beforeAll(async () => {
      await fixture.prepare()
      redis = await startPrivateRedis()
      upstream = await startUpstream({ posts: { version: 'r1', title: 'redis' } })
      ;[c, d] = await Promise.all([startInstance(fixture, 'C', upstream, redis.url, `${fixture.prefix}-down`), startInstance(fixture, 'D', upstream, redis.url, `${fixture.prefix}-down`)])
    }, PREPARE_TIMEOUT)

    afterAll(async () => {
      await Promise.all([c?.stop(), d?.stop()])
      await upstream?.close()
      await redis?.close()
    })

    it('every request still gets its page (200, no hang); caching through the store resumes once Redis is back; SIGTERM exits promptly', async () => {
      const outage: TwoInstances<NextServer, Page> = { a: c, b: d, upstream, fetchPage, purge, propagationMs: PROPAGATION_MS }
      await servesThroughStoreOutage(outage, redis, `/blog/${RUN}`, async (server, round) => {
        expect((await fetchPage(server, `/blog/${RUN}-down-${round}/_payload.json?x`)).status).toBe(200)
      })
      // The plugin closes the cache on Nitro's close hook: the server exits on SIGTERM without being killed.
      const started = performance.now()
      await d.stop(8000)
      expect(performance.now() - started, 'the server exited on SIGTERM without being killed').toBeLessThan(7000)
    }, 90_000)
  })
}

for (const fixture of [nuxt44, nuxt45]) {
  twoInstances(fixture)
  redisStopped(fixture)
}

describe.runIf(redisAvailable)('examples/nitro: a plain Nitro 2 app with isr-cache/nitro, two instances on the shared Redis', () => {
  const prefix = uniquePrefix('nitro-e2e')
  let upstream: Upstream | undefined
  let a: NextServer
  let b: NextServer

  beforeAll(async () => {
    const started = performance.now()
    const result = await prepareNitro({ log })
    log(`nitro fixture prepared in ${Math.round(performance.now() - started)} ms (install ${result.install.ran ? `${result.install.ms} ms` : 'reused'}, build ${result.build.ran ? `${result.build.ms} ms` : 'reused'})`)
    const env = { NITRO_ISR_CACHE_STORE: REDIS_URL, NITRO_ISR_CACHE_PREFIX: prefix, NITRO_ISR_CACHE_SECRET: SECRET }
    ;[a, b] = await Promise.all([
      startNitro({ port: await freePort(), name: 'nitro-A', log, env }),
      startNitro({ port: await freePort(), name: 'nitro-B', log, env }),
    ])
  }, PREPARE_TIMEOUT)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await upstream?.close()
    await dropPrefix(prefix)
  })

  it('the isr rule: MISS on A, HIT on B; cookies neither reach the render nor are replayed; the query outside allowQuery is ignored and not rendered', async () => {
    expect(a.output()).toContain('[isr-cache] store: redis://127.0.0.1')
    const miss = await fetchPage(a, '/', { headers: { cookie: 'session=nitro-secret' } })
    expect([miss.status, miss.cache]).toEqual([200, 'MISS'])
    expect(miss.body).toContain('id="session">none<')
    const hit = await cachedOn(b, '/', { headers: { cookie: 'session=other' } })
    expect(hit.id).toBe(miss.id)
    expect(hit.headers.get('set-cookie')).toBeNull()
    expect(hit.body).not.toContain('secret')
    const post = await fetchPage(a, `/blog/${RUN}?page=2&utm_source=mail`)
    expect(post.cache).toBe('MISS')
    expect(JSON.parse(post.body)).toMatchObject({ page: '2', utm: null })
    const same = await cachedOn(b, `/blog/${RUN}?utm_source=other&page=2`)
    expect(same.id).toBe(post.id)
    expect((await fetchPage(b, `/blog/${RUN}?page=3`)).cache).toBe('MISS')
  }, TEST_TIMEOUT)

  it('defineIsrEventHandler (imported from isr-cache/nitro) and the purges: endpoint tags and paths, useIsrCache in a route', async () => {
    const first = await fetchPage(a, '/api/time')
    expect(first.cache).toBe('MISS')
    expect((await cachedOn(b, '/api/time')).id).toBe(first.id)
    // The wrapper's own tag, through useIsrCache() in an app route on B.
    expect((await fetch(`${b.url}/api/purge`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: '{"tag":"time"}' })).status).toBe(200)
    expect((await fetch(`${b.url}/api/purge`, { method: 'POST', headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{"tag":"time"}' })).status).toBe(401)
    await waitFor(async () => ((await fetchPage(a, '/api/time')).id !== first.id ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    // The rule's tag and the response's Cache-Tag, through the revalidation endpoint on A.
    const post = await cachedOn(b, `/blog/${RUN}?page=2`)
    expect((await purge(a, { tags: [`post:${RUN}`] })).status).toBe(200)
    const renewed = await waitFor(async () => {
      const page = await fetchPage(b, `/blog/${RUN}?page=2`)
      return page.id !== post.id ? page : undefined
    }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    await cachedOn(b, `/blog/${RUN}?page=2`)
    expect((await purge(a, { tags: ['posts'] })).status).toBe(200)
    await waitFor(async () => ((await fetchPage(b, `/blog/${RUN}?page=2`)).id !== renewed.id ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    const page = await cachedOn(a, '/')
    expect((await purge(a, { paths: ['/'] })).status).toBe(200)
    await waitFor(async () => ((await fetchPage(b, '/')).id !== page.id ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
  }, TEST_TIMEOUT)
})

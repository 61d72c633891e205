/**
 * End to end: examples/astro (Astro 5.18, @astrojs/node standalone, isr-cache installed from a tarball of
 * this checkout), production build (`astro build`, `node dist/server/entry.mjs`) made once per run, two
 * instances on loopback sharing the real Redis (a unique key prefix per run, dropped afterwards), with the
 * loopback upstream the pages read and report their renders to. What a test reads is HTTP (`x-isr-cache`,
 * headers, the render id and content version every page prints) and, once, a real browser. Renders a test
 * must hold in the middle wait at an upstream gate, so ordering is asserted by events, never by timing.
 * The Astro 7 fixture (examples/astro7, Node 24) is at the end.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, watchPage } from './support/browser.js'
import type { NextServer } from '../examples/next/tooling/prepare.mjs'
import { startUpstream, type Upstream } from '../examples/next/tooling/upstream.mjs'
import { appDir, prepareAstro, prepareAstro7, startAstro, startAstro7, type Astro7Cache } from '../examples/astro/tooling/app.mjs'
import { sleep, waitFor } from './support/next-app.js'
import { missHitStaleHit, servesThroughStoreOutage, stampedeRendersOnce, type TwoInstances } from './support/scenarios.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'
import { freePort, redisServerAvailable, startPrivateRedis, type PrivateRedis } from './support/redis-server.js'

const PREPARE_TIMEOUT = 10 * 60_000
const TEST_TIMEOUT = 60_000
/** `revalidate` of the example's time-based pages in this run, in seconds. */
const REVALIDATE = 4
const SECRET = randomBytes(16).toString('hex')
const BYPASS = randomBytes(16).toString('hex')
const RUN = Date.now().toString(36)
/** Bound for a purge or a write on one instance to show on the other (bus, else the 1 s L1 re-check). */
const PROPAGATION_MS = 10_000
const log = (line: string) => console.log(`[astro e2e] ${line}`)

let prepared: Promise<unknown> | undefined
/** Pack + install + build once per test process (each skipped while its inputs are unchanged). */
function prepare(): Promise<unknown> {
  prepared ??= (async () => {
    const started = performance.now()
    const result = await prepareAstro({ log })
    log(`prepared in ${Math.round(performance.now() - started)} ms (install ${result.install.ran ? `${result.install.ms} ms` : 'reused'}, build ${result.build.ran ? `${result.build.ms} ms` : 'reused'})`)
  })()
  return prepared
}

interface Page {
  status: number
  cache: string | null
  id: string | undefined
  version: string | undefined
  body: string
  headers: Headers
}

/** The render id and content version a page printed: from its HTML or its JSON (the endpoint). */
function marker(body: string): { id: string | undefined; version: string | undefined } {
  if (body.startsWith('{')) {
    const json = JSON.parse(body) as { id?: string; content?: { version?: string } }
    return { id: json.id, version: json.content?.version }
  }
  return { id: /data-render-id="([0-9a-f]+)"/.exec(body)?.[1], version: /data-version="([^"]*)"/.exec(body)?.[1] }
}

async function readPage(response: Response): Promise<Page> {
  const body = await response.text()
  return { status: response.status, cache: response.headers.get('x-isr-cache'), ...marker(body), body, headers: response.headers }
}

async function startInstance(name: string, upstream: Upstream, store: string, prefix: string, port?: number): Promise<NextServer> {
  return startAstro({
    port: port ?? (await freePort()),
    name,
    log,
    env: {
      UPSTREAM_URL: upstream.url,
      ISR_CACHE_STORE: store,
      ISR_CACHE_PREFIX: prefix,
      ISR_CACHE_SECRET: SECRET,
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

/** Polls `path` on `server` until `accept(page)`. */
const until = (server: NextServer, path: string, accept: (page: Page) => boolean, init: RequestInit = {}) =>
  waitFor(async () => {
    const page = await fetchPage(server, path, init)
    return accept(page) ? page : undefined
  }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })

/** The Set-Cookie values of a response. */
const setCookies = (page: Page) => page.headers.getSetCookie()

describe.runIf(redisAvailable)('examples/astro (Astro 5 middleware): two production instances on the shared Redis', () => {
  const prefix = uniquePrefix('astro-e2e')
  let upstream: Upstream
  let a: NextServer
  let b: NextServer

  beforeAll(async () => {
    await prepare()
    upstream = await startUpstream({ posts: { version: 'v1', title: 'first' } })
    ;[a, b] = await Promise.all([startInstance('A', upstream, REDIS_URL, prefix), startInstance('B', upstream, REDIS_URL, prefix)])
  }, PREPARE_TIMEOUT)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await upstream?.close()
    await dropPrefix(prefix)
  })
  const scenario = (): TwoInstances<NextServer, Page> => ({ a, b, upstream, fetchPage, purge, propagationMs: PROPAGATION_MS })

  it('types: createIsrMiddleware is an Astro MiddlewareHandler composing with sequence() (tsc on the installed packages)', async () => {
    const tsc = join(import.meta.dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc')
    const { status, stdout, stderr } = spawnSync(process.execPath, [tsc, '-p', join(appDir, 'tsconfig.check.json')], { encoding: 'utf8' })
    expect(`${stdout}${stderr}`).toBe('')
    expect(status).toBe(0)
  }, TEST_TIMEOUT)

  it('MISS → HIT (on the other instance too) → STALE → HIT with the new content', async () => {
    await missHitStaleHit(scenario(), '/isr', REVALIDATE, (hitOnB) => {
      expect(hitOnB.headers.get('content-type')).toMatch(/^text\/html/)
      // The middleware after the cache in sequence() ran for the render; its header was stored with the page.
      expect(hitOnB.headers.get('x-rendered-by')).toBe('astro')
    })
  }, TEST_TIMEOUT)

  it('50 concurrent requests on a stale page across both instances: all served stale at once, exactly one render', async () => {
    await stampedeRendersOnce(scenario(), '/stampede', 'stampede')
  }, TEST_TIMEOUT)

  it('tag and path purges on A are honoured on B (a dynamic route, an endpoint); bad input is a 4xx; checkOrigin refuses a form POST', async () => {
    const paths = [1, 2, 3].map((n) => `/blog/${RUN}-tags-${n}`)
    upstream.setPosts({ version: 't1', title: 'tags' })
    const firsts = []
    for (const path of paths) {
      expect((await fetchPage(a, path)).cache).toBe('MISS')
      firsts.push(await cachedOn(b, path))
    }
    const api = await fetchPage(a, '/api/time?utm_source=x')
    expect(api.headers.get('content-type')).toMatch(/^application\/json/)
    expect((await cachedOn(b, '/api/time')).id).toBe(api.id)
    upstream.setPosts({ version: 't2', title: 'tags purged' })
    // The page's own Cache-Tag (Astro.response.headers), added to the route rule's tags.
    expect((await purge(a, { tags: [`post-${RUN}-tags-1`] })).status).toBe(200)
    await until(b, paths[0]!, (page) => page.version === 't2')
    expect((await fetchPage(b, paths[1]!)).id).toBe(firsts[1]!.id)
    // A path.
    expect((await purge(a, { paths: [paths[1]] })).status).toBe(200)
    await until(b, paths[1]!, (page) => page.version === 't2')
    expect((await fetchPage(b, paths[2]!)).id).toBe(firsts[2]!.id)
    // The endpoint's rule tag.
    expect((await purge(a, { tags: ['time'] })).status).toBe(200)
    await until(b, '/api/time', (page) => page.version === 't2')
    // The route rule's tag, soft: served stale at once on B, then regenerated.
    expect((await purge(a, { tags: ['posts'], expire: 60 })).status).toBe(200)
    const stale = await until(b, paths[2]!, (page) => page.cache === 'STALE')
    expect(stale.id).toBe(firsts[2]!.id)
    await until(b, paths[2]!, (page) => page.version === 't2')

    // Astro's checkOrigin answers a form-encoded (or query-form) POST without a matching Origin, before any handler.
    const form = await fetch(`${a.url}/api/revalidate?secret=${SECRET}&tag=posts`, { method: 'POST' })
    expect(form.status).toBe(403)
    // Bad input: 4xx (JSON), never a 500.
    const denied = await fetch(`${a.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}x`, 'content-type': 'application/json' }, body: '{"tags":["posts"]}' })
    expect(denied.status).toBe(401)
    const malformed = await fetch(`${a.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: '{"tags":' })
    expect(malformed.status).toBe(400)
    const get = await fetch(`${a.url}/api/revalidate`)
    expect(get.status).toBe(405)
    for (const nasty of ['/blog/%00', '/blog/%E0%A4%A', `/blog/${'a'.repeat(5000)}`, '/blog/UPPER']) {
      const answer = await fetch(`${a.url}${nasty}`)
      expect(answer.status, nasty.slice(0, 40)).toBeLessThan(500)
      await answer.arrayBuffer()
    }
  }, TEST_TIMEOUT)

  it("cookie isolation: a cached render (MISS or background) sees no cookie, the MISS visitor keeps its own Astro.cookies, a HIT or STALE carries nobody's", async () => {
    const secret = `visitor-secret-${RUN}`
    const cookie = `session=${secret}`
    expect((await purge(a, { paths: ['/cookie', '/session'] })).status).toBe(200)
    const miss = await until(a, '/cookie', (page) => page.cache === 'MISS', { headers: { cookie } })
    expect(miss.body).toContain('data-cookie="none"')
    expect(miss.body).toContain('data-session="none"')
    expect(miss.body).not.toContain(secret)
    // The visitor whose request rendered the page gets the cookie that render set (Astro.cookies.set).
    expect(setCookies(miss)).toEqual([expect.stringMatching(new RegExp(`^visitor=${miss.id}; Path=/; HttpOnly; SameSite=Lax$`))])
    for (const server of [a, b]) {
      const cached = await cachedOn(server, '/cookie', { headers: { cookie: `${cookie}-2` } })
      expect(cached.id).toBe(miss.id)
      expect(setCookies(cached)).toEqual([])
      expect(cached.body).not.toContain(secret)
    }

    // The background regeneration runs in the stale visitor's context: it still sees no cookie, and the
    // cookie it sets reaches nobody (not the stale visitor either).
    expect((await purge(a, { paths: ['/cookie'], expire: 3600 })).status).toBe(200)
    const stale = await until(b, '/cookie', (page) => page.cache === 'STALE', { headers: { cookie } })
    expect(stale.id).toBe(miss.id)
    expect(setCookies(stale)).toEqual([])
    const regenerated = await until(b, '/cookie', (page) => page.cache === 'HIT' && page.id !== miss.id, { headers: { cookie } })
    expect(regenerated.body).toContain('data-cookie="none"')
    expect(regenerated.body).toContain('data-session="none"')
    expect(regenerated.body).not.toContain(secret)
    expect(setCookies(regenerated)).toEqual([])
    expect(b.output()).not.toMatch(/cookies had already been sent/)

    // A middleware before the cache puts the session in Astro.locals: it runs again, cookie-less, for the
    // cached render (MISS and background), so neither locals nor the jar show it.
    const session = await until(a, '/session', (page) => page.cache === 'MISS', { headers: { cookie } })
    expect(session.body).toContain('data-locals-session="none"')
    expect(session.body).toContain('data-session="none"')
    expect((await purge(a, { paths: ['/session'], expire: 3600 })).status).toBe(200)
    await until(b, '/session', (page) => page.cache === 'STALE', { headers: { cookie } })
    const sessionAgain = await until(b, '/session', (page) => page.cache === 'HIT' && page.id !== session.id, { headers: { cookie } })
    expect(sessionAgain.body).toContain('data-locals-session="none"')
    expect(sessionAgain.body).not.toContain(secret)

    // The other way: a page without a rule that opts in by its headers is not stored from a render that saw cookies.
    const withCookie = await fetchPage(a, '/opt-in', { headers: { cookie } })
    expect(withCookie.cache).toBe('MISS')
    expect((await fetchPage(a, '/opt-in', { headers: { cookie } })).cache).toBe('MISS')
    const anonymous = await fetchPage(a, '/opt-in')
    const opted = anonymous.cache === 'MISS' ? await cachedOn(b, '/opt-in') : anonymous
    // Directives addressed to this cache are not sent to visitors; the page's Cache-Control is.
    expect(opted.headers.get('cache-tag')).toBeNull()
    expect(opted.headers.get('cache-control')).toBe('s-maxage=3600')
    // The endpoint: cached, cookie-less, no Set-Cookie.
    const api = await fetchPage(a, '/api/time', { headers: { cookie } })
    const apiOnB = await cachedOn(b, '/api/time', { headers: { cookie } })
    expect(apiOnB.id).toBe(api.id)
    expect(setCookies(apiOnB)).toEqual([])
  }, TEST_TIMEOUT)

  it('the bypass token renders fresh and replaces the entry; a wrong one, or a forged internal marker, is ignored; prerendered pages are files', async () => {
    const path = `/blog/${RUN}-bypass`
    const miss = await fetchPage(a, path)
    expect(miss.cache).toBe('MISS')
    const wrong = await fetchPage(a, path, { headers: { 'x-isr-cache-bypass': `${BYPASS}0` } })
    expect([wrong.cache, wrong.id]).toEqual(['HIT', miss.id])
    const bypass = await fetchPage(a, path, { headers: { 'x-isr-cache-bypass': BYPASS } })
    expect(bypass.cache).toBe('BYPASS')
    expect(bypass.id).not.toBe(miss.id)
    const replaced = await until(b, path, (page) => page.id === bypass.id)
    expect(replaced.cache).toBe('HIT')
    // The adapter's internal marker (a process secret) sent by a visitor does not skip the cache.
    const forged = await fetchPage(b, path, { headers: { 'x-isr-cache-internal': BYPASS } })
    expect([forged.cache, forged.id]).toEqual(['HIT', bypass.id])
    // If-None-Match: the cache answers 304.
    const etag = replaced.headers.get('etag')
    expect(etag).toBeTruthy()
    const notModified = await fetch(`${b.url}${path}`, { headers: { 'if-none-match': etag! } })
    expect([notModified.status, await notModified.text()]).toEqual([304, ''])
    // A prerendered page: a file of the adapter's static handler, never through the cache.
    const about = await fetchPage(a, '/about/')
    expect([about.status, about.cache]).toEqual([200, null])
  }, TEST_TIMEOUT)

  it('a restarted instance finds the cache warm (the first request is a HIT)', async () => {
    const path = `/blog/${RUN}-restart`
    const miss = await fetchPage(a, path)
    expect(miss.cache).toBe('MISS')
    await cachedOn(b, path)
    const port = b.port
    await b.stop()
    b = await startInstance('B', upstream, REDIS_URL, prefix, port)
    const first = await fetchPage(b, path)
    expect([first.cache, first.id]).toEqual(['HIT', miss.id])
  }, TEST_TIMEOUT)

  it.runIf(chromiumAvailable)(
    'a real browser: a cached page on B, client-side navigation (ClientRouter) to another cached page, the island hydrates, no console error, no hydration warning',
    async () => {
      upstream.setPosts({ version: 'b1', title: 'browser' })
      await purge(a, { tags: ['posts'] })
      // Both pages cached (rendered on A), then served from the cache on B.
      for (const path of ['/blog/hello', '/blog/world']) {
        await fetchPage(a, path)
        await until(b, path, (page) => page.cache === 'HIT' && page.version === 'b1')
      }
      const browser = await launchChromium()
      try {
        const page = await browser.newPage()
        const { problems, documents } = watchPage(page)
        const first = await page.goto(`${b.url}/blog/hello`)
        expect(first?.headers()['x-isr-cache']).toBe('HIT')
        await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 })
        await page.click('#counter')
        await page.waitForSelector('#counter:has-text("clicked 1")', { timeout: 20_000 })
        // ClientRouter fetches the next page's HTML (a fetch, not a document load) and swaps it in.
        const [next] = await Promise.all([page.waitForResponse((response) => new URL(response.url()).pathname === '/blog/world', { timeout: 20_000 }), page.click('#to-world')])
        expect(next.headers()['x-isr-cache']).toBe('HIT')
        await page.waitForFunction("document.title === 'Post world' && location.pathname === '/blog/world'", undefined, { timeout: 20_000 })
        expect(await page.getAttribute('[data-version]', 'data-version')).toBe('b1')
        // The island of the new page hydrated too.
        await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 })
        await page.click('#counter')
        await page.waitForSelector('#counter:has-text("clicked 1")', { timeout: 20_000 })
        expect(documents, 'the navigation was client-side: one document load').toEqual([`${b.url}/blog/hello`])
        expect(problems).toEqual([])
      } finally {
        await browser.close()
      }
    },
    TEST_TIMEOUT,
  )
})

describe.runIf(redisServerAvailable)('examples/astro with its Redis stopped', () => {
  let redis: PrivateRedis
  let upstream: Upstream
  let c: NextServer
  let d: NextServer

  beforeAll(async () => {
    await prepare()
    redis = await startPrivateRedis()
    upstream = await startUpstream({ posts: { version: 'r1', title: 'redis' } })
    ;[c, d] = await Promise.all([startInstance('C', upstream, redis.url, 'astro-e2e-down'), startInstance('D', upstream, redis.url, 'astro-e2e-down')])
  }, PREPARE_TIMEOUT)

  afterAll(async () => {
    await Promise.all([c?.stop(), d?.stop()])
    await upstream?.close()
    await redis?.close()
  })

  it('every request still gets its page (200, no hang); caching through the store resumes once Redis is back', async () => {
    const outage: TwoInstances<NextServer, Page> = { a: c, b: d, upstream, fetchPage, purge, propagationMs: PROPAGATION_MS }
    await servesThroughStoreOutage(outage, redis, `/blog/${RUN}`, async (server) => {
      expect((await fetchPage(server, '/api/time')).status).toBe(200)
    })
  }, 90_000)
})

/**
 * The Astro 7 fixture (examples/astro7, Node 24): pages keep Astro's own API (`Astro.cache.set`, `routeRules`,
 * `context.cache.invalidate`) and isr-cache is the provider (`cache: { provider: isrCacheProvider() }`).
 * The same scenarios then run on the same app built on Astro's `memoryCache()`, side by side, printed.
 */
describe.runIf(redisAvailable)('examples/astro7 (Astro 7 cache provider): two instances on the shared Redis, and memoryCache() side by side', () => {
  const prefix = uniquePrefix('astro7-e2e')
  let upstream: Upstream
  const REVALIDATE7 = 3
  /** Per scenario: what isr-cache and memoryCache() did, printed at the end. */
  const sideBySide: Array<{ scenario: string; isr: string; memory: string }> = []

  const start7 = async (name: string, cache: Astro7Cache) =>
    startAstro7({
      port: await freePort(),
      name,
      log,
      cache,
      env: { UPSTREAM_URL: upstream.url, ISR_CACHE_STORE: REDIS_URL, ISR_CACHE_PREFIX: prefix, ISR_CACHE_SECRET: SECRET, ISR_CACHE_BYPASS_TOKEN: BYPASS, REVALIDATE: String(REVALIDATE7) },
    })
  /** The cache state of an answer, from either provider (isr-cache: x-isr-cache; memoryCache: x-astro-cache). */
  const state = (page: Page) => page.cache ?? page.headers.get('x-astro-cache') ?? 'none'
  const invalidate = (server: NextServer, body: unknown) =>
    fetch(`${server.url}/api/invalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

  /**
   * The scenarios, on two instances of one build. Returns what happened, in words; `strict` (isr-cache)
   * asserts the promises, the memoryCache() run only reports.
   */
  async function scenarios(a: NextServer, b: NextServer, strict: boolean, tag: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {}
    const check = (ok: boolean, message: string) => {
      if (strict) expect(ok, message).toBe(true)
    }
    // 1. MISS on A, then B.
    upstream.setPosts({ version: `${tag}1`, title: 'astro 7' })
    const path = `/blog/${RUN}-${tag}`
    const miss = await fetchPage(a, path)
    check(miss.cache === 'MISS', `first render on A: ${state(miss)}`)
    const onB = strict ? await cachedOn(b, path) : await fetchPage(b, path)
    check(onB.id === miss.id, 'B serves the page A rendered')
    out['B after A rendered'] = `${state(onB)}${onB.id === miss.id ? ' (A\'s render)' : ' (its own render)'}`
    check(onB.headers.get('x-rendered-by') === 'astro7', 'user middleware ran inside the provider')
    check(onB.headers.get('cdn-cache-control') === null && onB.headers.get('cache-tag') === null, 'directives are not sent to visitors')

    // 2. Stale → one regeneration for 50 concurrent requests across both.
    await fetchPage(a, '/stampede')
    if (strict) await cachedOn(b, '/stampede')
    else await fetchPage(b, '/stampede')
    const before = upstream.renders('/stampede')
    await sleep(REVALIDATE7 * 1000 + 200)
    upstream.closeGate('stampede')
    let stampede: Page[]
    try {
      stampede = await Promise.all(Array.from({ length: 50 }, (_, i) => fetchPage(i % 2 === 0 ? a : b, '/stampede')))
      if (strict) {
        for (const page of stampede) expect(['STALE', 'HIT']).toContain(page.cache)
        await waitFor(async () => (upstream.waiting('stampede') === 1 ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 20 })
      } else await sleep(500)
    } finally {
      upstream.openGate('stampede')
    }
    if (strict) {
      await waitFor(async () => {
        const [pa, pb] = await Promise.all([fetchPage(a, '/stampede'), fetchPage(b, '/stampede')])
        return pa.cache === 'HIT' && pb.cache === 'HIT' && pa.id === pb.id && pa.id !== stampede[0]!.id ? true : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect(upstream.renders('/stampede') - before).toBe(1)
    } else await sleep(1000)
    const states = new Map<string, number>()
    for (const page of stampede) states.set(state(page), (states.get(state(page)) ?? 0) + 1)
    out['50 stale requests on A and B'] = `${upstream.renders('/stampede') - before} render(s); answers ${[...states].map(([name, n]) => `${n} ${name}`).join(', ')}`

    // 3. context.cache.invalidate() on A: a tag, a path; seen on B.
    upstream.setPosts({ version: `${tag}2`, title: 'astro 7 purged' })
    const byTag = await invalidate(a, { tags: [`post-${RUN}-${tag}`] })
    check(byTag.status === 200, `invalidate by tag: ${byTag.status}`)
    const afterTag = strict ? await until(b, path, (page) => page.version === `${tag}2`) : await fetchPage(b, path)
    out['invalidate({ tags }) on A, then B'] = afterTag.version === `${tag}2` ? 'new content' : `old content (${state(afterTag)})`
    const api = await fetchPage(a, '/api/time')
    if (strict) await cachedOn(b, '/api/time')
    else await fetchPage(b, '/api/time')
    upstream.setPosts({ version: `${tag}3`, title: 'astro 7 path' })
    check((await invalidate(a, { path: '/api/time' })).status === 200, 'invalidate by path')
    const afterPath = strict ? await until(b, '/api/time', (page) => page.version === `${tag}3`) : await fetchPage(b, '/api/time')
    out['invalidate({ path }) on A, then B'] = afterPath.version === `${tag}3` ? 'new content' : `old content (${state(afterPath)})`
    check(afterPath.id !== api.id, 'the endpoint was rendered again')

    // 4. Cookies: the MISS visitor keeps its own; a cached answer carries none; the render saw none.
    const cookie = `session=visitor-secret-${RUN}`
    await invalidate(a, { path: '/cookie' })
    const cookieMiss = await fetchPage(a, '/cookie')
    const cookieHit = strict ? await cachedOn(b, '/cookie', { headers: { cookie } }) : await fetchPage(b, '/cookie', { headers: { cookie } })
    check(setCookies(cookieMiss).length === 1 && setCookies(cookieMiss)[0]!.startsWith(`visitor=${cookieMiss.id}`), 'the MISS visitor gets the cookie its render set')
    check(setCookies(cookieHit).length === 0 && cookieHit.id === cookieMiss.id, 'a HIT carries no cookie')
    check(!cookieHit.body.includes('visitor-secret'), 'no visitor cookie in a cached page')
    out['page that sets a cookie'] = `${state(cookieMiss)} then ${state(cookieHit)} on B${setCookies(cookieHit).length > 0 ? ' with a Set-Cookie' : ''}`
    // The background regeneration, in the stale visitor's context, sees no cookie.
    await sleep(REVALIDATE7 * 1000 + 200)
    const staleCookie = await fetchPage(b, '/cookie', { headers: { cookie } })
    check(staleCookie.cache === 'STALE' && setCookies(staleCookie).length === 0, `stale, no cookie: ${state(staleCookie)}`)
    if (strict) {
      const regenerated = await until(b, '/cookie', (page) => page.cache === 'HIT' && page.id !== cookieMiss.id)
      expect(regenerated.body).toContain('data-cookie="none"')
      expect(regenerated.body).toContain('data-session="none"')
    }
    return out
  }

  beforeAll(async () => {
    const started = performance.now()
    const isr = await prepareAstro7({ log })
    const memory = await prepareAstro7({ log, cache: 'memory' })
    log(`Astro 7 prepared in ${Math.round(performance.now() - started)} ms (install ${isr.install.ran ? `${isr.install.ms} ms` : 'reused'}, builds ${isr.build.ran ? `${isr.build.ms} ms` : 'reused'} + ${memory.build.ran ? `${memory.build.ms} ms` : 'reused'})`)
    upstream = await startUpstream({ posts: { version: 'x', title: 'astro 7' } })
  }, PREPARE_TIMEOUT)

  afterAll(async () => {
    await upstream?.close()
    await dropPrefix(prefix)
  })

  it('isr-cache as the provider: the scenarios on two instances; then the same on memoryCache(), printed side by side', async () => {
    let [a, b] = await Promise.all([start7('A7', 'isr'), start7('B7', 'isr')])
    let isr: Record<string, string>
    try {
      isr = await scenarios(a, b, true, 'i')
      // The bypass token is read at run time (ISR_CACHE_BYPASS_TOKEN), never from the build.
      const bypass = await fetchPage(a, '/isr', { headers: { 'x-isr-cache-bypass': BYPASS } })
      expect(bypass.cache).toBe('BYPASS')
      // A restarted instance finds the cache warm.
      await fetchPage(a, `/blog/${RUN}-restart7`)
      const warm = await cachedOn(a, `/blog/${RUN}-restart7`)
      await b.stop()
      b = await start7('B7', 'isr')
      const afterRestart = await fetchPage(b, `/blog/${RUN}-restart7`)
      expect([afterRestart.cache, afterRestart.id]).toEqual(['HIT', warm.id])
      isr['restarted instance'] = `${afterRestart.cache} (the cache is in Redis)`
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }

    ;[a, b] = await Promise.all([start7('A7m', 'memory'), start7('B7m', 'memory')])
    let memory: Record<string, string>
    try {
      memory = await scenarios(a, b, false, 'm')
      const warm = await fetchPage(b, `/blog/${RUN}-restart7m`)
      await b.stop()
      b = await start7('B7m', 'memory')
      const afterRestart = await fetchPage(b, `/blog/${RUN}-restart7m`)
      memory['restarted instance'] = `${state(afterRestart)}${afterRestart.id === warm.id ? '' : ' (rendered again: the cache was in the process)'}`
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
    for (const scenario of Object.keys(isr)) sideBySide.push({ scenario, isr: isr[scenario]!, memory: memory[scenario] ?? '' })
    console.log(`[astro e2e] Astro 7, two instances: isr-cache (Redis) vs memoryCache()\n${sideBySide.map((row) => `  ${row.scenario.padEnd(34)} isr-cache: ${row.isr.padEnd(40)} memoryCache(): ${row.memory}`).join('\n')}`)
  }, 180_000)
})

/**
 * End to end: examples/sveltekit (Kit 2.70.4, adapter-node, isr-cache installed from a tarball of this
 * checkout) and the same app on Kit 3.2.0 under Node 24 (examples/sveltekit3, its sources written from the
 * Kit 2 example's), each a production build (`vite build`, `node build`) made once per run, two instances on loopback
 * sharing the real Redis (a unique key prefix per run, dropped afterwards), with the loopback upstream the
 * pages read and report their renders to. What a test reads is HTTP (`x-isr-cache`, headers, the render id
 * and content version every page prints) and, once, a real browser. Renders a test must hold in the middle
 * wait at an upstream gate, so ordering is asserted by events, never by timing.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, watchPage } from './support/browser.js'
import type { NextServer, StepResult } from '../examples/next/tooling/prepare.mjs'
import { startUpstream, type Upstream } from '../examples/next/tooling/upstream.mjs'
import { appDir, prepareSvelteKit, prepareSvelteKit3, startSvelteKit, startSvelteKit3 } from '../examples/sveltekit/tooling/app.mjs'
import { sleep, waitFor } from './support/next-app.js'
import { missHitStaleHit, stampedeRendersOnce, type TwoInstances } from './support/scenarios.js'
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
const log = (line: string) => console.log(`[sveltekit e2e] ${line}`)

/** One SvelteKit major's build of the example app: both run every scenario below. */
interface Fixture {
  title: string
  /** Suffix of its instances' names (A, B → A3, B3). */
  suffix: string
  prefix: string
  /** Pack + install + build once per test process (each skipped while its inputs are unchanged). */
  prepare(): Promise<unknown>
  start(options: { port: number; name: string; log: typeof log; env: Record<string, string> }): Promise<NextServer>
}

function once(title: string, step: () => Promise<{ install: StepResult; build: StepResult }>): () => Promise<unknown> {
  let prepared: Promise<unknown> | undefined
  return () => {
    prepared ??= (async () => {
      const started = performance.now()
      const result = await step()
      log(`${title} prepared in ${Math.round(performance.now() - started)} ms (install ${result.install.ran ? `${result.install.ms} ms` : 'reused'}, build ${result.build.ran ? `${result.build.ms} ms` : 'reused'})`)
    })()
    return prepared
  }
}

const kit2: Fixture = {
  title: 'examples/sveltekit (Kit 2, Node 20)',
  suffix: '',
  prefix: 'sveltekit-e2e',
  prepare: once('Kit 2', () => prepareSvelteKit({ log })),
  start: startSvelteKit,
}
const kit3: Fixture = {
  title: 'examples/sveltekit3 (Kit 3, Node 24, the same app)',
  suffix: '3',
  prefix: 'sveltekit3-e2e',
  prepare: once('Kit 3', () => prepareSvelteKit3({ log })),
  start: startSvelteKit3,
}

interface Page {
  status: number
  cache: string | null
  id: string | undefined
  version: string | undefined
  body: string
  headers: Headers
}

/** The render id and content version a page printed: from its HTML, its JSON (the endpoint), or its __data.json. */
function marker(body: string): { id: string | undefined; version: string | undefined } {
  if (body.startsWith('{"type":"data"')) {
    // Kit's __data.json: devalue, each value an index into the node's `data` array.
    const nodes = (JSON.parse(body) as { nodes: Array<{ data?: unknown[] } | null> }).nodes
    const data = nodes[nodes.length - 1]?.data
    if (data === undefined) return { id: undefined, version: undefined }
    const root = data[0] as { id: number; content: number }
    const content = data[root.content] as { version: number }
    return { id: data[root.id] as string, version: data[content.version] as string }
  }
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

async function startInstance(fixture: Fixture, name: string, upstream: Upstream, store: string, prefix: string): Promise<NextServer> {
  return fixture.start({
    port: await freePort(),
    name: `${name}${fixture.suffix}`,
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

describe('examples/sveltekit: types', () => {
  beforeAll(() => kit2.prepare(), PREPARE_TIMEOUT)

  it("types: createIsrHandle is a Kit Handle composing with sequence(), withIsr keeps a RequestHandler (tsc on the installed packages)", async () => {
    const tsc = join(import.meta.dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc')
    const { status, stdout, stderr } = spawnSync(process.execPath, [tsc, '-p', join(appDir, 'tsconfig.check.json')], { encoding: 'utf8' })
    expect(`${stdout}${stderr}`).toBe('')
    expect(status).toBe(0)
  }, TEST_TIMEOUT)
})

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
    const scenario = (): TwoInstances<NextServer> => ({ a, b, upstream, fetchPage, purge, propagationMs: PROPAGATION_MS })

    it('MISS → HIT (on the other instance too) → STALE → HIT with the new content', async () => {
      await missHitStaleHit(scenario(), '/isr', REVALIDATE)
      // The hook after the cache in sequence() ran for the render; its header was stored with the page.
      expect((await fetchPage(b, '/isr')).headers.get('x-rendered-by')).toBe('sveltekit')
    }, TEST_TIMEOUT)

    it("a page's __data.json is its own entry, served from the cache on the other instance, purged with its page", async () => {
      const slug = `${RUN}-data`
      upstream.setPosts({ version: 'd1', title: 'data' })
      const page = await fetchPage(a, `/blog/${slug}`)
      expect([page.status, page.cache]).toEqual([200, 'MISS'])
      const data = await fetchPage(a, `/blog/${slug}/__data.json`)
      expect([data.status, data.cache, data.version]).toEqual([200, 'MISS', 'd1'])
      expect(data.headers.get('content-type')).toMatch(/^application\/json/)
      // What Kit itself sends on every __data.json, whether it came from the cache or not.
      expect(data.headers.get('cache-control')).toBe('private, no-store')
      expect(data.body).toMatch(/^\{"type":"data"/)
      expect(data.id).not.toBe(page.id) // two renders, two entries

      const dataOnB = await cachedOn(b, `/blog/${slug}/__data.json`)
      expect([dataOnB.id, dataOnB.body]).toEqual([data.id, data.body])
      expect(dataOnB.headers.get('cache-control')).toBe('private, no-store')
      expect(dataOnB.headers.get('content-type')).toMatch(/^application\/json/)
      const pageOnB = await cachedOn(b, `/blog/${slug}`)
      expect(pageOnB.id).toBe(page.id)
      expect(pageOnB.headers.get('content-type')).toMatch(/^text\/html/)
      // Which nodes the client asks for changes the body: another entry.
      const partial = await fetchPage(b, `/blog/${slug}/__data.json?x-sveltekit-invalidated=01`)
      expect(partial.cache).toBe('MISS')

      // One path purge on A re-renders both on B.
      upstream.setPosts({ version: 'd2', title: 'data purged' })
      expect((await purge(a, { paths: [`/blog/${slug}`] })).status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, `/blog/${slug}/__data.json`)).version === 'd2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      await waitFor(async () => ((await fetchPage(b, `/blog/${slug}`)).version === 'd2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    }, TEST_TIMEOUT)

    it('50 concurrent requests on a stale page across both instances: all served stale at once, exactly one render', async () => {
      await stampedeRendersOnce(scenario(), '/stampede', 'stampede')
    }, TEST_TIMEOUT)

    it('tag and path purges on A (endpoint and form action) are honoured on B; bad input is a 4xx', async () => {
      const paths = [1, 2, 3, 4].map((n) => `/blog/${RUN}-tags-${n}`)
      upstream.setPosts({ version: 't1', title: 'tags' })
      const firsts = []
      for (const path of paths) {
        expect((await fetchPage(a, path)).cache).toBe('MISS')
        firsts.push(await cachedOn(b, path))
      }
      upstream.setPosts({ version: 't2', title: 'tags purged' })
      // The page's own Cache-Tag (setHeaders in load).
      expect((await purge(a, { tags: [`post-${RUN}-tags-1`] })).status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, paths[0]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect((await fetchPage(b, paths[1]!)).id).toBe(firsts[1]!.id)
      // A path, query form.
      const byPath = await fetch(`${a.url}/api/revalidate?path=${encodeURIComponent(paths[1]!)}`, { method: 'POST', headers: { 'x-isr-cache-secret': SECRET, 'content-type': 'application/json' } })
      expect(byPath.status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, paths[1]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      // A form action on A purging with the core (cache.revalidatePath).
      const action = await fetch(`${a.url}${paths[2]}?/purge`, { method: 'POST', headers: { origin: a.url, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: '' })
      expect(action.status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, paths[2]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect((await fetchPage(b, paths[3]!)).id).toBe(firsts[3]!.id)
      // The route rule's tag, soft: served stale at once on B, then regenerated.
      expect((await purge(a, { tags: ['posts'], expire: 60 })).status).toBe(200)
      const stale = await waitFor(async () => {
        const page = await fetchPage(b, paths[3]!)
        return page.cache === 'STALE' ? page : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect(stale.id).toBe(firsts[3]!.id)
      await waitFor(async () => ((await fetchPage(b, paths[3]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })

      // Bad input: 4xx (JSON), never a 500.
      const denied = await fetch(`${a.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}x`, 'content-type': 'application/json' }, body: '{"tags":["posts"]}' })
      expect(denied.status).toBe(401)
      const malformed = await fetch(`${a.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: '{"tags":' })
      expect(malformed.status).toBe(400)
      const get = await fetch(`${a.url}/api/revalidate`)
      expect(get.status).toBe(405)
      expect(get.headers.get('content-type')).toMatch(/json/)
      for (const nasty of ['/blog/%00', '/blog/%E0%A4%A', `/blog/${'a'.repeat(5000)}`, '/blog/x/__data.json?x-sveltekit-invalidated=zz']) {
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
      expect(miss.body).toContain('data-cookie="none"')
      expect(miss.body).not.toContain('visitor-secret')
      for (const server of [a, b]) {
        const cached = await cachedOn(server, '/cookie', { headers: { cookie: `${cookie}-2` } })
        expect(cached.id).toBe(miss.id)
        expect(cached.headers.get('set-cookie')).toBeNull()
        expect(cached.body).not.toContain('visitor-secret')
        const data = await cachedOn(server, '/cookie/__data.json', { headers: { cookie } })
        expect(data.headers.get('set-cookie')).toBeNull()
        expect(data.body).not.toContain('visitor-secret')
        expect(data.body).toContain('"none"')
      }
      // The other way: a page without a rule that opts in from its load is not stored from a render that saw cookies.
      const withCookie = await fetchPage(a, '/opt-in', { headers: { cookie } })
      expect(withCookie.cache).toBe('MISS')
      expect((await fetchPage(a, '/opt-in', { headers: { cookie } })).cache).toBe('MISS')
      const anonymous = await fetchPage(a, '/opt-in')
      const opted = anonymous.cache === 'MISS' ? await cachedOn(b, '/opt-in') : anonymous
      expect(opted.headers.get('cache-control')).toBe('s-maxage=3600')
      // The withIsr endpoint: cached, cookie-less, no Set-Cookie.
      const api = await fetchPage(a, '/api/time', { headers: { cookie } })
      const apiOnB = await cachedOn(b, '/api/time', { headers: { cookie } })
      expect(apiOnB.id).toBe(api.id)
      expect(apiOnB.headers.get('content-type')).toMatch(/^application\/json/)
      expect(apiOnB.headers.get('set-cookie')).toBeNull()
    }, TEST_TIMEOUT)

    it('a streamed page: the MISS streams (shell first, while the late part is held); the cache gets the whole answer', async () => {
      upstream.closeGate('stream')
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
      try {
        const response = await fetch(`${a.url}/stream`, { signal: AbortSignal.timeout(30_000) })
        expect(response.headers.get('x-isr-cache')).toBe('MISS')
        reader = response.body!.getReader()
        let received = ''
        while (!received.includes('data-chunk="waiting"')) {
          const { done, value } = await reader.read()
          expect(done, 'the body ended before its shell').toBe(false)
          received += new TextDecoder().decode(value)
        }
        await waitFor(async () => (upstream.waiting('stream') === 1 ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 20 })
        expect(received).not.toContain('late part of')
        upstream.openGate('stream')
        for (let next = await reader.read(); !next.done; next = await reader.read()) received += new TextDecoder().decode(next.value)
        expect(received).toContain('late part of')
        const cached = await cachedOn(b, '/stream')
        expect(cached.body).toBe(received)
      } finally {
        upstream.openGate('stream')
        await reader?.cancel().catch(() => {})
      }
    }, TEST_TIMEOUT)

    it('a load that throws while regenerating: the page and its __data.json keep their last good render', async () => {
      const path = `/blog/${RUN}-fail`
      upstream.setPosts({ version: 'e1', title: 'before the outage' })
      expect((await fetchPage(a, path)).cache).toBe('MISS')
      expect((await fetchPage(a, `${path}/__data.json`)).cache).toBe('MISS')
      const page = await cachedOn(b, path)
      const data = await cachedOn(b, `${path}/__data.json`)
      upstream.setPosts({ error: 'CMS down' })
      const before = upstream.renders(path)
      expect((await purge(a, { paths: [path], expire: 3600 })).status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, path)).cache === 'STALE' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      await waitFor(async () => ((await fetchPage(b, `${path}/__data.json`)).cache === 'STALE' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      // Both regenerations ran (and failed); what either instance serves for a while after is the last good render.
      await waitFor(async () => (upstream.renders(path) - before >= 2 ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 20 })
      for (let i = 0; i < 10; i++) {
        for (const server of [a, b]) {
          const [again, againData] = await Promise.all([fetchPage(server, path), fetchPage(server, `${path}/__data.json`)])
          expect([again.status, again.id, again.version]).toEqual([200, page.id, 'e1'])
          expect([againData.status, againData.id, againData.version]).toEqual([200, data.id, 'e1'])
          expect(againData.body).not.toContain('"type":"error"')
        }
        await sleep(50)
      }
      upstream.setPosts({ version: 'e2', title: 'after the outage' })
      expect((await purge(a, { paths: [path] })).status).toBe(200)
      await waitFor(async () => ((await fetchPage(b, `${path}/__data.json`)).version === 'e2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    }, TEST_TIMEOUT)

    it('the bypass token renders fresh and replaces the entry; a wrong one is ignored', async () => {
      const path = `/blog/${RUN}-bypass`
      const miss = await fetchPage(a, path)
      expect(miss.cache).toBe('MISS')
      const wrong = await fetchPage(a, path, { headers: { 'x-isr-cache-bypass': `${BYPASS}0` } })
      expect([wrong.cache, wrong.id]).toEqual(['HIT', miss.id])
      const bypass = await fetchPage(a, path, { headers: { 'x-isr-cache-bypass': BYPASS } })
      expect(bypass.cache).toBe('BYPASS')
      expect(bypass.id).not.toBe(miss.id)
      const replaced = await waitFor(async () => {
        const page = await fetchPage(b, path)
        return page.id === bypass.id ? page : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect(replaced.cache).toBe('HIT')
      // Headers of the adapter's own, sent by a visitor, change nothing: the internal marker (a process
      // secret) does not skip the cache, the data header does not make a page answer from its data entry.
      const forged = await fetchPage(b, path, { headers: { 'x-isr-cache-internal': BYPASS } })
      expect([forged.cache, forged.id]).toEqual(['HIT', bypass.id])
      await cachedOn(b, `${path}/__data.json`)
      const asData = await fetchPage(b, path, { headers: { 'x-isr-cache-sveltekit-data': 'data;;' } })
      expect([asData.cache, asData.id, asData.headers.get('content-type')]).toEqual(['HIT', bypass.id, 'text/html'])
      // Kit answers If-None-Match after handle returns; the cache answers it first, once.
      const etag = replaced.headers.get('etag')
      expect(etag).toBeTruthy()
      const notModified = await fetch(`${b.url}${path}`, { headers: { 'if-none-match': etag! } })
      expect([notModified.status, await notModified.text()]).toEqual([304, ''])
    }, TEST_TIMEOUT)

    it.runIf(chromiumAvailable)(
      'a real browser: a cached page on B, client-side navigation to another cached page, no console error, no hydration warning',
      async () => {
        upstream.setPosts({ version: 'b1', title: 'browser' })
        await purge(a, { tags: ['posts'] })
        const browser = await launchChromium()
        /** Opens /blog/hello on `server` and navigates client-side to /blog/world; returns the __data.json answer. */
        async function navigate(server: NextServer) {
          const page = await browser.newPage()
          const { problems, documents } = watchPage(page, { failedResponses: false })
          const first = await page.goto(`${server.url}/blog/hello`)
          await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 })
          const [data] = await Promise.all([page.waitForResponse((response) => response.url().includes('/blog/world/__data.json'), { timeout: 20_000 }), page.click('#to-world')])
          expect(data.status()).toBe(200)
          await page.waitForSelector('h1[data-slug="world"]', { timeout: 20_000 })
          expect(await page.getAttribute('[data-version]', 'data-version')).toBe('b1')
          expect(documents, 'the navigation was client-side: one document load').toEqual([`${server.url}/blog/hello`])
          expect(problems).toEqual([])
          await page.close()
          return { document: first?.headers()['x-isr-cache'], data: data.headers()['x-isr-cache'], dataUrl: new URL(data.url()) }
        }
        try {
          // On A: the page and the data request the client makes (its exact URL) are rendered and stored.
          const onA = await navigate(a)
          expect([onA.document, onA.data]).toEqual(['MISS', 'MISS'])
          await cachedOn(b, `${onA.dataUrl.pathname}${onA.dataUrl.search}`)
          // On B: both from the cache, and the app hydrates and navigates cleanly.
          const onB = await navigate(b)
          expect(['HIT', 'STALE']).toContain(onB.document)
          expect(['HIT', 'STALE']).toContain(onB.data)
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
      const path = `/blog/${RUN}-down`
      expect((await fetchPage(c, path)).cache).toBe('MISS')
      await cachedOn(d, path)

      await redis.stop()
      for (let i = 0; i < 4; i++) {
        for (const server of [c, d]) {
          expect((await fetchPage(server, path)).status).toBe(200)
          const fresh = await fetchPage(server, `/blog/${RUN}-down-${i}`)
          expect([fresh.status, fresh.version]).toEqual([200, 'r1'])
          expect((await fetchPage(server, `/blog/${RUN}-down-${i}/__data.json`)).status).toBe(200)
        }
      }
      await redis.start()
      let attempt = 0
      await waitFor(async () => {
        attempt += 1
        const fresh = `/blog/${RUN}-back-${attempt}`
        const first = await fetchPage(c, fresh)
        expect(first.status).toBe(200)
        await sleep(100) // let C's write land before D looks (a miss on D just renders: the loop tries again)
        const second = await fetchPage(d, fresh)
        expect(second.status).toBe(200)
        return second.cache === 'HIT' && second.id === first.id ? true : undefined
      }, { timeoutMs: 30_000, intervalMs: 200 })

      // adapter-node waits for open handles on SIGTERM: the adapter closes the cache on sveltekit:shutdown.
      const started = performance.now()
      await d.stop(8000)
      expect(performance.now() - started, 'node build exited on SIGTERM without being killed').toBeLessThan(7000)
    }, 90_000)
  })
}

for (const fixture of [kit2, kit3]) {
  twoInstances(fixture)
  redisStopped(fixture)
}

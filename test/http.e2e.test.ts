/**
 * End to end: examples/hono (Hono 4 on @hono/node-server, isr-cache installed from a tarball of this
 * checkout) run as two instances on loopback that share the real Redis (a unique key prefix per run, dropped
 * afterwards), with the loopback upstream the pages read and report their renders to. What a test reads is
 * HTTP: `x-isr-cache`, headers, and the render id / content version every page prints. Renders a test must
 * hold in the middle wait at an upstream gate, so ordering is asserted by events, never by timing.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exampleDirs, installExample, packLibrary, startServer, type NextServer } from '../examples/next/tooling/prepare.mjs'
import { startUpstream, type Upstream } from '../examples/next/tooling/upstream.mjs'
import { sleep, waitFor } from './support/next-app.js'
import { missHitStaleHit, stampedeRendersOnce } from './support/scenarios.js'
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
const log = (line: string) => console.log(`[http e2e] ${line}`)

let prepared: Promise<void> | undefined
/** Pack + install once per test process (reused while package.json, lockfile and tarball are unchanged). */
function prepare(): Promise<void> {
  prepared ??= (async () => {
    const library = await packLibrary({ log })
    await installExample(exampleDirs.hono, library, { log, sentinel: 'hono' })
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

async function readPage(response: Response): Promise<Page> {
  const body = await response.text()
  return {
    status: response.status,
    cache: response.headers.get('x-isr-cache'),
    id: /data-render-id>([0-9a-f]+)</.exec(body)?.[1],
    version: /data-version>([^<]*)</.exec(body)?.[1],
    body,
    headers: response.headers,
  }
}

async function startInstance(name: string, upstream: Upstream, store: string, prefix: string): Promise<NextServer> {
  const port = await freePort()
  return startServer(exampleDirs.hono, {
    args: ['server.mjs'],
    port,
    ready: /listening on/,
    name,
    log,
    env: {
      PORT: String(port),
      UPSTREAM_URL: upstream.url,
      ISR_CACHE_STORE: store,
      ISR_CACHE_PREFIX: prefix,
      ISR_CACHE_SECRET: SECRET,
      ISR_CACHE_BYPASS_TOKEN: BYPASS,
      REVALIDATE: String(REVALIDATE),
      NODE_ENV: 'production',
    },
  })
}

const fetchPage = async (server: NextServer, path: string, init: RequestInit = {}) =>
  readPage(await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) }))

const purge = (server: NextServer, body: unknown) =>
  fetch(`${server.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe.runIf(redisAvailable)('examples/hono: two instances on the shared Redis', () => {
  const prefix = uniquePrefix('http-e2e')
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

  it('MISS → HIT (on the other instance too) → STALE → HIT with the new content', async () => {
    await missHitStaleHit({ a, b, upstream, fetchPage, purge, propagationMs: PROPAGATION_MS }, '/isr', REVALIDATE)
    expect(Number((await fetchPage(b, '/isr')).headers.get('age'))).toBeGreaterThanOrEqual(0)
  }, TEST_TIMEOUT)

  it('50 concurrent requests on a stale page across both instances: all served stale at once, exactly one render', async () => {
    await stampedeRendersOnce({ a, b, upstream, fetchPage, purge, propagationMs: PROPAGATION_MS }, '/stampede', 'stampede')
  }, TEST_TIMEOUT)

  it('tag and path purges through the endpoint on A are honoured on B', async () => {
    const slug = `${RUN}-tags`
    upstream.setPosts({ version: 't1', title: 'tags' })
    const paths = [`/tagged/${slug}-1`, `/tagged/${slug}-2`, `/tagged/${slug}-3`]
    const firsts = []
    for (const path of paths) {
      const page = await fetchPage(a, path)
      expect(page.cache).toBe('MISS')
      firsts.push(page)
      await waitFor(async () => ((await fetchPage(b, path)).cache === 'HIT' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    }
    upstream.setPosts({ version: 't2', title: 'tags purged' })
    // The Cache-Tag of one page (JSON form).
    const byCacheTag = await purge(a, { tags: [`post-${slug}-1`] })
    expect(await byCacheTag.json()).toMatchObject({ revalidated: true, tags: [`post-${slug}-1`], paths: [] })
    await waitFor(async () => ((await fetchPage(b, paths[0]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    expect((await fetchPage(b, paths[1]!)).id).toBe(firsts[1]!.id)
    // A path (query form, the secret in a header).
    const byPath = await fetch(`${a.url}/api/revalidate?path=${encodeURIComponent(paths[1]!)}`, { method: 'POST', headers: { 'x-isr-cache-secret': SECRET } })
    expect(byPath.status).toBe(200)
    await waitFor(async () => ((await fetchPage(b, paths[1]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    expect((await fetchPage(b, paths[2]!)).id).toBe(firsts[2]!.id)
    // The route rule's tag, soft: served stale at once on B, then regenerated.
    expect((await purge(a, { tags: ['posts'], expire: 60 })).status).toBe(200)
    const stale = await waitFor(async () => {
      const page = await fetchPage(b, paths[2]!)
      return page.cache === 'STALE' ? page : undefined
    }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    expect(stale.id).toBe(firsts[2]!.id)
    await waitFor(async () => ((await fetchPage(b, paths[2]!)).version === 't2' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    // A wrong secret purges nothing.
    const denied = await fetch(`${a.url}/api/revalidate?tag=posts&secret=${SECRET}x`, { method: 'POST' })
    expect(denied.status).toBe(401)
  }, TEST_TIMEOUT)

  it("a visitor's cookie never reaches a cached page, and Set-Cookie is never replayed", async () => {
    const cookie = `session=visitor-secret-${RUN}`
    await purge(a, { paths: ['/cookie'] })
    const miss = await waitFor(async () => {
      const page = await fetchPage(a, '/cookie', { headers: { cookie } })
      return page.cache === 'MISS' ? page : undefined
    }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    expect(miss.headers.get('set-cookie')).toMatch(/^visitor=/)
    expect(miss.body).toContain('<code data-cookie>none</code>')
    expect(miss.body).not.toContain('visitor-secret')
    for (const server of [a, b]) {
      const cached = await waitFor(async () => {
        const page = await fetchPage(server, '/cookie', { headers: { cookie: `${cookie}-2` } })
        return page.cache === 'HIT' || page.cache === 'STALE' ? page : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect(cached.headers.get('set-cookie')).toBeNull()
      expect(cached.body).not.toContain('visitor-secret')
      expect(cached.body).toContain('<code data-cookie>none</code>')
    }
  }, TEST_TIMEOUT)

  it('allowQuery: only q makes another entry; utm_source and fbclid do not', async () => {
    const q = `${RUN}-q`
    const miss = await fetchPage(a, `/search?q=${q}&utm_source=newsletter`)
    expect(miss.cache).toBe('MISS')
    expect(miss.body).toContain(`<q data-q>${q}</q>`)
    const same = await waitFor(async () => {
      const page = await fetchPage(b, `/search?fbclid=abc&q=${q}`)
      return page.cache === 'HIT' || page.cache === 'STALE' ? page : undefined
    }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
    expect(same.id).toBe(miss.id)
    const other = await fetchPage(a, `/search?q=${q}-other&utm_source=newsletter`)
    expect(other.cache).toBe('MISS')
    expect(other.id).not.toBe(miss.id)
  }, TEST_TIMEOUT)

  it('bypass token replaces the entry; HEAD from the GET entry; If-None-Match → 304', async () => {
    const path = `/tagged/${RUN}-bypass`
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

    const head = await fetch(`${b.url}${path}`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('x-isr-cache')).toBe('HIT')
    expect(Number(head.headers.get('content-length'))).toBe(Buffer.byteLength(replaced.body))
    expect(await head.text()).toBe('')

    const etag = replaced.headers.get('etag')
    expect(etag).toBeTruthy()
    const notModified = await fetch(`${a.url}${path}`, { headers: { 'if-none-match': etag! } })
    expect(notModified.status).toBe(304)
    expect(notModified.headers.get('etag')).toBe(etag)
    expect(await notModified.text()).toBe('')
  }, TEST_TIMEOUT)

  it('a MISS streams: the first chunk arrives while the render is still held; the cache gets the whole body', async () => {
    const id = `${RUN}s`
    upstream.closeGate(`stream-${id}`)
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
    try {
      const response = await fetch(`${a.url}/stream/${id}`, { signal: AbortSignal.timeout(30_000) })
      expect(response.headers.get('x-isr-cache')).toBe('MISS')
      reader = response.body!.getReader()
      let received = ''
      while (!received.includes('first chunk')) {
        const { done, value } = await reader.read()
        expect(done, 'the body ended before its first chunk').toBe(false)
        received += new TextDecoder().decode(value)
      }
      // The render is still in progress: it reaches the gate (after sending the first chunk) and waits there;
      // the last chunk cannot have been rendered.
      await waitFor(async () => (upstream.waiting(`stream-${id}`) === 1 ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 20 })
      expect(received).not.toContain('last chunk')
      upstream.openGate(`stream-${id}`)
      for (let next = await reader.read(); !next.done; next = await reader.read()) received += new TextDecoder().decode(next.value)
      expect(received).toContain('last chunk')
      const cached = await waitFor(async () => {
        const page = await fetchPage(b, `/stream/${id}`)
        return page.cache === 'HIT' || page.cache === 'STALE' ? page : undefined
      }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
      expect(cached.body).toBe(received)
    } finally {
      upstream.openGate(`stream-${id}`)
      await reader?.cancel().catch(() => {})
    }
  }, TEST_TIMEOUT)

  it('routes with a false rule are never cached', async () => {
    const one = await fetchPage(a, '/admin/panel')
    const two = await fetchPage(a, '/admin/panel')
    expect(one.cache).toBeNull()
    expect(one.id).not.toBe(two.id)
  })
})

describe.runIf(redisServerAvailable)('examples/hono with its Redis stopped', () => {
  let redis: PrivateRedis
  let upstream: Upstream
  let c: NextServer
  let d: NextServer

  beforeAll(async () => {
    await prepare()
    redis = await startPrivateRedis()
    upstream = await startUpstream({ posts: { version: 'r1', title: 'redis' } })
    ;[c, d] = await Promise.all([startInstance('C', upstream, redis.url, 'http-e2e-down'), startInstance('D', upstream, redis.url, 'http-e2e-down')])
  }, PREPARE_TIMEOUT)

  afterAll(async () => {
    await Promise.all([c?.stop(), d?.stop()])
    await upstream?.close()
    await redis?.close()
  })

  it('every request still gets its page (200, no hang); caching through the store resumes once Redis is back', async () => {
    const path = `/tagged/${RUN}-down`
    expect((await fetchPage(c, path)).cache).toBe('MISS')
    await waitFor(async () => ((await fetchPage(d, path)).cache === 'HIT' ? true : undefined), { timeoutMs: PROPAGATION_MS, intervalMs: 50 })

    await redis.stop()
    for (let i = 0; i < 6; i++) {
      for (const server of [c, d]) {
        const known = await fetchPage(server, path)
        expect(known.status).toBe(200)
        const fresh = await fetchPage(server, `/tagged/${RUN}-down-${i}`)
        expect([fresh.status, fresh.version]).toEqual([200, 'r1'])
      }
    }
    const purged = await purge(c, { tags: ['posts'] })
    expect([purged.status, await purged.json()]).toEqual([503, expect.objectContaining({ revalidated: false })])

    await redis.start()
    // Caching resumes: a page rendered on C after Redis is back is served by D from the store.
    let attempt = 0
    await waitFor(async () => {
      attempt += 1
      const fresh = `/tagged/${RUN}-back-${attempt}`
      const first = await fetchPage(c, fresh)
      expect(first.status).toBe(200)
      await sleep(100) // let C's write land before D looks (a miss on D just renders: the loop tries again)
      const second = await fetchPage(d, fresh)
      expect(second.status).toBe(200)
      return second.cache === 'HIT' && second.id === first.id ? true : undefined
    }, { timeoutMs: 30_000, intervalMs: 200 })
  }, 90_000)
})

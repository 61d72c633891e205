/**
 * End to end: examples/nitro3, a minimal plain Nitro 3 app (nitro 3.0.260903-beta, h3 v2, Node 20) with
 * `modules: ['isr-cache/nitro']` (the module sees Nitro 3 by `nitro.meta.majorVersion` and registers its
 * Nitro 3 runtime files), isr-cache installed from a tarball of this checkout, built once per run; two
 * instances on loopback sharing the real Redis (a unique key prefix per run, dropped afterwards).
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { NextServer } from '../examples/next/tooling/prepare.mjs'
import { prepareNitro3, startNitro3 } from '../examples/nuxt/tooling/app.mjs'
import { preparedOnce } from './support/fixtures.js'
import { waitFor } from './support/next-app.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'
import { freePort } from './support/redis-server.js'

const PREPARE_TIMEOUT = 10 * 60_000
const TEST_TIMEOUT = 60_000
const SECRET = randomBytes(16).toString('hex')
const RUN = Date.now().toString(36)
const PROPAGATION_MS = 10_000
const log = (line: string) => console.log(`[nitro3 e2e] ${line}`)
const prepare = preparedOnce('Nitro 3', () => prepareNitro3({ log }), log)

interface Page {
  status: number
  cache: string | null
  id: string | undefined
  body: string
  headers: Headers
}

async function fetchPage(server: NextServer, path: string, init: RequestInit = {}): Promise<Page> {
  const response = await fetch(`${server.url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) })
  const body = await response.text()
  const id = body.startsWith('{') ? (JSON.parse(body) as { id?: string }).id : /id="render-id">([a-z0-9]+)</.exec(body)?.[1]
  return { status: response.status, cache: response.headers.get('x-isr-cache'), id, body, headers: response.headers }
}

const purge = (server: NextServer, body: unknown, secret = SECRET) =>
  fetch(`${server.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** Polls `path` on `server` until `accept(page)`. */
const until = (server: NextServer, path: string, accept: (page: Page) => boolean, init: RequestInit = {}) =>
  waitFor(async () => {
    const page = await fetchPage(server, path, init)
    return accept(page) ? page : undefined
  }, { timeoutMs: PROPAGATION_MS, intervalMs: 50 })
const cachedOn = (server: NextServer, path: string, init: RequestInit = {}) => until(server, path, (page) => page.cache === 'HIT' || page.cache === 'STALE', init)

describe.runIf(redisAvailable)('examples/nitro3: a plain Nitro 3 (h3 v2) app with isr-cache/nitro, two instances on the shared Redis', () => {
  const prefix = uniquePrefix('nitro3-e2e')
  let a: NextServer
  let b: NextServer

  beforeAll(async () => {
    await prepare()
    const env = { NITRO_ISR_CACHE_STORE: REDIS_URL, NITRO_ISR_CACHE_PREFIX: prefix, NITRO_ISR_CACHE_SECRET: SECRET }
    ;[a, b] = await Promise.all([startNitro3({ port: await freePort(), name: 'nitro3-A', log, env }), startNitro3({ port: await freePort(), name: 'nitro3-B', log, env })])
  }, PREPARE_TIMEOUT)

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
    await dropPrefix(prefix)
  })

  it('the isr rule: MISS on A, HIT on B; cookies neither reach the render nor are replayed; the query outside allowQuery is ignored', async () => {
    expect(a.output()).toContain('[isr-cache] store: redis://127.0.0.1')
    const miss = await fetchPage(a, '/', { headers: { cookie: 'session=nitro3-secret' } })
    expect([miss.status, miss.cache]).toEqual([200, 'MISS'])
    expect(miss.body).toContain('id="session">none<')
    const hit = await cachedOn(b, '/', { headers: { cookie: 'session=other' } })
    expect(hit.id).toBe(miss.id)
    expect(hit.headers.get('content-type')).toMatch(/^text\/html/)
    expect(hit.headers.get('set-cookie')).toBeNull()
    expect(hit.body).not.toContain('secret')
    const post = await fetchPage(a, `/blog/${RUN}?page=2&utm_source=mail`)
    expect(post.cache).toBe('MISS')
    expect(JSON.parse(post.body)).toMatchObject({ slug: RUN, page: '2', utm: null })
    const same = await cachedOn(b, `/blog/${RUN}?utm_source=other&page=2`)
    expect(same.id).toBe(post.id)
    expect(same.headers.get('cache-tag'), 'Cache-Tag is addressed to the cache, not sent').toBeNull()
    expect((await fetchPage(b, `/blog/${RUN}?page=3`)).cache).toBe('MISS')
  }, TEST_TIMEOUT)

  it('purges on A (the Cache-Tag, the rule tag, a path) are seen on B; a wrong secret is a 401, bad JSON a 400', async () => {
    const post = await cachedOn(b, `/blog/${RUN}?page=2`)
    expect((await purge(a, { tags: [`post:${RUN}`] })).status).toBe(200)
    const renewed = await until(b, `/blog/${RUN}?page=2`, (page) => page.id !== post.id)
    await cachedOn(b, `/blog/${RUN}?page=2`)
    expect((await purge(a, { tags: ['posts'] })).status).toBe(200)
    await until(b, `/blog/${RUN}?page=2`, (page) => page.id !== renewed.id)
    const home = await cachedOn(b, '/')
    expect((await purge(a, { paths: ['/'] })).status).toBe(200)
    const after = await until(b, '/', (page) => page.id !== home.id)
    expect(after.status).toBe(200)
    expect((await purge(a, { tags: ['posts'] }, `${SECRET}x`)).status).toBe(401)
    const malformed = await fetch(`${a.url}/api/revalidate`, { method: 'POST', headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' }, body: '{"tags":' })
    expect(malformed.status).toBe(400)
    for (const nasty of ['/blog/%00', '/blog/%E0%A4%A', `/blog/${'a'.repeat(5000)}`, '/blog/x?%zz', '//blog/x']) {
      const answer = await fetch(`${a.url}${nasty}`)
      expect(answer.status, nasty.slice(0, 40)).toBeLessThan(500)
      await answer.arrayBuffer()
    }
  }, TEST_TIMEOUT)

  it('useIsrCache() imported from isr-cache/nitro in an app route on B purges for A too', async () => {
    const post = await cachedOn(a, `/blog/${RUN}-own`)
    const own = (secret: string) =>
      fetch(`${b.url}/api/purge`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ tag: `post:${RUN}-own` }) })
    expect((await own('nope')).status).toBe(401)
    expect((await fetchPage(a, `/blog/${RUN}-own`)).id).toBe(post.id)
    expect((await own(SECRET)).status).toBe(200)
    await until(a, `/blog/${RUN}-own`, (page) => page.id !== post.id)
  }, TEST_TIMEOUT)
})

/**
 * createRevalidationHandler: every status of the contract, and a fuzz of methods, headers, bodies and
 * secrets: only the allowed statuses ever come back, and no purge happens without the right secret.
 * On the real in-memory store, and on a real Redis that is then stopped (503, the purge did not happen).
 */
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCache, type IsrCacheEvent } from '../src/index.js'
import { createRevalidationHandler } from '../src/http/index.js'
import { redisServerAvailable, startPrivateRedis, type PrivateRedis } from './support/redis-server.js'

const SECRET = 'a-secret-of-32-characters-length'
const ENDPOINT = 'http://app.test/api/revalidate'

function setup() {
  const purges: Array<Extract<IsrCacheEvent, { type: 'purge' }>> = []
  const cache = createIsrCache({ onEvent: (event) => void (event.type === 'purge' && purges.push(event)) })
  return { cache, purges, revalidate: createRevalidationHandler({ cache, secret: SECRET }) }
}

const post = (query = '', init: RequestInit = {}) => new Request(`${ENDPOINT}${query}`, { method: 'POST', ...init })
const jsonPost = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${SECRET}` }) =>
  post('', { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })

describe('createRevalidationHandler', () => {
  it('refuses to exist without a secret of at least 16 characters', () => {
    const cache = createIsrCache()
    expect(() => createRevalidationHandler({ cache, secret: undefined })).toThrow(/at least 16 characters/)
    expect(() => createRevalidationHandler({ cache, secret: 'short-secret-15' })).toThrow(/at least 16 characters/)
    expect(() => createRevalidationHandler({ cache, secret: 'x'.repeat(16) })).not.toThrow()
    void cache.close()
  })

  it('purges tags and paths from a JSON body: hard without expire, soft with it', async () => {
    const { cache, purges, revalidate } = setup()
    await cache.set('/blog/a', 'a', { path: '/blog/a', tags: ['posts'] })
    const response = await revalidate(jsonPost({ tags: ['posts', 'posts'], paths: ['/blog/a'] }))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    const body = (await response.json()) as { revalidated: boolean; tags: string[]; paths: string[]; now: number }
    expect(body).toMatchObject({ revalidated: true, tags: ['posts'], paths: ['/blog/a'] })
    expect(typeof body.now).toBe('number')
    expect(purges.map((p) => p.expire)).toEqual([0, 0])
    expect(await cache.get('/blog/a')).toBeUndefined()

    await cache.set('/blog/b', 'b', { path: '/blog/b' })
    expect((await revalidate(jsonPost({ paths: ['/blog'], type: 'layout', expire: 60 }))).status).toBe(200)
    expect(purges.at(-1)!.expire).toBe(60)
    expect((await cache.get('/blog/b'))?.status).toBe('stale')
    await cache.close()
  })

  it('the query form, with each form of the secret', async () => {
    const { cache, purges, revalidate } = setup()
    for (const [query, headers] of [
      [`?tag=a&tag=b&secret=${SECRET}`, {}],
      ['?path=/x&type=page&expire=5', { 'x-isr-cache-secret': SECRET }],
      ['?tag=c', { authorization: `bearer ${SECRET}` }],
    ] as const) {
      const response = await revalidate(post(query, { headers }))
      expect(response.status, query).toBe(200)
    }
    expect(purges.map((p) => p.tags.length)).toEqual([2, 1, 1])
    expect(purges[1]!.expire).toBe(5)
    await cache.close()
  })

  it.each([
    ['GET', () => new Request(`${ENDPOINT}?tag=a&secret=${SECRET}`), 405],
    ['no secret', () => post('?tag=a'), 401],
    ['a wrong secret', () => post('?tag=a', { headers: { 'x-isr-cache-secret': `${SECRET}x` } }), 401],
    ['nothing to purge', () => jsonPost({}), 400],
    ['tags not an array of strings', () => jsonPost({ tags: [1] }), 400],
    ['tags a string, not an array', () => jsonPost({ tags: 'posts' }), 400],
    ['an expire that is a string in JSON', () => jsonPost({ tags: ['a'], expire: '60' }), 400],
    ['an empty tag', () => jsonPost({ tags: [''] }), 400],
    ['a path without a leading slash', () => jsonPost({ paths: ['blog'] }), 400],
    ['a path with a query', () => jsonPost({ paths: ['/blog?x=1'] }), 400],
    ['a bad type', () => jsonPost({ paths: ['/'], type: 'all' }), 400],
    ['a negative expire', () => jsonPost({ tags: ['a'], expire: -1 }), 400],
    ['a bad query expire', () => post(`?tag=a&expire=soon&secret=${SECRET}`), 400],
    ['invalid JSON', () => jsonPost('{"tags":'), 400],
    ['a JSON array', () => jsonPost('["a"]'), 400],
    ['a body over 64 KiB', () => jsonPost({ tags: ['a'], pad: 'x'.repeat(70_000) }), 413],
    ['form encoding', () => post(`?secret=${SECRET}`, { body: 'tag=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415],
  ])('%s → %i, as JSON, no purge', async (_name, request, status) => {
    const { cache, purges, revalidate } = setup()
    const response = await revalidate(request())
    expect(response.status).toBe(status)
    const body = (await response.json()) as { revalidated: boolean; field?: string }
    expect(body.revalidated).toBe(false)
    if (status === 400) expect(typeof body.field).toBe('string')
    if (status === 405) expect(response.headers.get('allow')).toBe('POST')
    expect(purges).toEqual([])
    await cache.close()
  })

  it('names the bad field', async () => {
    const { cache, revalidate } = setup()
    expect(await (await revalidate(jsonPost({ tags: ['ok'], paths: [3] }))).json()).toMatchObject({ field: 'paths' })
    expect(await (await revalidate(jsonPost({ tags: ['ok'], expire: 'x' }))).json()).toMatchObject({ field: 'expire' })
    await cache.close()
  })

  it('fuzz: only the allowed statuses, never a purge without the right secret, never a 500', async () => {
    const { cache, purges, revalidate } = setup()
    const secretArb = fc.oneof(fc.constant(SECRET), fc.string({ maxLength: 40 }), fc.constant(SECRET.slice(0, -1)), fc.constant(`${SECRET} `))
    const where = fc.constantFrom('bearer', 'header', 'query', 'none')
    const bodyArb = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc.record({ tags: fc.anything(), paths: fc.anything(), type: fc.anything(), expire: fc.anything() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
      fc.record({ tags: fc.array(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 3 }), paths: fc.array(fc.string({ maxLength: 10 }).map((s) => `/${s}`), { maxLength: 3 }) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    )
    const contentType = fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/merge-patch+json', 'application/json; charset=utf-8')
    const method = fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD')
    const queryArb = fc.oneof(
      fc.array(fc.tuple(fc.constantFrom('tag', 'path', 'type', 'expire', 'other'), fc.string({ maxLength: 12 })), { maxLength: 4 }),
      fc.constant([['tag', 'posts']] as Array<[string, string]>),
    )
    let purged = 0
    await fc.assert(
      fc.asyncProperty(method, secretArb, where, bodyArb, contentType, queryArb, async (m, secret, at, body, type, query) => {
        const params = new URLSearchParams(query)
        if (at === 'query') params.append('secret', secret)
        const headers = new Headers()
        if (at === 'bearer') headers.set('authorization', `Bearer ${secret}`)
        // Header values cannot hold every string: those that a client could not send are skipped.
        if (at === 'header') {
          try {
            headers.set('x-isr-cache-secret', secret)
          } catch {
            return
          }
        }
        if (type !== undefined) headers.set('content-type', type)
        const hasBody = body !== undefined && m !== 'GET' && m !== 'HEAD'
        let request: Request
        try {
          request = new Request(`${ENDPOINT}?${params}`, { method: m, headers, ...(hasBody ? { body } : {}) })
        } catch {
          return
        }
        const before = purges.length
        const response = await revalidate(request)
        expect([200, 400, 401, 405, 413, 415, 503]).toContain(response.status)
        expect(response.headers.get('content-type')).toMatch(/^application\/json/)
        const json = (await response.json()) as { revalidated: boolean }
        // Header values reach the handler trimmed (as any HTTP client and server trim them); the query is exact.
        const authorized = at === 'query' ? secret === SECRET : at !== 'none' && secret.trim() === SECRET
        if (!authorized || m !== 'POST') {
          expect(purges.length).toBe(before)
          expect(json.revalidated).toBe(false)
          expect(response.status).not.toBe(200)
        }
        if (response.status === 200) {
          purged += 1
          expect(purges.length).toBeGreaterThan(before)
        } else {
          expect(purges.length).toBe(before)
        }
      }),
      { numRuns: 400 },
    )
    // The property saw authorized purges too, not only refusals.
    expect(purged).toBeGreaterThan(0)
    await cache.close()
  })
})

describe.runIf(redisServerAvailable)('createRevalidationHandler with the store down', () => {
  let redis: PrivateRedis | undefined
  afterAll(async () => {
    await redis?.close()
  })
  it('answers 503 { revalidated: false } (the purge did not happen), and 200 again once the store is back', async () => {
    redis = await startPrivateRedis()
    const cache: IsrCache = createIsrCache({ store: redis.url, prefix: `revalidate-${process.pid}`, onError: () => {}, writeTimeout: 0.5, circuitBreaker: false })
    const revalidate = createRevalidationHandler({ cache, secret: SECRET })
    /** Purges until one is acknowledged (the first needs the connection, which a loaded machine may take a while to open). */
    const acknowledged = async (): Promise<number> => {
      const giveUpAt = Date.now() + 15_000
      let status = 0
      while (status !== 200 && Date.now() < giveUpAt) {
        status = (await revalidate(jsonPost({ tags: ['a'] }))).status
        if (status !== 200) await new Promise((r) => setTimeout(r, 100))
      }
      return status
    }
    expect(await acknowledged()).toBe(200)
    await redis.stop()
    const down = await revalidate(jsonPost({ tags: ['a'] }))
    expect(down.status).toBe(503)
    expect(await down.json()).toMatchObject({ revalidated: false })
    await redis.start()
    expect(await acknowledged()).toBe(200)
    await cache.close()
  })
})

/**
 * End to end with real Next.js builds: examples/next (Next 16) and examples/next15 (Next 15.5), each with
 * isr-cache installed from a tarball of this checkout as its `cacheHandler` and `'use cache'` handler,
 * built once with `next build` and run as two `next start` instances on loopback that share the real Redis
 * (a unique key prefix per run, dropped afterwards). A loopback upstream serves the pages' data and counts
 * their renders. No mocks: what a test reads is the HTTP response (`x-nextjs-cache`, and the render id /
 * render time / content markers every page prints).
 *
 * The first run installs and builds (minutes on two cores); later runs reuse node_modules and .next while
 * the app's files and the packed library are unchanged (see examples/next/tooling/prepare.mjs).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium, watchPage } from './support/browser.js'
import {
  PROPAGATION_MS,
  describePage,
  prepareExample,
  sleep,
  sleepUntil,
  startCluster,
  waitFor,
  type Cluster,
  type ExampleName,
  type Instance,
  type Page,
  type PreparedExample,
} from './support/next-app.js'
import { REDIS_URL, dropPrefix, redisAvailable, uniquePrefix } from './support/redis.js'
import { freePort, redisServerAvailable, startPrivateRedis, type PrivateRedis } from './support/redis-server.js'

/** Pack + install + build of one app; a clean clone on a loaded two-core machine takes minutes. */
const PREPARE_TIMEOUT = 15 * 60_000
const TEST_TIMEOUT = 120_000
/** `revalidate` of /isr, /stampede, /api/time and /legacy, in ms. */
const REVALIDATE_MS = 5000
/** Unique paths per run (on-demand pages such as /blog/<slug>). */
const RUN = Date.now().toString(36)

function pair(cluster: Cluster): [Instance, Instance] {
  const [a, b] = cluster.instances
  if (a === undefined || b === undefined) throw new Error('the cluster has fewer than two instances')
  return [a, b]
}

/**
 * The hooks of a suite that runs an example as two instances on the shared Redis, under a key prefix of its
 * own (dropped afterwards). `ready` receives them once they listen.
 */
function onSharedRedis(name: ExampleName, ready: (app: PreparedExample, cluster: Cluster) => void): void {
  const prefix = uniquePrefix(name)
  let cluster: Cluster | undefined
  beforeAll(async () => {
    const app = await prepareExample(name)
    cluster = await startCluster(app, { store: REDIS_URL, prefix })
    ready(app, cluster)
  }, PREPARE_TIMEOUT)
  afterAll(async () => {
    await cluster?.stop()
    await dropPrefix(prefix)
  }, 60_000)
  printOutputOnFailure(() => cluster?.instances ?? [])
}

/** On failure, the end of what each server printed (Next logs handler errors there). */
function printOutputOnFailure(instances: () => Instance[]) {
  beforeEach((context) => {
    context.onTestFailed(() => {
      for (const instance of instances()) console.log(`----- ${instance.name} output (end) -----\n${instance.output().slice(-6000)}`)
    })
  })
}

function expectPage(page: Page, expected: { cache?: string | null; renderId?: string; content?: string; cachedId?: string }) {
  const context = describePage(page)
  expect(page.status, context).toBe(200)
  if ('cache' in expected) expect(page.cache, context).toBe(expected.cache)
  if (expected.renderId !== undefined) expect(page.renderId, context).toBe(expected.renderId)
  if (expected.content !== undefined) expect(page.content, context).toBe(expected.content)
  if (expected.cachedId !== undefined) expect(page.cachedId, context).toBe(expected.cachedId)
  expect(page.renderId, context).toBeTruthy()
}

// Scenarios shared by the Next 16 and Next 15 suites -------------------------------------------------------

/** /isr (revalidate 5): MISS on A, HIT on A and B, STALE once past 5 s, then HIT with a new render on both. */
async function missHitStaleHit(a: Instance, b: Instance): Promise<void> {
  // Whatever the build or an earlier test left (a prerendered /isr is older than 5 s): start from nothing.
  await a.revalidate({ path: '/isr' })
  await sleep(PROPAGATION_MS)

  const miss = await a.get('/isr')
  expectPage(miss, { cache: 'MISS' })
  const first = miss.renderId as string
  expectPage(await a.get('/isr'), { cache: 'HIT', renderId: first })
  expectPage(await b.get('/isr'), { cache: 'HIT', renderId: first })

  await sleepUntil(miss.renderedAt as number, REVALIDATE_MS + 1000)
  // Served stale, and regenerated in the background.
  expectPage(await b.get('/isr'), { cache: 'STALE', renderId: first })
  const fresh = await waitFor(
    async () => {
      const page = await b.get('/isr')
      if (page.cache === 'HIT' && page.renderId !== first) return page
      // Until the regeneration lands: the old page (STALE, or HIT where another request's regeneration runs).
      expect(['STALE', 'HIT'], describePage(page)).toContain(page.cache)
      expect(page.renderId, describePage(page)).toBe(first)
      return undefined
    },
    { describe: () => 'B never served the regenerated /isr as a HIT' },
  )
  await sleep(PROPAGATION_MS)
  expectPage(await a.get('/isr'), { cache: 'HIT', renderId: fresh.renderId as string })
}

/** Sets the upstream's posts, expires the tag `posts` and renders /posts on A (MISS), then B serves it (HIT). */
async function freshPosts(a: Instance, b: Instance, cluster: Cluster, version: string, hardProfile?: string): Promise<Page> {
  cluster.upstream.setPosts({ version, title: `posts ${version}` })
  await a.revalidate(hardProfile === undefined ? { tag: 'posts' } : { tag: 'posts', profile: hardProfile })
  const rendered = await a.get('/posts')
  expectPage(rendered, { cache: 'MISS', content: version })
  expectPage(await b.get('/posts'), { cache: 'HIT', renderId: rendered.renderId as string, content: version })
  return rendered
}

/** A hard tag purge on A: B re-renders at once (MISS, new content), and A then has B's render. */
async function hardTagPurgeAcross(a: Instance, b: Instance, cluster: Cluster, profile: string | undefined): Promise<void> {
  const label = profile ?? 'default'
  await freshPosts(a, b, cluster, `hard-${label}-1-${RUN}`, profile)
  cluster.upstream.setPosts({ version: `hard-${label}-2-${RUN}`, title: 'second' })
  await a.revalidate(profile === undefined ? { tag: 'posts' } : { tag: 'posts', profile })
  const rerendered = await b.get('/posts')
  expectPage(rerendered, { cache: 'MISS', content: `hard-${label}-2-${RUN}` })
  await sleep(PROPAGATION_MS)
  expectPage(await a.get('/posts'), { cache: 'HIT', renderId: rerendered.renderId as string, content: `hard-${label}-2-${RUN}` })
}

/**
 * B renders an on-demand page; B is killed (SIGKILL) and started again; it serves the same render from the
 * store. Next 16 reads the entry's lifetime from the handler (cacheControl): a HIT. Next 15.5 cannot (see
 * docs/adapters/next.md): a fresh 15.5 process gives a path that is not in prerender-manifest.json a
 * 1-second revalidate, so the same render is a HIT within 1 s of being stored and STALE after (then
 * regenerated in the background). A restart takes longer than that on a loaded machine, so the 15.5 case
 * waits until the entry is surely over 1 s old and expects STALE: the documented behaviour, whatever the
 * machine's speed.
 */
async function restartKeepsCache(a: Instance, b: Instance, path: string, afterRestart: 'HIT' | 'STALE'): Promise<void> {
  const rendered = await b.get(path)
  expectPage(rendered, {})
  expect(['MISS', 'HIT'], describePage(rendered)).toContain(rendered.cache)
  // In the shared store, not only in B's memory.
  expectPage(await a.get(path), { cache: 'HIT', renderId: rendered.renderId as string })
  const storedBy = Date.now()

  await b.kill()
  await b.start()
  if (afterRestart === 'STALE') await sleepUntil(storedBy, 1100)
  // A fresh process knows the page's lifetime only from the store (its cacheControl); without it Next
  // assumes `revalidate: 1` for a path that is not in prerender-manifest.json.
  expectPage(await b.get(path), { cache: afterRestart, renderId: rendered.renderId as string })
}

// Next 16 --------------------------------------------------------------------------------------------------

describe.runIf(redisAvailable)('Next 16 example: two `next start` instances sharing Redis', { timeout: TEST_TIMEOUT }, () => {
  let app: PreparedExample
  let cluster: Cluster
  let A: Instance
  let B: Instance
  onSharedRedis('next', (prepared, started) => {
    app = prepared
    cluster = started
    ;[A, B] = pair(started)
  })

  // First: nothing has requested /blog/a yet under this run's fresh prefix.
  it('serves a page prerendered by `next build` as a HIT on its first request, without rendering it', async () => {
    const built = readFileSync(join(app.dir, '.next', 'server', 'app', 'blog', 'a.html'), 'utf8')
    const builtId = built.match(/id="render-id">([^<]*)</)?.[1]
    expect(builtId, 'the build wrote .next/server/app/blog/a.html with a render id').toBeTruthy()

    expectPage(await B.get('/blog/a'), { cache: 'HIT', renderId: builtId as string })
    expectPage(await A.get('/blog/a'), { cache: 'HIT', renderId: builtId as string })
    expect(cluster.upstream.renders('/blog/a')).toBe(0)
  })

  it('MISS → HIT → STALE → HIT with a new render on /isr, across both instances', () => missHitStaleHit(A, B))

  it("a soft tag purge (revalidateTag('posts', 'max')) on A: B serves the old page once as STALE, then the new one", async () => {
    const old = await freshPosts(A, B, cluster, `soft-1-${RUN}`, 'expire0')
    cluster.upstream.setPosts({ version: `soft-2-${RUN}`, title: 'second' })
    await A.revalidate({ tag: 'posts', profile: 'max' })

    expectPage(await B.get('/posts'), { cache: 'STALE', renderId: old.renderId as string, content: `soft-1-${RUN}` })
    const fresh = await waitFor(
      async () => {
        const page = await B.get('/posts')
        if (page.cache === 'HIT' && page.content === `soft-2-${RUN}`) return page
        expect(['STALE', 'HIT'], describePage(page)).toContain(page.cache)
        expect(page.content, describePage(page)).toBe(`soft-1-${RUN}`)
        return undefined
      },
      { describe: () => 'B never served /posts with the new content after the soft purge' },
    )
    await sleep(PROPAGATION_MS)
    expectPage(await A.get('/posts'), { cache: 'HIT', renderId: fresh.renderId as string, content: `soft-2-${RUN}` })
  })

  it("a hard tag purge (revalidateTag('posts', { expire: 0 })) on A: B re-renders at once", () => hardTagPurgeAcross(A, B, cluster, 'expire0'))

  it("revalidateTag('posts') without a profile on A: B re-renders at once", () => hardTagPurgeAcross(A, B, cluster, undefined))

  it('path purges (revalidatePath) on A are honoured on B', async () => {
    const path = `/blog/path-${RUN}`
    const first = await A.get(path)
    expectPage(first, { cache: 'MISS' })
    expectPage(await B.get(path), { cache: 'HIT', renderId: first.renderId as string })

    await A.revalidate({ path })
    const second = await B.get(path)
    expectPage(second, { cache: 'MISS' })
    expect(second.renderId).not.toBe(first.renderId)
    await sleep(PROPAGATION_MS)
    expectPage(await A.get(path), { cache: 'HIT', renderId: second.renderId as string })

    // Every page of a dynamic route.
    await A.revalidate({ path: '/blog/[slug]', type: 'page' })
    const third = await B.get(path)
    expectPage(third, { cache: 'MISS' })
    expect([first.renderId, second.renderId]).not.toContain(third.renderId)
  })

  it("a 'use cache' entry is shared by both instances, and purged on both by a purge on A", async () => {
    // The prerendered /cached pages carry the build's cached data: start from a purge.
    await A.revalidate({ tag: 'cached-data', profile: 'expire0' })
    await sleep(PROPAGATION_MS)
    const onA = await A.get('/cached')
    expectPage(onA, { cache: 'MISS' })
    const cached = onA.cachedId as string
    expect(cached).toBeTruthy()
    // Another page, rendered on B, reads the same 'use cache' entry from the shared store.
    const mirror = await B.get('/cached/mirror')
    expectPage(mirror, { cache: 'MISS', cachedId: cached })

    // Hard purge on A: both pages and the 'use cache' entry, on both instances.
    await A.revalidate({ tag: 'cached-data', profile: 'expire0' })
    await sleep(PROPAGATION_MS)
    const afterHard = await B.get('/cached')
    expectPage(afterHard, { cache: 'MISS' })
    expect(afterHard.cachedId).not.toBe(cached)
    expectPage(await A.get('/cached/mirror'), { cache: 'MISS', cachedId: afterHard.cachedId as string })

    // Soft purge on A: B serves the old page once, then a page with newly computed data.
    await A.revalidate({ tag: 'cached-data', profile: 'max' })
    await sleep(PROPAGATION_MS)
    expectPage(await B.get('/cached'), { cache: 'STALE', cachedId: afterHard.cachedId as string })
    await waitFor(
      async () => {
        const page = await B.get('/cached')
        return page.cache === 'HIT' && page.cachedId !== afterHard.cachedId ? page : undefined
      },
      { describe: () => "B never served /cached with recomputed 'use cache' data after the soft purge" },
    )
  })

  it('client navigation payloads (RSC, segment prefetches) rendered on A are HITs on B with the same render', async () => {
    const path = `/blog/rsc-${RUN}`
    const html = await A.get(path)
    expectPage(html, { cache: 'MISS' })
    const renderId = html.renderId as string

    const navigation = await B.rsc(path)
    expectPage(navigation, { cache: 'HIT', renderId })
    expect(navigation.contentType).toContain('text/x-component')

    // The segment names Next gives this route (from the build): '/_tree' and the page segment.
    const meta = JSON.parse(readFileSync(join(app.dir, '.next', 'server', 'app', 'blog', 'a.meta'), 'utf8')) as { segmentPaths?: string[] }
    const pageSegment = meta.segmentPaths?.find((segment) => segment.endsWith('/__PAGE__'))
    expect(pageSegment, JSON.stringify(meta.segmentPaths)).toBeTruthy()
    const segment = await B.rsc(path, { segment: pageSegment as string })
    expectPage(segment, { cache: 'HIT', renderId })
    expect(segment.contentType).toContain('text/x-component')
    const tree = await B.rsc(path, { segment: '/_tree' })
    expect(tree.status, describePage(tree)).toBe(200)
    expect(tree.cache).toBe('HIT')

    expectPage(await A.rsc(path), { cache: 'HIT', renderId })
  })

  it('200 concurrent requests for a stale page, spread over both instances, regenerate it exactly once', async () => {
    const round = await staleBurstRound(A, B, cluster, 200)
    for (const page of round.pages) {
      expect(page.status, describePage(page)).toBe(200)
      // Everyone is served the stale page or a fresh one; nobody waits for a render.
      expect(['STALE', 'HIT'], describePage(page)).toContain(page.cache)
    }
    expect(round.renders, round.describe()).toHaveLength(1)
  })

  it(
    '20 rounds of 50 concurrent requests for a stale page across both instances, 10 of them under a CPU hog: one render every round',
    async () => {
      const outcomes: string[] = []
      for (let i = 0; i < 20; i++) {
        const hog = i >= 10 ? startCpuHog(2) : undefined
        try {
          const round = await staleBurstRound(A, B, cluster, 50)
          outcomes.push(`${hog ? 'hog ' : ''}round ${i + 1}: ${round.describe()}`)
          for (const page of round.pages) expect(page.status, describePage(page)).toBe(200)
          expect(round.renders, outcomes.join('\n')).toHaveLength(1)
        } finally {
          hog?.stop()
        }
      }
      console.log(`[next e2e] stale bursts:\n${outcomes.join('\n')}`)
    },
    20 * 30_000,
  )

  it.runIf(chromiumAvailable)(
    'a real browser: a cached page on B, client-side navigation to another cached page, no console error, no hydration warning',
    async () => {
      // Cached on B, whatever earlier tests purged (the path purge above drops every /blog/[slug] page).
      for (const path of ['/blog/a', '/blog/b']) {
        await waitFor(async () => ((await B.get(path)).cache === 'HIT' ? true : undefined), { describe: () => `B never served ${path} as a HIT` })
      }
      const browser = await launchChromium()
      try {
        const page = await browser.newPage()
        const { problems, documents } = watchPage(page, {
          // A failed request is reported as a failed answer, with its URL (the browser's console line has none).
          ignoreConsole: (text) => text.startsWith('Failed to load resource'),
          // The app has no favicon: the browser's own request for one is not the app's.
          ignoreResponse: (url) => url.pathname === '/favicon.ico',
        })
        const toB: Array<{ status: number; cache: string | undefined }> = []
        page.on('response', (response) => {
          if (new URL(response.url()).pathname === '/blog/b') toB.push({ status: response.status(), cache: response.headers()['x-nextjs-cache'] })
        })
        const first = await page.goto(`${B.url}/blog/a`)
        expect(first?.status()).toBe(200)
        expect(first?.headers()['x-nextjs-cache']).toBe('HIT')
        await page.waitForSelector('body[data-hydrated="true"]', { timeout: 20_000 })
        await page.click('#to-other')
        await page.waitForFunction("document.querySelector('#slug')?.textContent === 'b'", undefined, { timeout: 20_000 })
        expect(documents, 'the navigation was client-side: one document load').toEqual([`${B.url}/blog/a`])
        expect(toB.length, 'the RSC payload of /blog/b was fetched').toBeGreaterThan(0)
        for (const answer of toB) {
          expect(answer.status).toBe(200)
          expect(answer.cache, 'the RSC payload of /blog/b came from the cache').toBe('HIT')
        }
        expect(problems).toEqual([])
      } finally {
        await browser.close()
      }
    },
  )

  it('updateTag in a server action on A is honoured on B', async () => {
    await freshPosts(A, B, cluster, `action-1-${RUN}`, 'expire0')
    cluster.upstream.setPosts({ version: `action-2-${RUN}`, title: 'after the action' })
    const result = await A.action('/actions', 'refreshPosts')
    expect(result.status, result.body.slice(0, 500)).toBe(200)
    await sleep(PROPAGATION_MS)
    const page = await B.get('/posts')
    expectPage(page, { cache: 'MISS', content: `action-2-${RUN}` })
  })

  it('route handlers (/api/time) and Pages Router pages (/legacy) are shared by both instances', async () => {
    for (const path of ['/api/time', '/legacy']) {
      const onA = await waitFor(
        async () => {
          const page = await A.get(path)
          // Young enough (revalidate 5 s) to be a HIT on B too.
          return page.cache === 'HIT' && Date.now() - (page.renderedAt ?? 0) < 2500 ? page : undefined
        },
        { describe: () => `A never served ${path} as a HIT` },
      )
      expectPage(await B.get(path), { cache: 'HIT', renderId: onA.renderId as string })
    }
  })

  it('a restarted instance serves the cache it left: HIT with the same render id', () => restartKeepsCache(A, B, `/blog/restart-${RUN}`, 'HIT'))

  describe.runIf(redisServerAvailable)('with its Redis stopped and started again (a private redis-server)', () => {
    let redis: PrivateRedis | undefined
    let outage: Cluster
    let C: Instance
    let D: Instance
    const outagePrefix = uniquePrefix('next16-outage')

    beforeAll(async () => {
      redis = await startPrivateRedis()
      outage = await startCluster(app, { store: redis.url, prefix: outagePrefix, names: ['C', 'D'] })
      ;[C, D] = pair(outage)
    }, 120_000)

    afterAll(async () => {
      await outage?.stop()
      await redis?.close()
    }, 60_000)

    printOutputOnFailure(() => outage?.instances ?? [])

    it('keeps answering 200 while Redis is down, and caches in Redis again once it is back', async () => {
      const path = `/blog/outage-${RUN}`
      const rendered = await C.get(path)
      expectPage(rendered, { cache: 'MISS' })
      expectPage(await D.get(path), { cache: 'HIT', renderId: rendered.renderId as string })

      await redis?.stop()
      // Several rounds: through the store's read deadline, then its circuit breaker.
      const slowest: number[] = []
      for (let round = 0; round < 3; round++) {
        const pages = await Promise.all([
          C.get(path),
          D.get(path),
          C.get('/isr'),
          D.get(`/blog/down-${RUN}-${round}`),
          C.rsc(path),
          D.get('/api/time'),
        ])
        for (const page of pages) {
          expect(page.status, describePage(page)).toBe(200)
          expect(page.ms, `a request took ${page.ms} ms with Redis down`).toBeLessThan(15_000)
        }
        slowest.push(Math.max(...pages.map((page) => page.ms)))
      }

      await redis?.start()
      const restartedAt = performance.now()
      // The restarted server is empty (no persistence). Caching resumes once the clients reconnect: a page
      // rendered on C is then a HIT on D, which can only come from Redis.
      let attempt = 0
      await waitFor(
        async () => {
          attempt += 1
          const fresh = `/blog/back-${RUN}-${attempt}`
          const onC = await C.get(fresh)
          const onD = await D.get(fresh)
          expect(onC.status).toBe(200)
          expect(onD.status).toBe(200)
          return onD.cache === 'HIT' && onD.renderId === onC.renderId ? onD : undefined
        },
        { timeoutMs: 60_000, intervalMs: 1000, describe: () => `no page rendered on C was a HIT on D after ${attempt} attempts` },
      )
      console.log(
        `[next e2e] Redis down: slowest request per round ${slowest.join(' / ')} ms; shared again ${Math.round(performance.now() - restartedAt)} ms after it was back (${attempt} attempts)`,
      )
    })
  })
})

// Next 16: lookups shared by concurrent requests -------------------------------------------------------------

/** The handler's `get` calls so far, counted by examples/next/tooling/counting-handler.mjs in the server. */
async function lookups(port: number, reset = false): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/`, { method: reset ? 'DELETE' : 'GET' })
  return ((await response.json()) as { gets: number }).gets
}

/** `n` requests for `path` sent at once; every one must be a 200 HIT. */
async function burst(instance: Instance, path: string, n: number): Promise<void> {
  const pages = await Promise.all(Array.from({ length: n }, () => instance.get(path)))
  for (const page of pages) expectPage(page, { cache: 'HIT' })
}

describe.runIf(redisAvailable)('Next 16 example: concurrent requests for a page share one lookup (batchPageLookups)', { timeout: TEST_TIMEOUT }, () => {
  const prefix = uniquePrefix('next16-batching')
  const clusters: Cluster[] = []
  const ports: Record<'batched' | 'unbatched', number> = { batched: 0, unbatched: 0 }
  const instances: Partial<Record<'batched' | 'unbatched', Instance>> = {}
  let importedInstance: Instance | undefined

  beforeAll(async () => {
    const app = await prepareExample('next')
    for (const name of ['batched', 'unbatched'] as const) {
      ports[name] = await freePort()
      // The example's handler (batched: the default), or tooling/unbatched-handler.mjs (batchPageLookups: false).
      const env: Record<string, string> = { ISR_CACHE_COUNT_GETS_PORT: String(ports[name]), ...(name === 'unbatched' ? { ISR_CACHE_BENCH_HANDLER: 'unbatched' } : {}) }
      const cluster = await startCluster(app, { store: REDIS_URL, prefix, names: [name], env })
      clusters.push(cluster)
      instances[name] = cluster.instances[0]
    }
    // withIsrCache with registerAtStart: false: Next imports the handler module on every request, as with a
    // plain `cacheHandler` in the config.
    const imported = await startCluster(app, { store: REDIS_URL, prefix, names: ['imported'], env: { ISR_CACHE_NEXT_REGISTER_AT_START: '0' } })
    clusters.push(imported)
    importedInstance = imported.instances[0]
  }, PREPARE_TIMEOUT)
  afterAll(async () => {
    await Promise.all(clusters.map((cluster) => cluster.stop()))
    await dropPrefix(prefix)
  }, 60_000)
  printOutputOnFailure(() => clusters.flatMap((cluster) => cluster.instances))

  it('50 concurrent requests for a fresh page on one instance make fewer than 50 lookups, and fewer than with batchPageLookups: false', async () => {
    const BURSTS = 4
    const counted: Record<string, number[]> = { batched: [], unbatched: [] }
    for (const name of ['batched', 'unbatched'] as const) {
      const instance = instances[name] as Instance
      // /blog/a: prerendered, revalidate 3600, so a HIT throughout. The first burst opens the connections
      // (kept alive) and fills L1; the next ones are counted, one by one.
      await waitFor(async () => ((await instance.get('/blog/a')).cache === 'HIT' ? true : undefined), { describe: () => `${name}: /blog/a never a HIT` })
      await burst(instance, '/blog/a', 50)
      for (let i = 0; i < BURSTS; i++) {
        await lookups(ports[name], true)
        await burst(instance, '/blog/a', 50)
        counted[name]?.push(await lookups(ports[name]))
      }
    }
    console.log(`[next e2e] lookups per burst of 50 concurrent HITs of /blog/a: ${JSON.stringify(counted)}`)
    const total = (name: string) => (counted[name] ?? []).reduce((sum, n) => sum + n, 0)
    for (const n of counted.batched ?? []) expect(n, 'with batchPageLookups on (the default), requests that arrive together share lookups').toBeLessThan(50)
    expect(total('batched')).toBeGreaterThan(0)
    // An L1 hit answered at once shares only by chance (a lookup that happened to read Redis, requests parsed
    // from one socket read): the reason for the option.
    expect(total('batched'), 'with the option off, requests shared fewer lookups').toBeLessThan(total('unbatched'))
  })

  it('the handler registered at `next start` (withIsrCache, the default) and the one Next imports per request (registerAtStart: false) serve one store', async () => {
    const registered = instances.batched as Instance
    const imported = importedInstance as Instance
    const said = 'cacheHandler registered with Next at start'
    expect(registered.output(), 'withIsrCache registered the class while `next start` loaded its config').toContain(said)
    expect(imported.output()).not.toContain(said)
    for (const [first, second, slug] of [
      [registered, imported, `registered-first-${RUN}`],
      [imported, registered, `imported-first-${RUN}`],
    ] as const) {
      const rendered = await first.get(`/blog/${slug}`)
      expectPage(rendered, { cache: 'MISS' })
      expectPage(await first.get(`/blog/${slug}`), { cache: 'HIT', renderId: rendered.renderId as string })
      expectPage(await second.get(`/blog/${slug}`), { cache: 'HIT', renderId: rendered.renderId as string })
    }
  })
})

/** One burst at a stale /stampede: its answers, and the renders it caused (counted by the upstream). */
interface BurstRound {
  pages: Page[]
  renders: number[]
  describe(): string
}

/**
 * Waits until /stampede is cached and stale on both instances, sends `n` concurrent requests alternating
 * between A and B, and waits until both serve the one regenerated page. Renders are counted up to the moment
 * that page itself turns stale (revalidate 5 s after its render): a poll after that may rightly start the
 * next regeneration on a slow run.
 */
async function staleBurstRound(A: Instance, B: Instance, cluster: Cluster, n: number): Promise<BurstRound> {
  const cached = await waitFor(
    async () => {
      const page = await A.get('/stampede')
      return page.cache === 'HIT' ? page : undefined
    },
    { describe: () => 'A never served /stampede as a HIT' },
  )
  await sleepUntil(cached.renderedAt as number, REVALIDATE_MS + 1000)
  cluster.upstream.resetRenders()
  const started = performance.now()
  const pages = await Promise.all(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? A : B).get('/stampede')))
  const burstMs = Math.round(performance.now() - started)
  const regenerated = await waitFor(
    async () => {
      const [a, b] = await Promise.all([A.get('/stampede'), B.get('/stampede')])
      return a.cache === 'HIT' && b.cache === 'HIT' && a.renderId !== cached.renderId && a.renderId === b.renderId ? a : undefined
    },
    { describe: () => 'A and B never agreed on a regenerated /stampede' },
  )
  const staleAgainAt = (regenerated.renderedAt as number) + REVALIDATE_MS
  const all = cluster.upstream.renderTimes('/stampede')
  const statuses: Record<string, number> = {}
  for (const page of pages) statuses[`${page.status} ${page.cache}`] = (statuses[`${page.status} ${page.cache}`] ?? 0) + 1
  return {
    pages,
    renders: all.filter((at) => at < staleAgainAt),
    describe: () =>
      `${n} requests in ${burstMs} ms: ${JSON.stringify(statuses)}; renders at ${all.map((at) => at - (regenerated.renderedAt as number)).join(', ')} ms from the regenerated one, load ${loadavg()[0]?.toFixed(1)}`,
  }
}

/** `count` processes spinning on the CPU until stopped (at the machine's normal priority). */
function startCpuHog(count: number): { stop(): void } {
  const spinners = Array.from({ length: count }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }))
  return {
    stop: () => {
      for (const spinner of spinners) spinner.kill('SIGKILL')
    },
  }
}

// Next 15.5 ------------------------------------------------------------------------------------------------

describe.runIf(redisAvailable)('Next 15.5 example: two `next start` instances sharing Redis', { timeout: TEST_TIMEOUT }, () => {
  let cluster: Cluster
  let A: Instance
  let B: Instance
  onSharedRedis('next15', (_, started) => {
    cluster = started
    ;[A, B] = pair(started)
  })

  it('MISS → HIT → STALE → HIT with a new render on /isr, across both instances', () => missHitStaleHit(A, B))

  it('withIsrCache registered the cacheHandler class at `next start` (15.5 reads the same global as 16)', () => {
    for (const instance of [A, B]) expect(instance.output()).toContain('cacheHandler registered with Next at start')
  })

  it("a tag purge (revalidateTag('posts')) on A: B re-renders at once", () => hardTagPurgeAcross(A, B, cluster, undefined))

  it('a restarted instance serves the cache it left: the same render id, STALE once it is 1 s old (Next 15.5 cannot read cacheControl)', () =>
    restartKeepsCache(A, B, `/blog/restart-${RUN}`, 'STALE'))
})

describe('next build with the cache store unreachable', () => {
  it('finishes (no hang) and says so in one warning line', async () => {
    const { spawn } = await import('node:child_process')
    const { rmSync } = await import('node:fs')
    const app = await prepareExample('next')
    const { startUpstream } = (await import('../examples/next/tooling/upstream.mjs')) as {
      startUpstream(): Promise<{ url: string; close(): Promise<void> }>
    }
    const upstream = await startUpstream()
    const distDir = '.next-unreachable-store'
    try {
      const started = performance.now()
      // Asynchronously: the upstream the pages fetch from runs in this process and must keep answering.
      const child = spawn(process.execPath, [join(app.dir, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], {
        cwd: app.dir,
        env: { ...process.env, NEXT_DIST_DIR: distDir, ISR_CACHE_STORE: 'redis://127.0.0.1:1', ISR_CACHE_PREFIX: uniquePrefix('unreachable'), UPSTREAM_URL: upstream.url, NEXT_TELEMETRY_DISABLED: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let output = ''
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      const hang = setTimeout(() => child.kill('SIGKILL'), 240_000)
      const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
      clearTimeout(hang)
      console.log(`[next] build with an unreachable store: exit ${status} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
      expect(status, output.slice(-3000)).toBe(0) // a hang would have been killed (null)
      const lines = output.split('\n').filter((line) => line.includes('[isr-cache]'))
      expect(lines, output.slice(-3000)).toHaveLength(1)
      expect(lines[0]).toMatch(/not usable during next build/)
    } finally {
      await upstream.close()
      rmSync(join(app.dir, distDir), { recursive: true, force: true })
    }
  }, 300_000)
})

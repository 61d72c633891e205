/**
 * Scenarios every framework's two-instance end-to-end suite runs the same way, whatever the framework: the
 * suite gives its two instances, how it reads a page (status, `x-isr-cache`, the render id and content
 * version the page prints) and how it purges (its revalidation endpoint); the scenario asserts. The example
 * apps share the upstream of examples/next/tooling/upstream.mjs, whose gates hold a render where a test
 * needs it held, so ordering is asserted by events, never by timing.
 */
import { expect } from 'vitest'
import type { Upstream } from '../../examples/next/tooling/upstream.mjs'
import { sleep, waitFor } from './next-app.js'

/** What a scenario reads of one answer. */
export interface ScenarioPage {
  status: number
  cache: string | null
  id: string | undefined
  version: string | undefined
}

/** `Page`: what the suite's `fetchPage` gives (a ScenarioPage, often with more: headers, body). */
export interface TwoInstances<Server, Page extends ScenarioPage = ScenarioPage> {
  a: Server
  b: Server
  upstream: Upstream
  fetchPage(server: Server, path: string): Promise<Page>
  /** A POST to the app's revalidation endpoint (`{ tags?, paths?, expire? }`). */
  purge(server: Server, body: unknown): Promise<Response>
  /** Bound for a write or purge on one instance to show on the other. */
  propagationMs: number
}

/** Polls until `check` returns a value, every 50 ms, for at most `propagationMs`. */
const settle = <Server, Page extends ScenarioPage, T>(s: TwoInstances<Server, Page>, check: () => Promise<T | undefined>) => waitFor(check, { timeoutMs: s.propagationMs, intervalMs: 50 })

/**
 * MISS on A, HIT on A and B within the window, STALE on B after `revalidateSeconds` (the old render), then
 * HIT with the new content on both. `path` must have a time-based rule of `revalidateSeconds`.
 * `checkHit`: the suite's own assertions on B's first HIT (A's render, read within the window).
 */
export async function missHitStaleHit<Server, Page extends ScenarioPage>(
  s: TwoInstances<Server, Page>,
  path: string,
  revalidateSeconds: number,
  checkHit?: (hitOnB: Page) => void,
): Promise<Page> {
  s.upstream.setPosts({ version: 'v1', title: 'first' })
  const miss = await s.fetchPage(s.a, path)
  const renderedAt = Date.now()
  expect([miss.status, miss.cache, miss.version]).toEqual([200, 'MISS', 'v1'])
  const hitA = await s.fetchPage(s.a, path)
  const hitB = await s.fetchPage(s.b, path)
  expect(Date.now() - renderedAt, 'the HITs must come within the revalidate window').toBeLessThan(revalidateSeconds * 1000)
  expect([hitA.cache, hitA.id]).toEqual(['HIT', miss.id])
  expect([hitB.cache, hitB.id]).toEqual(['HIT', miss.id])
  checkHit?.(hitB)

  s.upstream.setPosts({ version: 'v2', title: 'second' })
  await sleep(renderedAt + revalidateSeconds * 1000 + 100 - Date.now())
  const stale = await s.fetchPage(s.b, path)
  expect([stale.cache, stale.id, stale.version]).toEqual(['STALE', miss.id, 'v1'])
  const fresh = await settle(s, async () => {
    const page = await s.fetchPage(s.b, path)
    return page.cache === 'HIT' && page.version === 'v2' ? page : undefined
  })
  expect(fresh.id).not.toBe(miss.id)
  await settle(s, async () => ((await s.fetchPage(s.a, path)).id === fresh.id ? true : undefined))
  return fresh
}

/**
 * 50 concurrent requests for a stale page, alternating between the instances, while its one regeneration
 * is held at the upstream gate `gate`: every answer is the old render, served at once, and the cluster
 * renders it exactly once. `path` must be cached until purged (the purge makes it stale, no clock involved).
 */
export async function stampedeRendersOnce<Server, Page extends ScenarioPage>(s: TwoInstances<Server, Page>, path: string, gate: string): Promise<void> {
  s.upstream.setPosts({ version: 's1', title: 'stampede' })
  const first = await s.fetchPage(s.a, path)
  expect(first.cache).toBe('MISS')
  await settle(s, async () => {
    const page = await s.fetchPage(s.b, path)
    return page.cache === 'HIT' || page.cache === 'STALE' ? true : undefined
  })
  const before = s.upstream.renders(path)
  s.upstream.setPosts({ version: 's2', title: 'stampede again' })
  // Stale now, on both (a soft purge), and the next render is held at the gate.
  expect((await s.purge(s.a, { paths: [path], expire: 3600 })).status).toBe(200)
  s.upstream.closeGate(gate)
  try {
    const pages = await Promise.all(Array.from({ length: 50 }, (_, i) => s.fetchPage(i % 2 === 0 ? s.a : s.b, path)))
    for (const page of pages) expect([page.status, page.id]).toEqual([200, first.id])
    expect(pages.filter((page) => page.cache === 'STALE').length).toBeGreaterThan(0)
    for (const page of pages) expect(['STALE', 'HIT']).toContain(page.cache)
    // The one regeneration is running, held at the gate.
    await waitFor(async () => (s.upstream.waiting(gate) === 1 ? true : undefined), { timeoutMs: s.propagationMs, intervalMs: 20 })
  } finally {
    s.upstream.openGate(gate)
  }
  const fresh = await settle(s, async () => {
    const [pa, pb] = await Promise.all([s.fetchPage(s.a, path), s.fetchPage(s.b, path)])
    return pa.version === 's2' && pb.version === 's2' && pa.id === pb.id ? pa : undefined
  })
  expect(fresh.cache).toBe('HIT')
  expect(s.upstream.renders(path) - before).toBe(1)
}

/**
 * The store stops while both instances serve (the suite's private `redis-server`, shared by A and B): every
 * request still gets its page, a page cached before, and new pages rendered as they are asked for;
 * `alsoWhileDown` adds the suite's own requests to each round. Once Redis is back, caching through the store
 * resumes: a page rendered on A is a HIT on B. `base`: a path prefix the app caches (e.g. `/blog/<run>`).
 */
export async function servesThroughStoreOutage<Server, Page extends ScenarioPage>(
  s: TwoInstances<Server, Page>,
  redis: { stop(): Promise<void>; start(): Promise<void> },
  base: string,
  alsoWhileDown?: (server: Server, round: number) => Promise<void>,
): Promise<void> {
  const path = `${base}-down`
  s.upstream.setPosts({ version: 'o1', title: 'outage' })
  const first = await s.fetchPage(s.a, path)
  expect([first.cache, first.version]).toEqual(['MISS', 'o1'])
  await settle(s, async () => {
    const page = await s.fetchPage(s.b, path)
    return page.cache === 'HIT' || page.cache === 'STALE' ? true : undefined
  })
  await redis.stop()
  for (let round = 0; round < 4; round++) {
    for (const server of [s.a, s.b]) {
      expect((await s.fetchPage(server, path)).status).toBe(200)
      const fresh = await s.fetchPage(server, `${base}-down-${round}`)
      expect([fresh.status, fresh.version]).toEqual([200, 'o1'])
      await alsoWhileDown?.(server, round)
    }
  }
  await redis.start()
  let attempt = 0
  await waitFor(async () => {
    attempt += 1
    const fresh = `${base}-back-${attempt}`
    const onA = await s.fetchPage(s.a, fresh)
    expect(onA.status).toBe(200)
    await sleep(100) // let A's write land before B looks (a miss on B just renders: the loop tries again)
    const onB = await s.fetchPage(s.b, fresh)
    expect(onB.status).toBe(200)
    return onB.cache === 'HIT' && onB.id === onA.id ? true : undefined
  }, { timeoutMs: 30_000, intervalMs: 200 })
}

/**
 * Fault injection on a real Redis: a PRIVATE redis-server (test/support/redis-server.ts) that these tests
 * stop, restart, put to sleep (DEBUG SLEEP) and fill with garbage. The shared server at REDIS_URL is never
 * touched. No mocks: the cache under test is the real one, talking to the real server over TCP.
 *
 * - Redis stopped and restarted under load: no caller ever sees an error, pages keep being served, and the
 *   cache writes again once Redis is back;
 * - an L1 entry purged while the change feed was down is not served as fresh past a bound;
 * - no hang at start-up or at close() when Redis is down;
 * - no ghost lease: a lease request its caller gave up on (Redis down, or busy) must not take the lease
 *   later and block the key for a whole lease ttl;
 * - a slow command costs a read its deadline, not more; a corrupt entry is a reported miss, then
 *   overwritten; the circuit breaker opens, fails fast, and closes again.
 */
import { createClient } from '@redis/client'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createIsrCache, type IsrCache, type IsrCacheError, type IsrCacheOptions } from '../src/index.js'
import { pingOnce, redisServerAvailable, startPrivateRedis, type PrivateRedis } from './support/redis-server.js'

// Every unhandled rejection in this process (the cache's own background work included) is a failure.
const unhandled: unknown[] = []
process.on('unhandledRejection', (reason) => {
  unhandled.push(reason)
})

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
const elapsed = (since: number) => performance.now() - since

let prefixCounter = 0
const uniquePrefix = (name: string) => `isr-fault-${name}-${process.pid}-${++prefixCounter}`

/** A raw client on a private server, with Buffer replies. */
async function rawClient(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: false } }).withTypeMapping({ 36: Buffer })
  client.on('error', () => {})
  await client.connect()
  return client
}

/** Bounded wait for a condition; returns how long it took (ms), or throws with `what`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 20): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await check()) return elapsed(started)
    if (elapsed(started) > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`)
    await sleep(intervalMs)
  }
}

/**
 * Writes until one write lands (bounded). A fresh cache's first call also waits for the connection, within
 * the same short deadline these tests set, which a loaded machine can miss: a test that needs a connected
 * cache waits for one instead. A success closes the breaker and resets its failure count.
 */
function writeOnce(what: string, write: () => Promise<boolean>): Promise<number> {
  return waitFor(what, write, 10_000, 50)
}

/**
 * Puts a private server to sleep for `seconds` (DEBUG SLEEP, on a raw client of its own) and resolves once
 * it sleeps: a PING on another connection goes unanswered (it answers in well under 1 ms otherwise).
 * `awake` settles when Redis woke; `raw` stays open for the caller's own commands, and is the caller's to quit.
 */
async function putToSleep(s: PrivateRedis, seconds: number) {
  const raw = await rawClient(s.url)
  const awake = raw.sendCommand(['DEBUG', 'SLEEP', String(seconds)])
  await waitFor('Redis to fall asleep', async () => !(await pingOnce(s.port, 100)), 500, 1)
  return { raw, awake }
}

describe.runIf(redisServerAvailable)('faults on a private Redis server', () => {
  const servers: PrivateRedis[] = []
  const caches: IsrCache[] = []

  async function server(args: string[] = [], start = true): Promise<PrivateRedis> {
    const s = await startPrivateRedis({ args, start })
    servers.push(s)
    return s
  }

  function cacheOn(s: PrivateRedis, options: Partial<IsrCacheOptions> = {}): { cache: IsrCache; errors: IsrCacheError[]; codes: () => string[] } {
    const errors: IsrCacheError[] = []
    const cache = createIsrCache({ store: s.url, onError: (e) => errors.push(e), ...options })
    caches.push(cache)
    return { cache, errors, codes: () => errors.map((e) => e.code) }
  }

  afterEach(async () => {
    // Close what a test left open while its server is up (close() needs a live server: see the close test).
    for (const s of servers) if (!s.running) await s.start().catch(() => {})
    await Promise.all(caches.splice(0).map((c) => Promise.race([c.close().catch(() => {}), sleep(3000)])))
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  afterAll(async () => {
    await sleep(50)
    if (unhandled.length > 0) throw new Error(`unhandled rejections in the fault tests: ${unhandled.map(String).join('; ')}`)
  })

  it('Redis stopped for 1.5 s and restarted under steady load: no caller error, pages served while down, writes resume after', async () => {
    const s = await server()
    const prefix = uniquePrefix('load')
    // A with the L1 tier (the default), B without: B cannot fall back on local copies while Redis is down.
    const common = { prefix, readTimeout: 0.2, writeTimeout: 0.2, revalidate: 1 } as const
    const a = cacheOn(s, common)
    const b = cacheOn(s, { ...common, l1: false })

    type Phase = 'before' | 'down' | 'after'
    let phase = 'before' as Phase
    const calls = { before: 0, down: 0, after: 0 }
    const rejected = { before: 0, down: 0, after: 0 }
    const regenerated = { before: 0, down: 0, after: 0 }
    const statuses: Record<Phase, Record<string, number>> = { before: {}, down: {}, after: {} }
    const slowest = { before: 0, down: 0, after: 0 }
    const rejections: unknown[] = []
    const pending: Array<Promise<void>> = []
    let restartedAt = Number.POSITIVE_INFINITY

    const render = (key: string) => async () => {
      regenerated[phase] += 1
      await sleep(2)
      return { key, renderedAt: Date.now(), phase }
    }
    const fire = (cache: IsrCache, key: string) => {
      const at = phase
      const started = performance.now()
      calls[at] += 1
      pending.push(
        cache.getOrSet(key, render(key)).then(
          (result) => {
            statuses[at][result.status] = (statuses[at][result.status] ?? 0) + 1
            slowest[at] = Math.max(slowest[at], elapsed(started))
            expect(result.value.key).toBe(key)
          },
          (error: unknown) => {
            rejected[at] += 1
            rejections.push(error)
          },
        ),
      )
    }

    // The outage, in the background: Redis stops 1 s into the load and comes back 1.5 s later.
    const outage = (async () => {
      await sleep(1000)
      phase = 'down'
      await s.stop()
      await sleep(1500)
      await s.start()
      restartedAt = performance.now()
      phase = 'after'
    })()

    // Steady load: every 10 ms, one getOrSet per cache over 20 keys, until both caches write again after the
    // restart (the circuit breaker, with its default 5 s cooldown, decides when) and 1 s more; at most 20 s.
    const loadStarted = performance.now()
    let writesAtRestart: [number, number] | undefined
    let recoveredAt: number | undefined
    for (let tick = 0; ; tick += 1) {
      const key = `page-${tick % 20}`
      fire(a.cache, key)
      fire(b.cache, key)
      await sleep(10)
      if (phase === 'after') {
        writesAtRestart ??= [a.cache.stats().writes, b.cache.stats().writes]
        if (recoveredAt === undefined && a.cache.stats().writes > writesAtRestart[0] && b.cache.stats().writes > writesAtRestart[1]) recoveredAt = performance.now()
        if (recoveredAt !== undefined && elapsed(recoveredAt) > 1000) break
      }
      if (elapsed(loadStarted) > 20_000) break
    }
    await outage
    await Promise.all(pending)
    await Promise.all([a, b].map((c) => waitFor('regenerations to settle', () => c.cache.stats().inflight === 0, 5000)))

    const total = calls.before + calls.down + calls.after
    console.log(
      `[faults] Redis down 1.5 s under load: ${total} getOrSet (before/down/after: ${calls.before}/${calls.down}/${calls.after}), ` +
        `rejected ${rejected.before + rejected.down + rejected.after}, statuses ${JSON.stringify(statuses)}, regenerations ${JSON.stringify(regenerated)}, ` +
        `slowest call ms ${JSON.stringify({ before: Math.round(slowest.before), down: Math.round(slowest.down), after: Math.round(slowest.after) })}, ` +
        `writes resumed ${recoveredAt === undefined ? 'NEVER' : `${Math.round(recoveredAt - restartedAt)} ms`} after the restart, ` +
        `circuit ${a.cache.stats().circuit}/${b.cache.stats().circuit}, errors reported: ${JSON.stringify(countBy([...a.codes(), ...b.codes()]))}`,
    )
    // Zero errors thrown to callers.
    expect(rejections).toEqual([])
    // Pages were served while Redis was down, and some of them had to be rendered then.
    expect(calls.down).toBeGreaterThan(50)
    expect(regenerated.down).toBeGreaterThan(0)
    // Nobody waited long: reads have a 200 ms deadline, then the breaker skips the store...
    expect(slowest.down).toBeLessThan(2000)
    // ...nor after the restart (a lease request sent while Redis was down and run when it came back would
    // block its key for the 10 s lease ttl: callers then waited 6-8 s).
    expect(slowest.after).toBeLessThan(3000)
    // The cache writes again after the restart, and what it writes is there for a fresh instance.
    expect(recoveredAt).toBeDefined()
    expect(a.cache.stats().circuit).toBe('closed')
    expect(b.cache.stats().circuit).toBe('closed')
    expect(await a.cache.set('written-after-recovery', { ok: 1 })).toBe(true)
    const fresh = cacheOn(s, { prefix })
    expect((await fresh.cache.get('written-after-recovery'))?.value).toEqual({ ok: 1 })
    // ...including pages the load rendered after the restart.
    const after = await Promise.all(Array.from({ length: 20 }, (_, i) => fresh.cache.get<{ renderedAt: number; phase: string }>(`page-${i}`)))
    expect(after.some((r) => r?.value.phase === 'after')).toBe(true)
    expect(fresh.errors).toEqual([])
  })

  it('an L1 entry purged while the change feed was down stops being served as fresh within l1MaxAge + a margin', async () => {
    // With an append-only file, so that the entry is still in Redis after the restart: only the purge may
    // end A's serving it (not the restart emptying the store).
    const s = await server(['--appendonly', 'yes', '--appendfsync', 'always'])
    const prefix = uniquePrefix('l1')
    const a = cacheOn(s, { prefix, l1MaxAge: 0.5, readTimeout: 0.2, writeTimeout: 0.2 })
    await writeOnce('A to connect and write the page', () => a.cache.set('page', 'old', { tags: ['posts'] }))
    expect(await a.cache.get('page')).toMatchObject({ status: 'hit', value: 'old' })

    // Redis goes away for 0.8 s; A keeps serving its L1 copy meanwhile (it cannot know better).
    await s.stop()
    const downSince = performance.now()
    const servedWhileDown = new Set<string>()
    while (elapsed(downSince) < 800) {
      const got = await a.cache.get('page')
      servedWhileDown.add(`${got?.status}:${String(got?.value)}`)
      await sleep(50)
    }
    expect([...servedWhileDown]).toEqual(['hit:old'])
    await s.start()
    const raw = await rawClient(s.url)
    expect(await raw.exists(`${prefix}:e:default:page`)).toBe(1)

    // Right after the restart another instance purges the tag; A's subscription is still reconnecting, so
    // it misses the message.
    const b = cacheOn(s, { prefix, l1: false })
    await b.cache.revalidateTag('posts')
    const purgedAt = performance.now()
    let seen = ''
    const took = await waitFor(
      'A to stop serving the purged entry as fresh',
      async () => {
        const got = await a.cache.get('page')
        seen = got === undefined ? 'miss' : `${got.status}:${String(got.value)}`
        return seen !== 'hit:old'
      },
      5000,
    )
    console.log(`[faults] purge while A's change feed was reconnecting: A stopped serving the old entry as fresh ${took.toFixed(0)} ms after the purge (now: ${seen}; circuit ${a.cache.stats().circuit})`)
    expect(took).toBeLessThan(2000)
    expect(seen).toBe('miss') // a hard purge
    expect(await raw.exists(`${prefix}:e:default:page`)).toBe(1) // still stored: the purge, not a lost entry, made it a miss
    await raw.quit()
  })

  it('does not hang at start-up when Redis is down: createIsrCache returns at once, getOrSet renders, close() returns', async () => {
    const s = await server([], false) // a free port with nothing listening
    const t0 = performance.now()
    const { cache, codes } = cacheOn(s, { prefix: uniquePrefix('startup'), readTimeout: 0.2, writeTimeout: 0.2 })
    const created = elapsed(t0)
    const t1 = performance.now()
    const result = await cache.getOrSet('k', () => 'rendered')
    const rendered = elapsed(t1)
    expect(result).toMatchObject({ value: 'rendered', status: 'miss' })
    expect(await cache.get('k')).toBeDefined() // kept in L1: the write failed
    const t2 = performance.now()
    await cache.close()
    const closed = elapsed(t2)
    console.log(`[faults] start-up with Redis down: createIsrCache ${created.toFixed(1)} ms, first getOrSet ${rendered.toFixed(0)} ms, close() ${closed.toFixed(0)} ms; errors ${JSON.stringify(countBy(codes()))}`)
    expect(created).toBeLessThan(500)
    expect(rendered).toBeLessThan(3000)
    expect(closed).toBeLessThan(3000)
    expect(codes()).toContain('E_STORE_READ')
  })

  it('close() returns promptly when Redis went down after the cache had connected', async () => {
    const s = await server()
    const { cache } = cacheOn(s, { prefix: uniquePrefix('close'), readTimeout: 0.2, writeTimeout: 0.2 })
    await writeOnce('the cache to connect and write', () => cache.set('k', 1))
    await s.stop()
    await sleep(50)
    // One read while it is down. (With the client's offline queue on, it stayed queued, and close() waited
    // for its reply forever: the client stops reconnecting once close() begins.)
    expect(await cache.get('other')).toBeUndefined()
    const started = performance.now()
    const closing = cache.close().then(() => elapsed(started))
    const outcome = await Promise.race([closing.then(() => 'closed'), sleep(3000).then(() => 'still waiting after 3 s')])
    try {
      console.log(`[faults] close() with Redis down, after one read: ${outcome} (${elapsed(started).toFixed(0)} ms)`)
      expect(outcome).toBe('closed')
    } finally {
      if (outcome !== 'closed') {
        // Does it return once Redis is back? (It does not: the client stopped reconnecting when close() began.)
        await s.start()
        const back = performance.now()
        const took = await Promise.race([closing, sleep(2000).then(() => undefined)])
        console.log(
          took === undefined
            ? `[faults] ...and close() had still not returned ${elapsed(back).toFixed(0)} ms after Redis was back`
            : `[faults] ...close() returned once Redis was back, ${took.toFixed(0)} ms after it was called`,
        )
      }
    }
  })

  it('a lease request that missed its deadline while Redis was down is not replayed on reconnect (no ghost lease blocking the key)', async () => {
    const s = await server()
    const prefix = uniquePrefix('ghost')
    const lease = { ttl: 3 }
    // failures: 2, so the breaker opens at the lease request and the page's write is skipped, not queued.
    const a = cacheOn(s, { prefix, lease, readTimeout: 0.2, writeTimeout: 0.2, circuitBreaker: { failures: 2, cooldown: 0.2 } })
    // Connected before the outage.
    await writeOnce('A to connect and write', () => a.cache.set('warm', 1))
    await s.stop()
    await sleep(50)
    // While Redis is down, A renders 'k' itself: its read and its lease request fail, at once or at their
    // deadlines (fail open). With an offline queue, the lease request then ran when Redis came back.
    expect(await a.cache.getOrSet('k', () => 'rendered by A while Redis was down')).toMatchObject({ status: 'miss' })
    await s.start()
    // A's client reconnects (A can write again): whatever it still had queued has reached Redis by now.
    const reconnected = await waitFor('A to write again', () => a.cache.set('probe', 1), 10_000, 50)
    const raw = await rawClient(s.url)
    const ghost = await raw.pTTL(`${prefix}:l:default:k`)
    await raw.quit()

    // Another instance now asks for 'k'. Nobody is rendering it, so it must render at once.
    const b = cacheOn(s, { prefix, lease, readTimeout: 0.2, writeTimeout: 0.2 })
    const started = performance.now()
    const result = await b.cache.getOrSet('k', () => 'rendered by B')
    const took = elapsed(started)
    console.log(
      `[faults] after a restart: A wrote again ${reconnected.toFixed(0)} ms after it; the lease of 'k' in Redis: ${ghost > 0 ? `PRESENT (a ghost, ${ghost} ms left)` : 'absent'}; ` +
        `B's getOrSet('k') took ${took.toFixed(0)} ms (lease waits ${b.cache.stats().leaseWaits})`,
    )
    expect(result).toMatchObject({ status: 'miss', value: 'rendered by B' })
    expect(ghost).toBeLessThan(0) // -2: no such key
    // B rendered at once: it never waited for a lease (a ghost would have held it up to the lease ttl, 3 s).
    expect(b.cache.stats().leaseWaits).toBe(0)
    expect(took).toBeLessThan(lease.ttl * 1000)
  })

  /**
   * A private server (DEBUG enabled) where another cache wrote 'k', and a cache with `readTimeout: 0.2`,
   * connected (a write's deadline is 5 s, connecting included), with 'k' not in its L1.
   */
  async function readerOfSleepyRedis(name: string) {
    const s = await server(['--enable-debug-command', 'yes'])
    const prefix = uniquePrefix(name)
    const writer = cacheOn(s, { prefix })
    expect(await writer.cache.set('k', 'value')).toBe(true)
    const reader = cacheOn(s, { prefix, readTimeout: 0.2 })
    expect(await reader.cache.set('other', 1)).toBe(true)
    expect(reader.errors).toEqual([])
    return { s, ...reader }
  }

  it('answers within the read deadline while Redis is busy (DEBUG SLEEP 1): a miss in < 0.8 s, E_STORE_READ reported', async () => {
    const { s, cache, errors } = await readerOfSleepyRedis('slow')
    const { raw, awake } = await putToSleep(s, 1)
    const started = performance.now()
    const got = await cache.get('k')
    const took = elapsed(started)
    await awake
    await raw.quit()
    console.log(`[faults] get during DEBUG SLEEP 1 (readTimeout 0.2): ${got === undefined ? 'miss' : got.status} after ${took.toFixed(0)} ms; reported ${JSON.stringify(errors.map((e) => e.message))}`)
    expect(got).toBeUndefined()
    expect(took).toBeLessThan(800)
    expect(errors.some((e) => e.code === 'E_STORE_READ' && /deadline/.test(e.message))).toBe(true)
    // Once Redis is awake, the entry is there.
    expect(await cache.get('k')).toMatchObject({ status: 'hit', value: 'value' })
  })

  it('a deadline is the store\'s time, not this process\'s: calls in flight across a 1.5 s stall of the event loop (readTimeout 0.5) are answered, nothing reported', async () => {
    const s = await server()
    const prefix = uniquePrefix('stall')
    const writer = cacheOn(s, { prefix })
    const keys = ['/a', '/b', '/c', '/d', '/e']
    for (const key of keys) expect(await writer.cache.set(key, `page ${key}`, { tags: ['posts'] })).toBe(true)
    const { cache, errors } = cacheOn(s, { prefix, readTimeout: 0.5, circuitBreaker: { failures: 3 } })
    // Connected, and none of the keys in its L1.
    expect(await cache.set('other', 1)).toBe(true)
    const reads = keys.map((key) => cache.get(key))
    const write = cache.set('/during', 'written')
    // A long synchronous task (a big render): Redis answers within a millisecond, the replies wait unread.
    const until = performance.now() + 1500
    while (performance.now() < until) {
      // busy
    }
    const got = await Promise.all(reads)
    expect(got.map((result) => result?.status)).toEqual(keys.map(() => 'hit'))
    expect(got.map((result) => result?.value)).toEqual(keys.map((key) => `page ${key}`))
    expect(await write).toBe(true)
    expect(errors.map((e) => e.message)).toEqual([])
    expect(cache.stats().circuit).toBe('closed')
  })

  it('a loop late on every tick (overload) still fails the calls of a silent store (DEBUG SLEEP 3): a miss long before Redis wakes', async () => {
    const { s, cache, errors } = await readerOfSleepyRedis('late-loop')
    const { raw, awake } = await putToSleep(s, 3)
    // Every turn of the loop now holds it for 80 ms: each deadline tick comes late, as after a stall.
    const hog = setInterval(() => {
      const until = performance.now() + 80
      while (performance.now() < until) {
        // busy
      }
    }, 1)
    const started = performance.now()
    let got: unknown
    try {
      got = await cache.get('k')
    } finally {
      clearInterval(hog)
    }
    const took = elapsed(started)
    await awake
    await raw.quit()
    console.log(`[faults] get from a sleeping Redis, loop held 80 ms per turn (readTimeout 0.2): ${got === undefined ? 'miss' : 'answered'} after ${took.toFixed(0)} ms`)
    // A stall earns a call its deadline once more, not for ever: Redis sleeps for 3 s, the read gave up long before.
    expect(got).toBeUndefined()
    expect(took).toBeLessThan(2500)
    expect(errors.some((e) => e.code === 'E_STORE_READ' && /deadline/.test(e.message))).toBe(true)
  })

  // Two breaker settings: with the default one the lease request is one failure among others; with
  // `failures: 2` it is the failure that opens the circuit (after the read's), so nothing more reaches Redis.
  it.each([
    { breaker: 'default', circuitBreaker: undefined },
    { breaker: 'failures 2 (the lease request opens the circuit)', circuitBreaker: { failures: 2, cooldown: 0.2 } },
  ])('a lease that Redis grants after its request missed the deadline (Redis busy) is given back, not left to block the key; breaker $breaker', async ({ circuitBreaker }) => {
    const s = await server(['--enable-debug-command', 'yes'])
    const prefix = uniquePrefix('late-lease')
    const lease = { ttl: 3 }
    const a = cacheOn(s, { prefix, lease, readTimeout: 0.1, writeTimeout: 0.1, ...(circuitBreaker ? { circuitBreaker } : {}) })
    await writeOnce('A to connect and write', () => a.cache.set('other', 1))
    const { raw, awake: sleeping } = await putToSleep(s, 0.6)
    // A renders 'k' while Redis sleeps: its read and lease request miss their deadlines (fail open), but they
    // were sent, and Redis runs them when it wakes up.
    expect(await a.cache.getOrSet('k', () => 'rendered by A', { tags: ['t'] })).toMatchObject({ status: 'miss', value: 'rendered by A' })
    await sleeping
    await waitFor('A to write again', () => a.cache.set('probe', 1), 5000, 50)
    await waitFor('A to settle', () => a.cache.stats().inflight === 0, 5000)
    const ghost = await raw.pTTL(`${prefix}:l:default:k`)
    await raw.quit()

    // The page is purged (if it was written at all); the next caller has nothing to serve, and nobody is
    // rendering it: it must render at once.
    const b = cacheOn(s, { prefix, lease, readTimeout: 0.2, writeTimeout: 0.2 })
    await b.cache.revalidateTag('t')
    const started = performance.now()
    const result = await b.cache.getOrSet('k', () => 'rendered by B')
    const took = elapsed(started)
    console.log(
      `[faults] after DEBUG SLEEP (breaker ${circuitBreaker ? JSON.stringify(circuitBreaker) : 'default'}): the lease of 'k' that A gave up on is ${ghost > 0 ? `PRESENT (a ghost, ${ghost} ms left)` : 'absent'}; ` +
        `B's getOrSet('k') after a purge took ${took.toFixed(0)} ms (lease waits ${b.cache.stats().leaseWaits})`,
    )
    expect(result).toMatchObject({ status: 'miss', value: 'rendered by B' })
    expect(ghost).toBeLessThan(0) // -2: no such key
    // B rendered at once: it never waited for a lease (a ghost would have held it up to the lease ttl, 3 s).
    expect(b.cache.stats().leaseWaits).toBe(0)
    expect(took).toBeLessThan(lease.ttl * 1000)
  })

  // With the default breaker the missed deadlines stay below its threshold; with `failures: 2` they open the
  // circuit, and the calls it then skips must count as "the store is slow" too, not "the store is down".
  it.each([
    { breaker: 'default', circuitBreaker: undefined },
    { breaker: 'failures 2 (the deadlines open the circuit)', circuitBreaker: { failures: 2, cooldown: 1 } },
  ])('a lease request that missed its deadline (Redis busy) counts as held elsewhere: a stale page is served, not rendered on every instance at once; breaker $breaker', async ({ circuitBreaker }) => {
    const s = await server(['--enable-debug-command', 'yes'])
    const prefix = uniquePrefix('busy-lease')
    // l1MaxAge 0.5: the L1 copies are due for their re-check when Redis falls asleep, so every lookup asks it.
    const options = { prefix, l1MaxAge: 0.5, readTimeout: 0.1, writeTimeout: 0.1, lease: { ttl: 3 }, ...(circuitBreaker ? { circuitBreaker } : {}) }
    const [a, b] = [cacheOn(s, options), cacheOn(s, options)]
    await writeOnce('A to connect and write', () => a.cache.set('p', 'v1', { revalidate: 1 }))
    await waitFor('B to read p', async () => (await b.cache.get('p'))?.value === 'v1', 10_000, 50)
    await sleep(1100) // 'p' is stale now, and both L1 copies are past their re-check age
    let renders = 0
    const render = () => `v2 (render ${++renders})`
    const { raw, awake: sleeping } = await putToSleep(s, 0.6)
    // Each instance's read misses its deadline and serves its L1 copy, stale; its lease request misses its
    // deadline too. Nobody knows who holds the lease: nobody renders.
    const during = await Promise.all([a.cache.getOrSet('p', render), b.cache.getOrSet('p', render), a.cache.acquireLease('p'), b.cache.acquireLease('p')])
    // Once more, while Redis still sleeps (with `failures: 2` the circuit is open now: these calls are skipped).
    const again = await Promise.all([a.cache.getOrSet('p', render), a.cache.acquireLease('p')])
    expect(again[0]).toMatchObject({ status: 'stale', value: 'v1' })
    expect(again[1], 'a lease request skipped by a circuit that opened on missed deadlines is not won').toBeUndefined()
    await sleeping
    await raw.quit()
    const leases = during.slice(2).map((lease) => (lease === undefined ? 'held elsewhere' : 'won'))
    console.log(`[faults] during DEBUG SLEEP: getOrSet ${during.slice(0, 2).map((r) => JSON.stringify(r)).join(', ')}; acquireLease ${leases.join(', ')}; renders ${renders}`)
    expect(during[0]).toMatchObject({ status: 'stale', value: 'v1' })
    expect(during[1]).toMatchObject({ status: 'stale', value: 'v1' })
    expect(leases, 'acquireLease whose request missed its deadline is not won').toEqual(['held elsewhere', 'held elsewhere'])
    await waitFor('A and B to settle', () => a.cache.stats().inflight === 0 && b.cache.stats().inflight === 0, 5000)
    expect(renders, 'no instance rendered on a lease whose answer never came').toBe(0)
    // Once Redis answers again, the next stale lookup regenerates, once.
    await waitFor('A to write again', () => a.cache.set('probe', 1), 5000, 50)
    await waitFor('the late lease requests to be given back', async () => (await a.cache.acquireLease('q')) !== undefined, 5000, 50)
    await a.cache.getOrSet('p', render)
    await waitFor('the regeneration to land', async () => (await a.cache.get('p'))?.status === 'hit', 5000, 20)
    expect(renders).toBe(1)
  })

  it('treats a corrupt entry as a reported miss (E_DECODE), and getOrSet regenerates and overwrites it', async () => {
    const s = await server()
    const prefix = uniquePrefix('corrupt')
    const raw = await rawClient(s.url)
    const { cache, errors, codes } = cacheOn(s, { prefix, readTimeout: 0.5 })
    // Garbage bytes, and a real envelope whose body was damaged (its checksum no longer matches).
    const intact = cacheOn(s, { prefix })
    await intact.cache.set('damaged', { big: 'x'.repeat(100) })
    const good = (await raw.get(`${prefix}:e:default:damaged`)) as unknown as Buffer
    const damaged = Buffer.from(good)
    for (let i = damaged.length - 8; i < damaged.length; i += 1) damaged[i] = damaged[i]! ^ 0x5a
    await raw.set(`${prefix}:e:default:garbage`, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 255, 254]))
    await raw.set(`${prefix}:e:default:damaged`, damaged)

    for (const key of ['garbage', 'damaged']) {
      expect(await cache.get(key)).toBeUndefined()
      expect(errors.some((e) => e.code === 'E_DECODE' && e.message.includes(key))).toBe(true)
      const result = await cache.getOrSet(key, () => `regenerated ${key}`)
      expect(result).toMatchObject({ status: 'miss', value: `regenerated ${key}` })
    }
    await waitFor('writes to land', () => cache.stats().inflight === 0, 5000)
    for (const key of ['garbage', 'damaged']) {
      const stored = (await raw.get(`${prefix}:e:default:${key}`)) as unknown as Buffer
      expect(stored.subarray(0, 4).toString()).toBe('ISR1')
      const other = cacheOn(s, { prefix })
      expect(await other.cache.get(key)).toMatchObject({ status: 'hit', value: `regenerated ${key}` })
      expect(other.errors).toEqual([])
    }
    // Each read of the damaged bytes was reported (the get's and getOrSet's own lookup), nothing else.
    expect(cache.stats().decodeErrors).toBeGreaterThanOrEqual(2)
    expect(codes().filter((c) => c === 'E_DECODE')).toHaveLength(cache.stats().decodeErrors)
    expect(codes().filter((c) => c !== 'E_DECODE')).toEqual([])
    await raw.quit()
  })

  // Stopped: the client knows at once that Redis is gone. Asleep (DEBUG SLEEP): connected but silent, as
  // in a network partition; each call then costs its whole deadline, which is what the breaker saves.
  it.each(['stopped', 'asleep'] as const)('circuit breaker, Redis %s: opens after `failures` failures, then fails fast; closes again once Redis is back + cooldown', async (mode) => {
    const s = await server(mode === 'asleep' ? ['--enable-debug-command', 'yes'] : [])
    const prefix = uniquePrefix('breaker')
    const { cache, codes } = cacheOn(s, { prefix, readTimeout: 0.2, writeTimeout: 0.2, circuitBreaker: { failures: 3, cooldown: 2 } })
    await writeOnce('the cache to connect and write', () => cache.set('k', 1))
    expect(cache.stats().circuit).toBe('closed')
    // Counted from here (a slow connection may have opened and closed the circuit above).
    const openedBefore = codes().filter((c) => c === 'E_STORE_UNAVAILABLE').length
    const unavailable = () => codes().filter((c) => c === 'E_STORE_UNAVAILABLE').length - openedBefore
    let sleeping: Promise<unknown> | undefined
    if (mode === 'stopped') {
      await s.stop()
    } else {
      const { raw, awake } = await putToSleep(s, 1.5)
      sleeping = awake.finally(() => raw.quit())
    }

    // Each read of a key not held locally fails (at once, or at its deadline) until the third opens the circuit.
    const t0 = performance.now()
    for (let i = 0; i < 3; i += 1) expect(await cache.get(`cold-${i}`)).toBeUndefined()
    const failing = elapsed(t0)
    expect(cache.stats().circuit).toBe('open')
    expect(unavailable()).toBe(1)

    // Open: no deadline waits.
    const t1 = performance.now()
    for (let i = 0; i < 20; i += 1) expect(await cache.get(`cold-${i}`)).toBeUndefined()
    const fast = elapsed(t1)
    expect(fast).toBeLessThan(100)
    expect(cache.stats().circuit).toBe('open')
    expect(unavailable()).toBe(1)

    if (mode === 'stopped') await s.start()
    else await sleeping
    const back = performance.now()
    const closedAfter = await waitFor(
      'the circuit to close',
      async () => {
        await cache.get('k')
        return cache.stats().circuit === 'closed'
      },
      10_000,
      50,
    )
    // Reads and writes go through again (a restarted server is empty: it keeps no data).
    expect(await cache.set('k2', 2)).toBe(true)
    const other = cacheOn(s, { prefix })
    expect(await other.cache.get('k2')).toMatchObject({ status: 'hit', value: 2 })
    if (mode === 'asleep') expect(await other.cache.get('k')).toMatchObject({ status: 'hit', value: 1 })
    console.log(
      `[faults] circuit breaker (failures 3, cooldown 2 s), Redis ${mode}: 3 failing reads took ${failing.toFixed(0)} ms, then 20 reads while open took ${fast.toFixed(1)} ms; ` +
        `closed ${closedAfter.toFixed(0)} ms after Redis was back; E_STORE_UNAVAILABLE reported ${unavailable()}×`,
    )
    expect(unavailable()).toBe(1)
  })

  it('leaves no unhandled rejection behind', async () => {
    await sleep(50)
    expect(unhandled.map(String)).toEqual([])
  })
})

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

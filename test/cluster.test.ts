/**
 * A real cluster: four worker processes (test/support/worker.mjs, on the BUILT package) sharing the real
 * Redis server, each with its own L1 tier, change-feed subscription and lease client. No mocks.
 *
 * - a purge on one instance is seen by the others within a bound (the change feed makes it milliseconds);
 * - 4 × 250 concurrent getOrSet on one stale key, or on one missing key, regenerate exactly once in the
 *   whole cluster (counted by the workers and, independently, by an INCR in Redis);
 * - a lease holder SIGKILLed mid-regeneration blocks the others no longer than its lease ttl.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { REDIS_URL, dropPrefix, rawClient, redisAvailable, uniquePrefix } from './support/redis.js'

const WORKER = fileURLToPath(new URL('./support/worker.mjs', import.meta.url))
const BUILT = fileURLToPath(new URL('../dist/index.js', import.meta.url))

interface WorkerError {
  code: string
  message: string
}
interface Outcome {
  ok: boolean
  status?: 'hit' | 'stale' | 'miss'
  value?: { pid: number; n: number; tag?: string }
  error?: WorkerError
}
interface GetOrSetReply {
  outcomes: Outcome[]
  startedAt: number
  endedAt: number
  regenerations: number
}
interface Lookup {
  status: 'hit' | 'stale'
  value: unknown
  lastModified: number
}
interface WorkerStats {
  regenerations: number
  leaseWaits: number
  inflight: number
  l1Hits: number
  workerRegenerations: number
  errors: WorkerError[]
  unhandled: number
}
type Event = { id?: number; event: string; [field: string]: unknown }

/** A worker process and its pending calls. */
interface Worker {
  child: ChildProcess
  pid: number
  name: string
  pending: Map<number, { resolve(value: unknown): void; reject(error: Error): void; onEvent?: (event: Event) => void }>
  exited: Promise<void>
}

let nextId = 1

function spawnWorker(name: string): Promise<Worker> {
  const child = fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  const pending: Worker['pending'] = new Map()
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const call of pending.values()) call.reject(new Error(`worker ${name} exited (${signal ?? code}) before replying`))
      pending.clear()
      resolve()
    })
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start within 15 s`)), 15_000)
    child.once('error', reject)
    child.on('message', (message: Event & { ok?: boolean; result?: unknown; error?: WorkerError }) => {
      if (message.event === 'ready' && message.id === undefined) {
        clearTimeout(timer)
        resolve({ child, pid: message.pid as number, name, pending, exited })
        return
      }
      const call = message.id === undefined ? undefined : pending.get(message.id)
      if (call === undefined) return
      if (message.event !== undefined) {
        call.onEvent?.(message)
        return
      }
      pending.delete(message.id!)
      if (message.ok) call.resolve(message.result)
      else call.reject(Object.assign(new Error(`worker ${name}: ${message.error?.message}`), { code: message.error?.code }))
    })
    void exited.then(() => reject(new Error(`worker ${name} exited at start-up`)))
  })
}

/** Sends a command to a worker; resolves with its reply. `onEvent` sees the progress events sent before it. */
function call<T = unknown>(worker: Worker, message: Record<string, unknown>, onEvent?: (event: Event) => void): Promise<T> {
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    worker.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onEvent })
    worker.child.send({ ...message, id })
  })
}

/** Sends a command and also resolves a promise at the first progress event called `name`. */
function callWithEvent<T>(worker: Worker, message: Record<string, unknown>, name: string): { reply: Promise<T>; event: Promise<Event> } {
  let seen!: (event: Event) => void
  const event = new Promise<Event>((resolve) => (seen = resolve))
  const reply = call<T>(worker, message, (e) => {
    if (e.event === name) seen(e)
  })
  return { reply, event }
}

async function stopWorker(worker: Worker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return
  const killer = setTimeout(() => worker.child.kill('SIGKILL'), 3000)
  try {
    await call(worker, { op: 'close' }).catch(() => {})
    worker.child.kill('SIGTERM')
    await worker.exited
  } finally {
    clearTimeout(killer)
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const clock = () => performance.timeOrigin + performance.now()

describe.runIf(redisAvailable)('a cluster of 4 processes on one Redis', () => {
  const workers: Worker[] = []
  const extra: Worker[] = []
  const prefixes: string[] = []
  let prefix = ''

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: the cluster tests run the built package; run \`npm run build\` (npm test does) first`)
    workers.push(...(await Promise.all([1, 2, 3, 4].map((n) => spawnWorker(`w${n}`)))))
  })

  afterAll(async () => {
    await Promise.all([...workers, ...extra].map(stopWorker))
    for (const p of prefixes) await dropPrefix(p)
  })

  afterEach(async () => {
    // Every worker must have reported no unhandled rejection during the test.
    const stats = await Promise.all(workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null).map((w) => call<WorkerStats>(w, { op: 'stats' })))
    expect(stats.map((s) => s.unhandled)).toEqual(stats.map(() => 0))
  })

  /** A fresh cache on every worker, under a prefix unique to the test. */
  async function initAll(name: string, options: Record<string, unknown> = {}, on: Worker[] = workers): Promise<string> {
    prefix = uniquePrefix(`cluster-${name}`)
    prefixes.push(prefix)
    await Promise.all(on.map((w) => call(w, { op: 'init', options: { store: REDIS_URL, prefix, ...options }, counterUrl: REDIS_URL })))
    return prefix
  }

  async function redisCounter(key: string): Promise<number> {
    const raw = await rawClient()
    try {
      const value = await raw.get(key)
      return value === null ? 0 : Number(String(value))
    } finally {
      await raw.quit()
    }
  }

  it('sees a purge made on one instance on all the others within 1 s, with the L1 tier on (tag hard/soft, layout path)', async () => {
    await initAll('purge') // l1 on (the default), l1MaxAge 1 s, tagCacheTtl 1 s
    const [w1, ...others] = workers as [Worker, ...Worker[]]
    const cases = [
      { key: 'hard', purge: { op: 'revalidateTag', tags: 'posts-hard' }, entry: { tags: ['posts-hard'] }, expect: 'miss' },
      { key: 'soft', purge: { op: 'revalidateTag', tags: 'posts-soft', options: { expire: 60 } }, entry: { tags: ['posts-soft'] }, expect: 'stale' },
      { key: 'layout', purge: { op: 'revalidatePath', path: '/blog', options: { type: 'layout' } }, entry: { path: '/blog/2024/hello' }, expect: 'miss' },
    ] as const
    const report: string[] = []
    for (const c of cases) {
      expect(await call(w1, { op: 'set', key: c.key, value: `page ${c.key}`, options: c.entry })).toBe(true)
      // Warm every other instance's L1 tier (and its tag cache) with a fresh hit.
      for (const w of others) expect((await call<Lookup>(w, { op: 'get', key: c.key }))?.status).toBe('hit')
      const watches = others.map((w) => callWithEvent<{ status: string; at: number; polls: number; timedOut?: boolean }>(w, { op: 'watchGet', key: c.key, from: 'hit', timeoutMs: 5000, intervalMs: 2 }, 'armed'))
      const armed = await Promise.all(watches.map((w) => w.event))
      expect(armed.map((a) => a.status)).toEqual(others.map(() => 'hit'))
      const purge = await call<{ startedAt: number; endedAt: number }>(w1, c.purge)
      const seen = await Promise.all(watches.map((w) => w.reply))
      expect(seen.map((s) => s.status)).toEqual(others.map(() => c.expect))
      const delays = seen.map((s) => s.at - purge.startedAt)
      const max = Math.max(...delays)
      report.push(
        `${c.purge.op}${'options' in c.purge ? ' ' + JSON.stringify(c.purge.options) : ''}: seen by w2-w4 after ${delays.map((d) => d.toFixed(1)).join(' / ')} ms ` +
          `(from the purge call's start; the call itself took ${(purge.endedAt - purge.startedAt).toFixed(1)} ms; max after it returned ${Math.max(...seen.map((s) => s.at - purge.endedAt)).toFixed(1)} ms)`,
      )
      expect(max).toBeLessThan(1000)
      // The instance that purged sees it at once, too.
      const own = await call<Lookup | undefined>(w1, { op: 'get', key: c.key })
      expect(own === undefined ? 'miss' : own.status).toBe(c.expect)
    }
    console.log(`[cluster] purge propagation with L1 on:\n  ${report.join('\n  ')}`)
  })

  it('4 × 250 concurrent getOrSet on one STALE key: one regeneration in the whole cluster, every caller served, then all serve the new value', async () => {
    const p = await initAll('stale')
    const counterKey = `${p}:regenerations`
    const [w1] = workers as [Worker]
    // Stale from the start: written 5 s ago with a 1 s revalidate.
    expect(await call(w1, { op: 'set', key: 'hot', value: { pid: 0, n: 0, tag: 'seed' }, options: { revalidate: 1, lastModified: Date.now() - 5000 } })).toBe(true)
    expect((await call<Lookup>(w1, { op: 'get', key: 'hot' }))?.status).toBe('stale')

    const started = clock()
    const replies = await Promise.all(
      workers.map((w) => call<GetOrSetReply>(w, { op: 'getOrSet', key: 'hot', count: 250, delayMs: 300, options: { revalidate: 3600 }, counterKey, tag: 'new' })),
    )
    const answeredIn = clock() - started
    const outcomes = replies.flatMap((r) => r.outcomes)
    expect(outcomes).toHaveLength(1000)
    expect(outcomes.filter((o) => !o.ok)).toEqual([])
    // Stale-while-revalidate: callers are answered with the stale page (late ones may get the new one).
    expect(outcomes.every((o) => o.value !== undefined && (o.value.tag === 'seed' || o.value.tag === 'new'))).toBe(true)
    const statuses = countBy(outcomes.map((o) => o.status!))

    await Promise.all(workers.map((w) => call(w, { op: 'settle' })))
    const stats = await Promise.all(workers.map((w) => call<WorkerStats>(w, { op: 'stats' })))
    const perWorker = stats.map((s) => s.workerRegenerations)
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(1)
    expect(await redisCounter(counterKey)).toBe(1)
    const regenerator = workers[perWorker.indexOf(1)]!

    // Every instance serves the new page (its L1 copy of the stale one was dropped by the change feed).
    const waits: number[] = []
    for (const w of workers) {
      const since = clock()
      for (;;) {
        const got = await call<Lookup | undefined>(w, { op: 'get', key: 'hot' })
        if (got?.status === 'hit' && (got.value as { tag: string }).tag === 'new') {
          expect(got.value).toEqual({ pid: regenerator.pid, n: 1, tag: 'new' })
          break
        }
        expect(clock() - since).toBeLessThan(2000)
        await sleep(10)
      }
      waits.push(clock() - since)
    }
    console.log(
      `[cluster] stale key, 4 × 250 getOrSet: answered in ${answeredIn.toFixed(0)} ms, statuses ${JSON.stringify(statuses)}, ` +
        `regenerations per worker ${JSON.stringify(perWorker)} (Redis counter 1), all workers serve the new value (after ${waits.map((w) => w.toFixed(1)).join(' / ')} ms)`,
    )
  })

  it('4 × 250 concurrent getOrSet on one MISSING key: one regeneration in the whole cluster, all 1000 callers get the same value', async () => {
    const p = await initAll('missing')
    const counterKey = `${p}:regenerations`
    const started = clock()
    const replies = await Promise.all(workers.map((w) => call<GetOrSetReply>(w, { op: 'getOrSet', key: 'cold', count: 250, delayMs: 300, counterKey })))
    const answeredIn = clock() - started
    const outcomes = replies.flatMap((r) => r.outcomes)
    expect(outcomes).toHaveLength(1000)
    expect(outcomes.filter((o) => !o.ok)).toEqual([])
    const values = new Set(outcomes.map((o) => JSON.stringify(o.value)))
    expect([...values]).toHaveLength(1)
    await Promise.all(workers.map((w) => call(w, { op: 'settle' })))
    const stats = await Promise.all(workers.map((w) => call<WorkerStats>(w, { op: 'stats' })))
    const perWorker = stats.map((s) => s.workerRegenerations)
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(1)
    expect(await redisCounter(counterKey)).toBe(1)
    const regenerator = workers[perWorker.indexOf(1)]!
    expect(outcomes[0]!.value).toEqual({ pid: regenerator.pid, n: 1 })
    console.log(
      `[cluster] missing key, 4 × 250 getOrSet: answered in ${answeredIn.toFixed(0)} ms, statuses ${JSON.stringify(countBy(outcomes.map((o) => o.status!)))}, ` +
        `regenerations per worker ${JSON.stringify(perWorker)} (Redis counter 1), lease waits per worker ${JSON.stringify(stats.map((s) => s.leaseWaits))}, one value ${[...values][0]}`,
    )
  })

  it('a lease holder SIGKILLed mid-regeneration blocks the others no longer than its lease (ttl 1 s)', async () => {
    const victim = await spawnWorker('victim')
    extra.push(victim)
    const [, w2, w3] = workers as [Worker, Worker, Worker]
    // wait: 30 so that only the lease expiring (not the waiter giving up) can let w2 through.
    const lease = { ttl: 1, wait: 30 }
    const p = await initAll('killed', { lease }, [...workers, victim])
    const counterKey = `${p}:regenerations`

    const doomed = callWithEvent<GetOrSetReply>(victim, { op: 'getOrSet', key: 'orphan', count: 1, delayMs: 5000, counterKey }, 'regenerating')
    doomed.reply.catch(() => {}) // it dies before replying
    await doomed.event // it holds the lease and is rendering
    victim.child.kill('SIGKILL')
    await victim.exited
    const killedAt = clock()

    const reply = await call<GetOrSetReply>(w2, { op: 'getOrSet', key: 'orphan', count: 1, delayMs: 20, counterKey })
    const took = clock() - killedAt
    expect(reply.outcomes[0]).toMatchObject({ ok: true, status: 'miss', value: { pid: w2.pid, n: 1 } })
    expect(took).toBeLessThan(4000)
    const stats = await call<WorkerStats>(w2, { op: 'stats' })
    expect(stats.leaseWaits).toBe(1) // it did find the dead instance's lease, and waited it out
    expect(stats.workerRegenerations).toBe(1)
    expect(await redisCounter(counterKey)).toBe(2) // the victim's and w2's

    await call(w2, { op: 'settle' })
    // w2 released its lease, and the others now serve its page.
    const raw = await rawClient()
    expect(await raw.exists(`${p}:l:default:orphan`)).toBe(0)
    await raw.quit()
    const got = await call<Lookup>(w3, { op: 'get', key: 'orphan' })
    expect(got).toMatchObject({ status: 'hit', value: { pid: w2.pid, n: 1 } })
    console.log(`[cluster] lease holder SIGKILLed mid-regeneration (lease ttl 1 s, its render would take 5 s): another instance rendered and answered ${took.toFixed(0)} ms after the kill`)
  })
})

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

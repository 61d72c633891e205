/**
 * Two app instances in their own processes (test/support/worker.mjs, on the BUILT package: `npm run build`
 * first) on a private Redis Cluster (3 masters + 3 replicas started here): a purge on one is seen by the
 * other through the sharded change feed, and 2 × 100 concurrent getOrSet on one missing key render once.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPrivateCluster, type PrivateCluster } from './support/redis-topologies.js'

const WORKER = fileURLToPath(new URL('./support/worker.mjs', import.meta.url))
const BUILT = fileURLToPath(new URL('../dist/index.js', import.meta.url))

interface Worker {
  child: ChildProcess
  pending: Map<number, { resolve(value: unknown): void; reject(error: Error): void }>
}

let nextId = 1

function spawnWorker(): Promise<Worker> {
  const child = fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' })
  const worker: Worker = { child, pending: new Map() }
  child.once('exit', (code, signal) => {
    for (const call of worker.pending.values()) call.reject(new Error(`worker exited (${signal ?? code}) before replying`))
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not start within 15 s')), 15_000)
    child.on('message', (message: { id?: number; event?: string; ok?: boolean; result?: unknown; error?: { message: string } }) => {
      if (message.event === 'ready' && message.id === undefined) {
        clearTimeout(timer)
        resolve(worker)
        return
      }
      const call = message.id === undefined || message.event !== undefined ? undefined : worker.pending.get(message.id)
      if (call === undefined) return
      worker.pending.delete(message.id!)
      if (message.ok) call.resolve(message.result)
      else call.reject(new Error(`worker: ${message.error?.message}`))
    })
  })
}

function call<T = unknown>(worker: Worker, message: Record<string, unknown>): Promise<T> {
  const id = nextId++
  return new Promise<T>((resolve, reject) => {
    worker.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
    worker.child.send({ ...message, id })
  })
}

describe('two processes on a Redis Cluster (3 masters + 3 replicas)', () => {
  let cluster: PrivateCluster
  const workers: Worker[] = []

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: these tests run the built package; run \`npm run build\` (npm test does) first`)
    cluster = await startPrivateCluster(3, 1)
    workers.push(...(await Promise.all([spawnWorker(), spawnWorker()])))
  }, 60_000)

  afterAll(async () => {
    for (const worker of workers) {
      await call(worker, { op: 'close' }).catch(() => {})
      worker.child.kill('SIGTERM')
    }
    await cluster?.close()
  })

  async function initBoth(name: string): Promise<void> {
    // l1MaxAge and tagCacheTtl of a minute: only the feed can tell an instance about the other's purge.
    const options = { store: cluster.url, prefix: `isr-rcp-${name}-${process.pid}`, l1MaxAge: 60, tagCacheTtl: 60 }
    await Promise.all(workers.map((worker) => call(worker, { op: 'init', options })))
  }

  it('a purge on one instance reaches the other through the sharded feed', async () => {
    await initBoth('purge')
    const [w1, w2] = workers as [Worker, Worker]
    expect(await call(w1, { op: 'set', key: 'page', value: 'v1', options: { tags: ['posts'] } })).toBe(true)
    expect((await call<{ status: string }>(w2, { op: 'get', key: 'page' })).status).toBe('hit')
    await new Promise((resolve) => setTimeout(resolve, 2))
    const watch = call<{ status: string; timedOut?: boolean }>(w2, { op: 'watchGet', key: 'page', from: 'hit', timeoutMs: 5000, intervalMs: 2 })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await call(w1, { op: 'revalidateTag', tags: 'posts' })
    const seen = await watch
    expect(seen.timedOut).toBe(undefined)
    expect(seen.status).toBe('miss')
  })

  it('2 × 100 concurrent getOrSet on one missing key render once in the whole cluster', async () => {
    await initBoth('stampede')
    type Reply = { outcomes: Array<{ ok: boolean; value?: { pid: number } }>; regenerations: number }
    const replies = await Promise.all(workers.map((worker) => call<Reply>(worker, { op: 'getOrSet', key: '/hot', count: 100, delayMs: 300 })))
    const outcomes = replies.flatMap((reply) => reply.outcomes)
    expect(outcomes.filter((outcome) => !outcome.ok)).toEqual([])
    expect(replies.map((reply) => reply.regenerations).reduce((a, b) => a + b, 0)).toBe(1)
    // Every caller, in both processes, got the one rendering.
    expect(new Set(outcomes.map((outcome) => outcome.value?.pid)).size).toBe(1)
  })
})

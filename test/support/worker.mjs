/**
 * One "instance" of an app using isr-cache, in its own process (started with child_process.fork by the
 * cluster and fault tests). It imports the BUILT package (dist/), so `npm run build` (tsup) must have run
 * first; `npm test` does that.
 *
 * Protocol (IPC): the parent sends `{ id, op, ... }`; the worker replies `{ id, ok: true, result }` or
 * `{ id, ok: false, error: { code, message } }`, and may send progress events `{ id, event, ... }` before
 * the reply. Ops:
 *   init        { options, counterUrl? }  (closes any previous cache, resets the counts) createIsrCache({ ...options,
 *               onError }); counterUrl: a Redis server for the INCR counter
 *   getOrSet    { key, count, delayMs, options, counterKey?, tag? }  `count` concurrent getOrSet calls; the
 *               regenerate function counts itself, INCRs counterKey (if given), sends a 'regenerating'
 *               event, sleeps delayMs and returns { pid, n, tag }. Replies every caller's outcome.
 *   get         { key }                    -> { status, value, lastModified } | undefined
 *   watchGet    { key, from, timeoutMs, intervalMs }  sends 'armed' (with the current status), then polls get until its status differs
 *               from `from` ('hit' | 'stale' | 'miss'); replies { status, at, polls } (at: epoch ms, sub-ms)
 *   set         { key, value, options }    -> boolean
 *   revalidateTag  { tags, options }       -> { startedAt, endedAt, result } (result: the PurgeResult)
 *   revalidatePath { path, options }       -> { startedAt, endedAt, result }
 *   delete      { key }                    -> { startedAt, endedAt, result }
 *   settle      { timeoutMs }              waits until no regeneration runs
 *   stats       {}                         -> cache.stats() plus this worker's regeneration count and errors
 *   close       {}                         closes the cache (and the counter client)
 *   exit        {}                         exits the process
 */
import { createClient } from '@redis/client'
import { createIsrCache } from '../../dist/index.js'

/** Epoch ms with sub-millisecond precision, comparable across processes on one machine. */
const clock = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

let cache
let counter
let regenerations = 0
const errors = []
let unhandled = 0

process.on('unhandledRejection', (reason) => {
  unhandled += 1
  errors.push({ code: 'UNHANDLED_REJECTION', message: String(reason?.message ?? reason) })
})

function serializeError(error) {
  return { code: error?.code ?? 'UNKNOWN', message: String(error?.message ?? error), name: error?.name }
}

function send(message) {
  if (process.connected) process.send(message)
}

function lookupResult(result) {
  return result === undefined ? undefined : { status: result.status, value: result.value, lastModified: result.lastModified }
}

const ops = {
  async init({ options, counterUrl }) {
    if (cache !== undefined) await cache.close()
    if (counter?.isOpen) await counter.quit().catch(() => {})
    counter = undefined
    regenerations = 0
    errors.length = 0
    cache = createIsrCache({
      ...options,
      onError: (error) => {
        // Bounded: a dead store may report many errors.
        if (errors.length < 1000) errors.push(serializeError(error))
      },
    })
    if (counterUrl !== undefined) {
      counter = createClient({ url: counterUrl })
      counter.on('error', () => {})
      await counter.connect()
    }
    return { pid: process.pid, storeKind: cache.storeKind }
  },

  async getOrSet({ id, key, count = 1, delayMs = 0, options = {}, counterKey, tag }) {
    const regenerate = async () => {
      regenerations += 1
      const n = regenerations
      if (counterKey !== undefined) await counter.incr(counterKey)
      send({ id, event: 'regenerating', key, n, at: clock() })
      if (delayMs > 0) await sleep(delayMs)
      return { pid: process.pid, n, tag }
    }
    const startedAt = clock()
    const outcomes = await Promise.all(
      Array.from({ length: count }, () =>
        cache.getOrSet(key, regenerate, options).then(
          (result) => ({ ok: true, status: result.status, value: result.value, lastModified: result.lastModified }),
          (error) => ({ ok: false, error: serializeError(error) }),
        ),
      ),
    )
    return { outcomes, startedAt, endedAt: clock(), regenerations }
  },

  async get({ key }) {
    return lookupResult(await cache.get(key))
  },

  async watchGet({ id, key, from, timeoutMs = 5000, intervalMs = 1 }) {
    const statusOf = (result) => (result === undefined ? 'miss' : result.status)
    const first = await cache.get(key)
    // The status when armed: the test checks it is `from`, so the change seen later is the purge's.
    send({ id, event: 'armed', status: statusOf(first), at: clock() })
    const giveUpAt = performance.now() + timeoutMs
    let polls = 0
    for (;;) {
      await sleep(intervalMs)
      const result = await cache.get(key)
      const at = clock()
      polls += 1
      const status = statusOf(result)
      if (status !== from) return { status, value: result?.value, at, polls }
      if (performance.now() > giveUpAt) return { status, value: result?.value, at, polls, timedOut: true }
    }
  },

  async set({ key, value, options = {} }) {
    return cache.set(key, value, options)
  },

  async revalidateTag({ tags, options = {} }) {
    const startedAt = clock()
    const result = await cache.revalidateTag(tags, options)
    return { startedAt, endedAt: clock(), result }
  },

  async revalidatePath({ path, options = {} }) {
    const startedAt = clock()
    const result = await cache.revalidatePath(path, options)
    return { startedAt, endedAt: clock(), result }
  },

  async delete({ key }) {
    const startedAt = clock()
    const result = await cache.delete(key)
    return { startedAt, endedAt: clock(), result }
  },

  async settle({ timeoutMs = 10_000 }) {
    const giveUpAt = performance.now() + timeoutMs
    while (cache.stats().inflight > 0) {
      if (performance.now() > giveUpAt) throw Object.assign(new Error(`still ${cache.stats().inflight} regeneration(s) after ${timeoutMs} ms`), { code: 'E_SETTLE' })
      await sleep(5)
    }
    return true
  },

  async stats() {
    return { ...cache.stats(), workerRegenerations: regenerations, errors, unhandled }
  },

  async close() {
    const startedAt = clock()
    await cache?.close()
    if (counter?.isOpen) await counter.quit().catch(() => {})
    return { ms: clock() - startedAt }
  },

  async exit() {
    setImmediate(() => process.exit(0))
    return true
  },
}

process.on('message', (message) => {
  const { id, op } = message
  const handler = ops[op]
  if (handler === undefined) {
    send({ id, ok: false, error: { code: 'E_UNKNOWN_OP', message: `unknown op ${op}` } })
    return
  }
  Promise.resolve()
    .then(() => handler(message))
    .then(
      (result) => send({ id, ok: true, result }),
      (error) => send({ id, ok: false, error: serializeError(error) }),
    )
})

// The parent went away (killed test run): do not linger.
process.on('disconnect', () => process.exit(0))

send({ event: 'ready', pid: process.pid })

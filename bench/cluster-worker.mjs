// One app instance for the multi-process parts of the bench (bench/run.mjs forks it with child_process.fork).
// It imports the BUILT package (../dist/index.js), like run.mjs. It writes nothing to stdout (run.mjs maps
// this process's stdout to its own stderr anyway, so the last stdout line stays the JSON).
//
// Protocol (IPC, JSON): the parent sends { id, op, ...args }; the worker replies { id, ok: true, result } or
// { id, ok: false, error: { code, message } }, and may send { id, event, ... } before the reply.
//   init      { name, options, noopBus?, counterUrl? }  creates cache `name` (closing an older one of that name).
//             noopBus: the cache gets a bus that neither sends nor receives, i.e. NO change feed (control).
//             counterUrl: a Redis for the regenerate function's INCR counter.
//   set       { name, key, value, options }          -> boolean
//   get       { name, key }                          -> status ('hit' | 'stale' | 'miss')
//   purge     { name, tags }                         t0 = clock(); await revalidateTag(tags) -> { t0, t1, result }
//   watch     { name, control?, key, timeoutMs }     reads `key` (main cache and control cache), sends event
//             'armed' with both statuses, then polls `get` (setImmediate between polls) until the status is
//             no longer 'hit'; then reads the control cache once more.
//             -> { at, status, polls, l1Polls, controlStatus, timedOut }
//   getOrSet  { name, key, count, delayMs, counterKey }  `count` concurrent getOrSet calls; the regenerate
//             function INCRs counterKey, sleeps delayMs, returns { pid, n }. -> { statuses, rejected, errors }
//   settle    { name, timeoutMs }                    waits until stats().inflight is 0 -> stats()
//   stats     { name }                               -> stats() plus errors this cache reported (onError)
//   clock     {}                                     -> clock() (for the parent's skew estimate)
//   close     {}                                     closes every cache and the counter client
import { createClient } from '@redis/client'
import { createIsrCache } from '../dist/index.js'

/** Epoch ms, sub-millisecond, comparable between processes of one machine (same system clock). */
const clock = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const immediate = () => new Promise((resolve) => setImmediate(resolve))
const statusOf = (result) => (result === undefined ? 'miss' : result.status)

const caches = new Map() // name -> { cache, errors }
let counter
let regenerations = 0

process.on('unhandledRejection', (reason) => {
  console.error(`[cluster-worker ${process.pid}] unhandled rejection: ${reason?.stack ?? reason}`)
  for (const slot of caches.values()) slot.errors.push({ code: 'UNHANDLED_REJECTION', message: String(reason?.message ?? reason) })
})

const serializeError = (error) => ({ code: error?.code ?? 'UNKNOWN', message: String(error?.message ?? error) })
const send = (message) => process.connected && process.send(message)
const slot = (name) => {
  const found = caches.get(name)
  if (found === undefined) throw new Error(`no cache named ${name}`)
  return found
}

const ops = {
  async init({ name, options, noopBus = false, counterUrl }) {
    await caches.get(name)?.cache.close()
    const errors = []
    const cache = createIsrCache({
      ...options,
      ...(noopBus ? { bus: { publish() {}, subscribe: () => () => {} } } : {}),
      onError: (error) => {
        if (errors.length < 100) errors.push(serializeError(error))
      },
    })
    caches.set(name, { cache, errors })
    if (counterUrl !== undefined && counter === undefined) {
      counter = createClient({ url: counterUrl })
      counter.on('error', (error) => console.error(`[cluster-worker ${process.pid}] counter client: ${error.message}`))
      await counter.connect()
    }
    return { pid: process.pid }
  },

  async clock() {
    return clock()
  },

  async set({ name, key, value, options = {} }) {
    return slot(name).cache.set(key, value, options)
  },

  async get({ name, key }) {
    return statusOf(await slot(name).cache.get(key))
  },

  async purge({ name, tags }) {
    const { cache } = slot(name)
    const t0 = clock()
    const result = await cache.revalidateTag(tags)
    return { t0, t1: clock(), result }
  },

  async watch({ id, name, control, key, timeoutMs = 2000 }) {
    const { cache } = slot(name)
    const other = control === undefined ? undefined : slot(control).cache
    const first = statusOf(await cache.get(key))
    const firstControl = other === undefined ? undefined : statusOf(await other.get(key))
    send({ id, event: 'armed', status: first, controlStatus: firstControl })
    const l1Before = cache.stats().l1Hits
    const giveUpAt = performance.now() + timeoutMs
    let polls = 0
    let status = first
    let at = clock()
    let timedOut = false
    while (status === 'hit') {
      await immediate() // lets the change feed's socket be read between polls
      status = statusOf(await cache.get(key))
      at = clock()
      polls += 1
      if (status === 'hit' && performance.now() > giveUpAt) {
        timedOut = true
        break
      }
    }
    const l1Polls = cache.stats().l1Hits - l1Before
    const controlStatus = other === undefined ? undefined : statusOf(await other.get(key))
    return { at, status, first, firstControl, polls, l1Polls, controlStatus, timedOut }
  },

  async getOrSet({ name, key, count = 1, delayMs = 0, counterKey }) {
    const { cache } = slot(name)
    const regenerate = async () => {
      regenerations += 1
      const n = regenerations
      if (counterKey !== undefined) await counter.incr(counterKey)
      if (delayMs > 0) await sleep(delayMs)
      return { pid: process.pid, n }
    }
    const outcomes = await Promise.all(
      Array.from({ length: count }, () =>
        cache.getOrSet(key, regenerate).then(
          (result) => ({ status: result.status }),
          (error) => ({ error: serializeError(error) }),
        ),
      ),
    )
    const statuses = {}
    const errors = []
    for (const o of outcomes) {
      if (o.error) errors.push(o.error)
      else statuses[o.status] = (statuses[o.status] ?? 0) + 1
    }
    return { statuses, rejected: errors.length, errors: errors.slice(0, 5), regenerations }
  },

  async settle({ name, timeoutMs = 10_000 }) {
    const { cache } = slot(name)
    const giveUpAt = performance.now() + timeoutMs
    while (cache.stats().inflight > 0) {
      if (performance.now() > giveUpAt) throw new Error(`still ${cache.stats().inflight} regeneration(s) in flight after ${timeoutMs} ms`)
      await sleep(5)
    }
    return cache.stats()
  },

  async stats({ name }) {
    const { cache, errors } = slot(name)
    return { ...cache.stats(), errors }
  },

  async close() {
    await Promise.allSettled([...caches.values()].map(({ cache }) => cache.close()))
    caches.clear()
    if (counter?.isOpen) await counter.quit().catch(() => {})
    counter = undefined
    return true
  },
}

process.on('message', (message) => {
  const handler = ops[message.op]
  if (handler === undefined) {
    send({ id: message.id, ok: false, error: { code: 'E_UNKNOWN_OP', message: `unknown op ${message.op}` } })
    return
  }
  Promise.resolve()
    .then(() => handler(message))
    .then(
      (result) => send({ id: message.id, ok: true, result }),
      (error) => send({ id: message.id, ok: false, error: serializeError(error) }),
    )
})

// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0))
send({ event: 'ready', pid: process.pid })

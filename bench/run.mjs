// isr-cache benchmark: each metric is a ratio against a baseline measured in the same run.
// Run with `npm run bench` (builds dist/ first). Redis: REDIS_URL (default redis://127.0.0.1:6379).
// Prints a table, then (as the last line of stdout) one JSON line with the headline ratios.
// Set BENCH_STRICT=1 to exit with code 1 when a target is missed.
import { fork, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { deserialize } from 'node:v8'
import { createClient, RESP_TYPES } from '@redis/client'
import { LRUCache } from 'lru-cache'
import sqlite3 from 'sqlite3'
import { createIsrCache } from '../dist/index.js'
import { freePort } from '../examples/next/tooling/free-port.mjs'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const RUN_ID = `${process.pid}-${randomBytes(4).toString('hex')}`
const PREFIX = `isr-bench-${RUN_ID}` // every Redis key this run writes starts with this
const NAMESPACE = 'default'

const log = (...args) => console.error(...args) // progress goes to stderr; stdout is the table + JSON
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
/** Median of the per-round ratios ours[i] / base[i]: rounds are interleaved, so this cancels slow drift in machine load. */
const pairedRatio = (ours, base) => median(ours.map((o, i) => o / base[i]))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Errors the library handles without throwing (store/decode errors) would make figures meaningless: count them.
const handledErrors = []
const onError = (error) => {
  handledErrors.push(error)
  log(`[isr-cache error] ${error.code}: ${error.message}`)
}
const caches = []
const open = (options = {}) => {
  const cache = createIsrCache({ onError, ...options })
  caches.push(cache)
  return cache
}
const redisCache = (suffix, options = {}) => open({ store: REDIS_URL, prefix: `${PREFIX}-${suffix}`, ...options })
const entryKey = (prefix, key, namespace = NAMESPACE) => `${prefix}:e:${namespace}:${key}`

/** Whether this build has the `l1` option (an in-process tier in front of shared stores). */
const L1_OPTION = (() => {
  try {
    createIsrCache({ l1: false }) // memory store: opens nothing
    return true
  } catch (error) {
    if (error?.code === 'E_INVALID_OPTION') return false
    throw error
  }
})()

/** Decode baseline: the codec is not exported, so this reproduces its minimal decode (see header of src/codec.ts). */
function decodeEnvelope(bytes) {
  if (bytes.toString('latin1', 0, 4) !== 'ISR1') throw new Error('not an ISR1 envelope')
  if (bytes[4] & 3) throw new Error('compressed body: the baseline decoder does not inflate')
  const metaLength = bytes.readUInt32BE(41)
  const meta = JSON.parse(bytes.toString('utf8', 45, 45 + metaLength))
  const value = deserialize(bytes.subarray(45 + metaLength))
  return { meta, value }
}

// ---------------------------------------------------------------------------------------------------------
// 1. Cache hit vs lru-cache get: headline with Redis behind the L1 tier, and on the memory store
// ---------------------------------------------------------------------------------------------------------
/**
 * `cache`: a fresh cache. `fromL1`: every timed lookup must be answered by the L1 tier (Redis-backed cache),
 * which is checked with stats() so the loop cannot silently measure Redis round trips.
 */
async function benchL1(cache, label, fromL1) {
  const KEYS = 1000
  const PASSES = 150 // iterations per round = KEYS * PASSES
  const ROUNDS = 9
  const keys = Array.from({ length: KEYS }, (_, i) => `/l1/page-${i}`)
  const value = { html: '<html><body><h1>hello</h1></body></html>', props: { id: 1, title: 'hello' } }
  const lru = new LRUCache({ max: 10_000 })
  for (const key of keys) {
    if (!(await cache.set(key, value))) throw new Error(`${label}: set was not stored`) // revalidate defaults to false: the entry stays fresh
    lru.set(key, value)
  }
  for (const key of keys) {
    // Read once: on a shared store this is the read that the L1 tier answers from now on.
    if ((await cache.get(key))?.status !== 'hit') throw new Error(`${label}: expected a hit on the first read of ${key}`)
  }
  // Fairness: both loops have the same shape. Each iteration awaits the lookup (`await lru.get(k)` awaits a
  // plain value, `await cache.get(k)` a resolved promise), over the same 1000 keys in the same order, and
  // checks the result so the lookup cannot be optimised away.
  async function loopLru() {
    let found = 0
    const t0 = performance.now()
    for (let p = 0; p < PASSES; p++) {
      for (let i = 0; i < KEYS; i++) {
        const v = await lru.get(keys[i])
        if (v !== undefined) found++
      }
    }
    const t1 = performance.now()
    if (found !== KEYS * PASSES) throw new Error(`lru baseline missed ${KEYS * PASSES - found} lookups`)
    return ((t1 - t0) * 1e6) / (KEYS * PASSES) // ns per op
  }
  async function loopCache() {
    let found = 0
    const t0 = performance.now()
    for (let p = 0; p < PASSES; p++) {
      for (let i = 0; i < KEYS; i++) {
        const v = await cache.get(keys[i])
        if (v !== undefined) found++
      }
    }
    const t1 = performance.now()
    if (found !== KEYS * PASSES) throw new Error(`${label}: isr-cache missed ${KEYS * PASSES - found} lookups`)
    return ((t1 - t0) * 1e6) / (KEYS * PASSES)
  }
  const before = cache.stats()
  // Warm both up (JIT), then interleave rounds, alternating which goes first.
  await loopLru()
  await loopCache()
  await loopLru()
  await loopCache()
  const ours = []
  const base = []
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2) {
      ours.push(await loopCache())
      base.push(await loopLru())
    } else {
      base.push(await loopLru())
      ours.push(await loopCache())
    }
  }
  const status = (await cache.get(keys[0]))?.status
  if (status !== 'hit') throw new Error(`${label}: expected fresh hits, got ${status}`)
  const after = cache.stats()
  const lookups = after.hits - before.hits
  const l1Hits = after.l1Hits - before.l1Hits
  if (fromL1 && l1Hits !== lookups) throw new Error(`${label}: only ${l1Hits} of ${lookups} timed lookups were answered from L1`)
  return { ours: median(ours), base: median(base), ratio: pairedRatio(ours, base), lookups, l1Hits }
}

// ---------------------------------------------------------------------------------------------------------
// 2. Redis hit (50 KB page) vs raw node-redis GET + decode of the same bytes
// ---------------------------------------------------------------------------------------------------------
async function benchRedisHit(raw) {
  const ITER = 100
  const ROUNDS = 25
  const WARMUP = 50
  const prefix = `${PREFIX}-hit`
  // The metric is about the store path (round trip + decode + freshness), so the headline cache turns the
  // in-process L1 tier off where the build has one; the default configuration (L1 on) is reported as info.
  const cache = redisCache('hit', L1_OPTION ? { l1: false } : {})
  const cacheDefault = L1_OPTION ? redisCache('hit') : undefined
  const chunk = '<div class="card"><h2>Title</h2><p>Lorem ipsum dolor sit amet, consectetur adipiscing.</p></div>\n'
  const html = `<!doctype html><html><body>${chunk.repeat(Math.ceil((25 * 1024) / chunk.length))}</body></html>`.slice(0, 25 * 1024)
  const page = { html, rscData: randomBytes(25 * 1024) }
  const key = '/blog/hello'
  if (!(await cache.set(key, page))) throw new Error('redis: set of the 50 KB page was not written')
  const storedKey = entryKey(prefix, key)
  const storedBytes = await raw.strLen(storedKey)
  if (!storedBytes) throw new Error(`redis: expected key ${storedKey} to exist`)

  const loopOurs = (target) => async (n) => {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const r = await target.get(key)
      if (r?.status !== 'hit' || r.value.html.length !== html.length) throw new Error(`redis: cache.get returned ${r?.status}`)
    }
    return ((performance.now() - t0) * 1000) / n // µs per op
  }
  async function loopBase(n) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const bytes = await raw.get(storedKey)
      const { value } = decodeEnvelope(bytes)
      if (value.html.length !== html.length) throw new Error('redis: raw get missed')
    }
    return ((performance.now() - t0) * 1000) / n
  }
  const contenders = [loopOurs(cache), loopBase, ...(cacheDefault ? [loopOurs(cacheDefault)] : [])]
  // Interleaved warmups (a cache's first read also slides the eviction time via a script; later ones are plain GETs).
  for (let w = 0; w < 3; w++) for (const loop of contenders) await loop(WARMUP)
  const times = contenders.map(() => [])
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order each round so that no contender always runs first.
    for (let j = 0; j < contenders.length; j++) {
      const c = (j + r) % contenders.length
      times[c].push(await contenders[c](ITER))
    }
  }
  const l1Hits = cache.stats().l1Hits ?? 0
  if (l1Hits > 0) throw new Error(`redis: the store-path cache answered ${l1Hits} reads from L1`)
  return {
    ours: median(times[0]),
    base: median(times[1]),
    ratio: pairedRatio(times[0], times[1]),
    withL1: cacheDefault ? median(times[2]) : undefined,
    withL1Ratio: cacheDefault ? pairedRatio(times[2], times[1]) : undefined,
    withL1Hits: cacheDefault ? `${cacheDefault.stats().l1Hits}/${cacheDefault.stats().hits}` : undefined,
    storedBytes,
  }
}

// ---------------------------------------------------------------------------------------------------------
// 3. revalidateTag cost with 100 000 vs 1 000 tagged entries
// ---------------------------------------------------------------------------------------------------------
async function populate(cache, count, label) {
  const BATCH = 200
  const t0 = performance.now()
  for (let start = 0; start < count; start += BATCH) {
    const writes = []
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      writes.push(cache.set(`/${label}/item-${i}`, { id: i, title: `item ${i}` }, { tags: ['shared-tag', `item-${i % 50}`] }))
    }
    const results = await Promise.all(writes)
    if (results.some((ok) => !ok)) throw new Error(`${label}: some writes were not stored`)
  }
  log(`  populated ${count} entries (${label}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

async function benchTagPurge(makeCache, label, purgesPerSample) {
  const SAMPLES = 21
  const small = makeCache('tag1k')
  const large = makeCache('tag100k')
  await populate(small, 1_000, `${label}-1k`)
  await populate(large, 100_000, `${label}-100k`)
  // Sanity: the entries are there and carry the tag.
  for (const [cache, name] of [[small, '1k'], [large, '100k']]) {
    const probe = await cache.get(`/${label}-${name}/item-7`)
    if (probe?.status !== 'hit') throw new Error(`${label}: expected a hit before the purge, got ${probe?.status}`)
  }
  async function sample(cache) {
    const t0 = performance.now()
    for (let i = 0; i < purgesPerSample; i++) await cache.revalidateTag('shared-tag')
    return ((performance.now() - t0) * 1000) / purgesPerSample // µs per purge
  }
  // Warm up both, then interleave samples.
  for (let w = 0; w < 3; w++) {
    await sample(small)
    await sample(large)
  }
  const s = []
  const l = []
  for (let i = 0; i < SAMPLES; i++) {
    if (i % 2) {
      l.push(await sample(large))
      s.push(await sample(small))
    } else {
      s.push(await sample(small))
      l.push(await sample(large))
    }
  }
  // Sanity: the purge took effect on both.
  for (const [cache, name] of [[small, '1k'], [large, '100k']]) {
    const probe = await cache.get(`/${label}-${name}/item-7`)
    if (probe !== undefined) throw new Error(`${label}: expected a miss after the hard purge, got ${probe.status}`)
  }
  await small.close()
  await large.close()
  return { ours: median(l), base: median(s), ratio: pairedRatio(l, s) }
}

// ---------------------------------------------------------------------------------------------------------
// 4. Stampede: 1000 concurrent getOrSet on one stale key
// ---------------------------------------------------------------------------------------------------------
async function benchStampede(makeCache, label) {
  let clock = Date.now()
  const cache = makeCache('stampede', { now: () => clock, revalidate: 1 })
  const key = '/hot'
  if (!(await cache.set(key, { version: 0 }))) throw new Error(`${label}: stampede set failed`)
  const before = await cache.get(key)
  if (before?.status !== 'hit') throw new Error(`${label}: expected a fresh entry, got ${before?.status}`)
  clock += 2_000 // past revalidate: the entry is stale now
  let calls = 0
  const regenerate = async () => {
    calls += 1
    await sleep(25) // a render that takes a little while
    return { version: calls }
  }
  const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet(key, regenerate)))
  // Wait for the background regeneration (and its write) to finish.
  const deadline = Date.now() + 10_000
  while (cache.stats().inflight > 0 && Date.now() < deadline) await sleep(5)
  await sleep(20)
  const statuses = {}
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1
  const after = await cache.get(key)
  if (after?.status !== 'hit' || after.value.version < 1) throw new Error(`${label}: the regenerated entry was not stored (${JSON.stringify(after)})`)
  await cache.close()
  return { ours: calls, base: 1, statuses }
}

// ---------------------------------------------------------------------------------------------------------
// 5. Stored size of a page with a 50 KB binary part
// ---------------------------------------------------------------------------------------------------------
function sqliteLength(file, key) {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (openError) => {
      if (openError) return reject(openError)
      db.get('SELECT length(value) AS n FROM isr_cache_entries WHERE key = ?', [key], (error, row) => {
        db.close(() => (error ? reject(error) : row ? resolve(row.n) : reject(new Error(`sqlite: no row for ${key}`))))
      })
    })
  })
}

async function benchSize(raw, dir) {
  const page = { html: '<!doctype html><html><body><h1>Gallery</h1><img src="/a.png"></body></html>', rscData: randomBytes(50 * 1024) }
  const rawBytes = Buffer.byteLength(page.html, 'utf8') + page.rscData.length
  const key = '/gallery'

  const redis = redisCache('size')
  if (!(await redis.set(key, page))) throw new Error('size: redis set failed')
  const redisBytes = await raw.strLen(entryKey(`${PREFIX}-size`, key))
  const back = await redis.get(key)
  if (!Buffer.isBuffer(back?.value.rscData) || !back.value.rscData.equals(page.rscData)) throw new Error('size: redis round trip changed the bytes')
  await redis.close()

  const file = join(dir, 'bench.sqlite')
  const sqlite = open({ store: `sqlite://${file}`, prefix: `${PREFIX}-size` })
  if (!(await sqlite.set(key, page))) throw new Error('size: sqlite set failed')
  const back2 = await sqlite.get(key)
  if (!Buffer.isBuffer(back2?.value.rscData) || !back2.value.rscData.equals(page.rscData)) throw new Error('size: sqlite round trip changed the bytes')
  await sqlite.close()
  const sqliteBytes = await sqliteLength(file, entryKey(`${PREFIX}-size`, key))
  return { rawBytes, redisBytes, sqliteBytes }
}

// ---------------------------------------------------------------------------------------------------------
// Child processes: forked app instances (bench/cluster-worker.mjs), driven over IPC
// ---------------------------------------------------------------------------------------------------------
const WORKER_SCRIPT = fileURLToPath(new URL('./cluster-worker.mjs', import.meta.url))
const workers = []
/** Epoch ms, sub-millisecond; the workers use the same formula (same system clock on one machine). */
const clock = () => performance.timeOrigin + performance.now()

function startWorker() {
  return new Promise((resolve, reject) => {
    // The worker's stdout goes to our stderr: stdout is reserved for the table and the JSON line.
    const child = fork(WORKER_SCRIPT, [], { stdio: ['ignore', 2, 2, 'ipc'] })
    const pending = new Map()
    let nextId = 1
    const worker = {
      pid: child.pid,
      child,
      exited: false,
      call(op, args = {}, onEvent) {
        if (worker.exited) return Promise.reject(new Error(`worker ${child.pid} has exited`))
        const id = nextId++
        return new Promise((res, rej) => {
          pending.set(id, { op, resolve: res, reject: rej, onEvent })
          child.send({ ...args, id, op })
        })
      },
    }
    child.on('message', (message) => {
      if (message.id === undefined) {
        if (message.event === 'ready') resolve(worker)
        return
      }
      const call = pending.get(message.id)
      if (call === undefined) return
      if (message.event !== undefined) {
        call.onEvent?.(message)
        return
      }
      pending.delete(message.id)
      if (message.ok) call.resolve(message.result)
      else call.reject(Object.assign(new Error(`worker ${child.pid} ${call.op}: ${message.error.message}`), { code: message.error.code }))
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      worker.exited = true
      const error = new Error(`worker ${child.pid} exited (code ${code}, signal ${signal})`)
      for (const call of pending.values()) call.reject(error)
      pending.clear()
      reject(error)
    })
    workers.push(worker)
  })
}

async function stopWorkers() {
  await Promise.allSettled(
    workers.map(async (worker) => {
      if (worker.exited) return
      const exited = new Promise((resolve) => worker.child.once('exit', resolve))
      await Promise.race([worker.call('close'), sleep(3000)]).catch(() => {})
      worker.child.disconnect?.() // the worker exits when its IPC channel closes
      const timer = setTimeout(() => worker.child.kill('SIGKILL'), 2000)
      await exited
      clearTimeout(timer)
    }),
  )
}

/** Errors the workers' caches reported through onError (any of them makes the figures untrustworthy). */
async function workerErrors(name) {
  const all = []
  for (const worker of workers) {
    const stats = await worker.call('stats', { name }).catch(() => undefined)
    for (const error of stats?.errors ?? []) all.push(`worker ${worker.pid} (${name}): ${error.code}: ${error.message}`)
  }
  return all
}

// ---------------------------------------------------------------------------------------------------------
// 6. Purge propagation between two processes (change feed = Redis pub/sub)
// ---------------------------------------------------------------------------------------------------------
async function benchPurgePropagation(purger, observer) {
  const ROUNDS = 1000
  const WARMUP = 30
  const TIMEOUT_MS = 2000
  const prefix = `${PREFIX}-bus`
  // The observer pins what it holds: L1 entries are not re-checked against Redis (l1MaxAge) and tag records
  // are not re-read (tagCacheTtl) for an hour, so within a round only the change feed can show it a purge.
  // Its control cache has the same settings and a bus that delivers nothing: it must keep answering 'hit'.
  const pinned = { store: REDIS_URL, prefix, l1MaxAge: 3600, tagCacheTtl: 3600 }
  await purger.call('init', { name: 'bus', options: { store: REDIS_URL, prefix } })
  await observer.call('init', { name: 'bus', options: pinned })
  await observer.call('init', { name: 'control', options: pinned, noopBus: true })
  const skew = await clockSkew(purger, observer)
  await sleep(100) // the observer's subscriber connection is opened in the background at creation

  const latencies = []
  let timedOut = 0
  let controlHits = 0
  let polls = 0
  let l1Polls = 0
  for (let r = -WARMUP; r < ROUNDS; r++) {
    const i = r + WARMUP
    const key = `/bus/page-${i}`
    const tag = `bus-tag-${i}` // unique per round: nothing any cache held about it before this round
    if (!(await purger.call('set', { name: 'bus', key, value: { i }, options: { tags: [tag] } }))) throw new Error(`propagation: set of ${key} was not stored`)
    let onArmed
    const armed = new Promise((resolve) => (onArmed = resolve))
    const watching = observer.call('watch', { name: 'bus', control: 'control', key, timeoutMs: TIMEOUT_MS }, onArmed)
    const first = await Promise.race([armed, watching])
    if (first.status !== 'hit' || first.controlStatus !== 'hit') {
      throw new Error(`propagation: the observer must hold a fresh ${key} before the purge; got ${first.status} (control ${first.controlStatus})`)
    }
    const { t0 } = await purger.call('purge', { name: 'bus', tags: [tag] })
    const seen = await watching
    if (r < 0) continue
    if (seen.timedOut) {
      timedOut += 1
      if (timedOut > ROUNDS / 100) {
        // More than 1 % of the rounds already missed the purge for TIMEOUT_MS: p99 is at least that. Stop
        // rather than spend minutes; the rounds not run count as timeouts (a lower bound).
        log(`  !!! ${timedOut} purges not seen within ${TIMEOUT_MS} ms: aborting the propagation rounds`)
        while (latencies.length < ROUNDS) latencies.push(TIMEOUT_MS)
        break
      }
    } else if (seen.status !== 'miss') {
      throw new Error(`propagation: after a hard purge the observer saw ${seen.status}, expected miss`)
    }
    if (seen.controlStatus === 'hit') controlHits += 1
    polls += seen.polls
    l1Polls += seen.l1Polls
    latencies.push(seen.at - t0)
  }
  const sorted = [...latencies].sort((a, b) => a - b)
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
  return { p50: pct(50), p99: pct(99), max: sorted.at(-1), min: sorted[0], rounds: ROUNDS, timedOut, controlHits, polls, l1Polls, skew }
}

// ---------------------------------------------------------------------------------------------------------
// 6b. Acknowledged purges: revalidateTag's own latency with 4 live instances, and stale reads right after it
// ---------------------------------------------------------------------------------------------------------
async function benchPurgeAcks(group) {
  const ROUNDS = 1000
  const WARMUP = 30
  const prefix = `${PREFIX}-acks`
  // Default options on every instance: L1 on, tag records cached for 1 s. Only the acknowledged feed can make
  // a read right after the purge see it.
  await Promise.all(group.map((worker) => worker.call('init', { name: 'acks', options: { store: REDIS_URL, prefix } })))
  await sleep(100) // the subscriber connections are opened in the background at creation
  const callMs = []
  let stale = 0
  let incomplete = 0
  let reads = 0
  for (let r = -WARMUP; r < ROUNDS; r++) {
    const i = r + WARMUP
    const purger = group[i % group.length]
    const others = group.filter((worker) => worker !== purger)
    const key = `/acks/page-${i}`
    const tag = `acks-tag-${i}`
    if (!(await purger.call('set', { name: 'acks', key, value: { i }, options: { tags: [tag] } }))) throw new Error(`acks: set of ${key} was not stored`)
    const warm = await Promise.all(others.map((worker) => worker.call('get', { name: 'acks', key })))
    if (warm.some((status) => status !== 'hit')) throw new Error(`acks: every other instance must hold a fresh ${key} before the purge; got ${warm.join(',')}`)
    const { t0, t1, result } = await purger.call('purge', { name: 'acks', tags: [tag] })
    // Told over IPC the moment revalidateTag resolved: each other instance reads once.
    const after = await Promise.all(others.map((worker) => worker.call('get', { name: 'acks', key })))
    if (r < 0) continue
    callMs.push(t1 - t0)
    reads += after.length
    stale += after.filter((status) => status !== 'miss').length
    if (!result?.complete) incomplete += 1
  }
  const sorted = [...callMs].sort((a, b) => a - b)
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
  return { p50: pct(50), p99: pct(99), max: sorted.at(-1), rounds: ROUNDS, reads, stale, incomplete, instances: group.length }
}

/** Observer clock minus purger clock (ms), each estimated against this process; 0 on one machine, in theory. */
async function clockSkew(a, b) {
  const estimate = async (worker) => {
    let best = { rtt: Infinity, offset: 0 }
    for (let i = 0; i < 30; i++) {
      const sent = clock()
      const theirs = await worker.call('clock')
      const back = clock()
      if (back - sent < best.rtt) best = { rtt: back - sent, offset: theirs - (sent + back) / 2 }
    }
    return best
  }
  const ea = await estimate(a)
  const eb = await estimate(b)
  return { skew: eb.offset - ea.offset, uncertainty: (ea.rtt + eb.rtt) / 2 }
}

// ---------------------------------------------------------------------------------------------------------
// 7. Cluster stampede: 4 processes x 250 concurrent getOrSet on one key (stale, then missing)
// ---------------------------------------------------------------------------------------------------------
async function benchClusterStampede(group, text) {
  const PER_WORKER = 250
  const prefix = `${PREFIX}-cluster`
  for (const worker of group) await worker.call('init', { name: 'stampede', options: { store: REDIS_URL, prefix }, counterUrl: REDIS_URL })

  async function storm(key, counterKey) {
    // Sent to all workers at once; each fires its 250 calls in one go.
    const results = await Promise.all(group.map((worker) => worker.call('getOrSet', { name: 'stampede', key, count: PER_WORKER, delayMs: 50, counterKey })))
    await Promise.all(group.map((worker) => worker.call('settle', { name: 'stampede', timeoutMs: 15_000 })))
    await sleep(50) // the winner's write has landed (settled); let its change-feed message reach the others
    const statuses = {}
    let rejected = 0
    for (const result of results) {
      rejected += result.rejected
      for (const [status, n] of Object.entries(result.statuses)) statuses[status] = (statuses[status] ?? 0) + n
      for (const error of result.errors) log(`  [getOrSet rejected] ${error.code}: ${error.message}`)
    }
    const regenerations = Number((await text.get(counterKey)) ?? 0)
    const after = await Promise.all(group.map((worker) => worker.call('get', { name: 'stampede', key })))
    return { regenerations, statuses, rejected, after }
  }

  // STALE: written with revalidate 1 s, read by every instance (so each has served it), then 1.1 s of real time.
  const staleKey = '/cluster/hot'
  if (!(await group[0].call('set', { name: 'stampede', key: staleKey, value: { n: 0 }, options: { revalidate: 1 } }))) throw new Error('cluster: set failed')
  for (const worker of group) {
    const status = await worker.call('get', { name: 'stampede', key: staleKey })
    if (status !== 'hit') throw new Error(`cluster: worker ${worker.pid} read ${status}, expected hit`)
  }
  await sleep(1100)
  const stale = await storm(staleKey, `${prefix}:counter:stale`)
  // MISSING: nobody has it; all 1000 callers wait for one render.
  const missing = await storm('/cluster/missing', `${prefix}:counter:missing`)
  return { stale, missing, processes: group.length, perProcess: PER_WORKER }
}

// ---------------------------------------------------------------------------------------------------------
// 8. Redis outage: a PRIVATE redis-server is killed for 5 s under load
// ---------------------------------------------------------------------------------------------------------
function pingOnce(port, ms) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), ms)
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (data) => {
      reply += data.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

/** Every redis-server this process started, killed on exit whatever happens. */
const privateServers = new Set()
process.once('exit', () => {
  for (const child of privateServers) child.kill('SIGKILL')
})

function privateRedis(port, dir) {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir, '--loglevel', 'warning']
  let child
  let exited = Promise.resolve()
  let output = ''
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] })
      child = started
      privateServers.add(started)
      started.stdout.on('data', (d) => (output += d))
      started.stderr.on('data', (d) => (output += d))
      exited = new Promise((resolve) => started.once('exit', () => (privateServers.delete(started), resolve())))
      const giveUpAt = performance.now() + 10_000
      while (performance.now() < giveUpAt) {
        if (!privateServers.has(started)) throw new Error(`redis-server on port ${port} exited at start-up:\n${output}`)
        if (await pingOnce(port, 500)) return
        await sleep(10)
      }
      started.kill('SIGKILL')
      throw new Error(`redis-server on port ${port} did not answer PING within 10 s:\n${output}`)
    },
    async kill() {
      if (child === undefined || !privateServers.has(child)) return
      child.kill('SIGKILL')
      await exited
    },
  }
}

function redisServerAvailable() {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return found.error === undefined && found.status === 0
}

async function benchOutage(dir) {
  const KILL_AT = 1500 // ms after the load starts
  // 5 s as specified; BENCH_OUTAGE_DOWN_MS overrides it (e.g. 5150 lands the restart just after a reconnect
  // attempt of the client, whose back-off reaches 2 s, which is the slow-recovery case described in the README).
  const DOWN_FOR = Number(process.env.BENCH_OUTAGE_DOWN_MS ?? 5000)
  const RUN_FOR = 8000 // at least; longer until every key has been stored again on the restarted server (at most MAX_RUN)
  const MAX_RUN = 25_000
  const KEYS = 20
  const LOOPS = 4
  const prefix = `${PREFIX}-outage`
  const serverDir = mkdtempSync(join(dir, 'redis-'))
  const port = await freePort()
  const server = privateRedis(port, serverDir)
  await server.start()
  const errorsByCode = {}
  const errorKinds = {} // reported errors by code and message (quoted keys elided), for the log
  const circuit = []
  let T0 = performance.now()
  const since = () => performance.now() - T0
  const cache = createIsrCache({
    store: server.url,
    prefix,
    readTimeout: 0.2,
    onError: (error) => {
      errorsByCode[error.code] = (errorsByCode[error.code] ?? 0) + 1
      const kind = `${error.code}: ${error.message.replace(/"[^"]*"/g, '"…"')}`
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1
    },
    onEvent: (event) => {
      if (event.type === 'circuit') circuit.push({ state: event.state, at: since() })
      // The restarted server is empty: a key counts as cached again once a write of it lands after the restart.
      if (event.type === 'write' && event.written && upAt !== undefined && !restored.has(event.key)) restored.set(event.key, since())
    },
  })
  let upAt
  const restored = new Map() // key -> when its first write after the restart landed
  const keys = Array.from({ length: KEYS }, (_, i) => `/outage/page-${i}`)
  let rendered = 0
  const regenerate = async ({ key }) => ({ key, n: ++rendered, html: '<p>page</p>' })
  const calls = [] // { start, end, status } or { start, end, error }
  let stop = false
  async function loop(j) {
    for (let n = j; !stop; n += LOOPS) {
      const key = keys[n % KEYS]
      const start = since()
      try {
        const result = await cache.getOrSet(key, regenerate, { revalidate: 1, tags: [`outage-${n % 4}`] })
        calls.push({ key, start, end: since(), status: result.status })
      } catch (error) {
        calls.push({ key, start, end: since(), error: error?.code ?? String(error) })
      }
      await sleep(5)
    }
  }
  try {
    T0 = performance.now()
    const loops = Array.from({ length: LOOPS }, (_, j) => loop(j))
    await sleep(KILL_AT)
    await server.kill()
    const downAt = since()
    log(`  private redis-server (port ${port}) killed at ${downAt.toFixed(0)} ms`)
    await sleep(Math.max(0, KILL_AT + DOWN_FOR - since()))
    const restartAt = since()
    await server.start()
    upAt = since()
    const writesAtUp = cache.stats().writes
    log(`  restarted at ${restartAt.toFixed(0)} ms, answering PING at ${upAt.toFixed(0)} ms`)
    while (since() < MAX_RUN && !(since() >= RUN_FOR && restored.size === KEYS)) await sleep(10)
    const restoredTimes = [...restored.values()].sort((a, b) => a - b)
    const firstWriteAfterUp = restoredTimes[0]
    const allRestoredAt = restored.size === KEYS ? restoredTimes.at(-1) : undefined
    stop = true
    await Promise.all(loops)
    const stats = cache.stats()
    await cache.close()

    // After the restart: the server came back empty (no persistence), so whatever it holds now was written after it.
    const check = createClient({ url: server.url })
    check.on('error', () => {})
    await check.connect()
    let storedAfter = 0
    for await (const batch of check.scanIterator({ MATCH: `${prefix}:e:*`, COUNT: 1000 })) storedAfter += (Array.isArray(batch) ? batch : [batch]).length
    await check.close()
    // And another instance, reading through Redis only (no L1), finds them.
    const reader = createIsrCache({ store: server.url, prefix, l1: false, onError: (error) => log(`  [outage reader] ${error.code}: ${error.message}`) })
    let readBack = 0
    for (const key of keys) if ((await reader.get(key)) !== undefined) readBack += 1
    await reader.close()

    const rejected = calls.filter((c) => c.error !== undefined)
    const down = calls.filter((c) => c.start >= downAt && c.end <= restartAt)
    const downStatuses = {}
    for (const c of down) downStatuses[c.status ?? `rejected:${c.error}`] = (downStatuses[c.status ?? `rejected:${c.error}`] ?? 0) + 1
    const downLatencies = down.map((c) => c.end - c.start).sort((a, b) => a - b)
    const slowest = calls.reduce((m, c) => Math.max(m, c.end - c.start), 0)
    return {
      total: calls.length,
      rejected: rejected.length,
      rejectedCodes: [...new Set(rejected.map((c) => c.error))],
      servedWhileDown: down.filter((c) => c.error === undefined).length,
      callsWhileDown: down.length,
      downStatuses,
      downP99: downLatencies.length ? downLatencies[Math.ceil(0.99 * downLatencies.length) - 1] : 0,
      slowest,
      downAt,
      restartAt,
      upAt,
      firstWriteAfterUp,
      writesAfterUp: stats.writes - writesAtUp,
      restoredKeys: restored.size,
      downFor: DOWN_FOR,
      allRestoredAt,
      slowestCalls: [...calls].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, 4),
      storedAfter,
      readBack,
      keys: KEYS,
      circuit,
      errorsByCode,
      errorKinds,
      durationMs: since(),
    }
  } finally {
    stop = true
    await cache.close().catch(() => {})
    await server.kill()
    rmSync(serverDir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------------------
async function cleanupRedis(raw) {
  let removed = 0
  for await (const batch of raw.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
    const keys = Array.isArray(batch) ? batch : [batch]
    if (keys.length > 0) removed += await raw.unlink(keys)
  }
  return removed
}

const fmt = (n, digits = 2) => (n === undefined ? '—' : Number.isInteger(n) ? String(n) : n.toFixed(digits))

function printTable(rows) {
  const header = ['metric', 'ours', 'baseline', 'ratio', 'target', 'result']
  const body = rows.map((r) => [
    r.name,
    `${fmt(r.ours)} ${r.unit}`,
    r.base === undefined ? '—' : `${fmt(r.base)} ${r.unit}`,
    r.ratio === undefined ? '—' : r.ratio.toFixed(3),
    r.targetText,
    r.info ? 'info' : r.pass ? 'PASS' : 'FAIL',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)))
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of body) console.log(line(row))
}

async function main() {
  const started = performance.now()
  // One connection; `raw` is a view of it that returns blob strings as Buffers (for the GET baseline), `text`
  // a plain view (SCAN must see its cursor as a string, or scanIterator never sees '0' and loops forever).
  const text = createClient({ url: REDIS_URL })
  text.on('error', (error) => log(`[redis baseline client] ${error.message}`))
  await text.connect()
  const raw = text.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  const dir = mkdtempSync(join(tmpdir(), 'isr-bench-'))
  const rows = []
  const row = (name, unit, ours, base, targetText, check, ratio = ours / base, info = false) =>
    rows.push({ name, unit, ours, base, ratio, targetText, pass: check(ratio), info })
  /** A row without a baseline: `check` applies to the figure itself. */
  const valueRow = (name, unit, value, targetText, check, info = false) =>
    rows.push({ name, unit, ours: value, base: undefined, ratio: undefined, targetText, pass: check(value), info })
  const infoRow = (name, unit, value) => valueRow(name, unit, value, '(info)', () => true, true)
  const le = (limit) => (ratio) => ratio <= limit
  let json
  try {
    log(`isr-cache bench (node ${process.version}, redis ${REDIS_URL}, prefix ${PREFIX})`)

    log('1/8 cache hit vs lru-cache get: Redis store behind L1, then memory store…')
    // l1MaxAge: 3600 so that the hot loop measures L1 hits; with the default (1 s) a key is re-checked against
    // Redis once a second, and that re-check is what redisHitVsRawGet measures.
    const l1 = await benchL1(redisCache('l1', L1_OPTION ? { l1MaxAge: 3600 } : {}), 'redis+L1', L1_OPTION)
    row(`l1HitVsLru (redis store, L1 hits, l1MaxAge 3600; ${l1.l1Hits}/${l1.lookups} from L1)`, 'ns/op', l1.ours, l1.base, '<= 2', le(2), l1.ratio)
    const mem = await benchL1(open(), 'memory', false)
    row('memoryHitVsLru (memory store get vs lru get)', 'ns/op', mem.ours, mem.base, '<= 2', le(2), mem.ratio)

    log('2/8 redis hit (50 KB) vs raw GET + decode…')
    const hit = await benchRedisHit(raw)
    row(`redisHitVsRawGet (${(hit.storedBytes / 1024).toFixed(1)} KB, ${L1_OPTION ? 'l1: false' : 'no L1 in build'})`, 'µs/op', hit.ours, hit.base, '<= 1.2', le(1.2), hit.ratio)
    if (hit.withL1 !== undefined) {
      row(`  info: same, default l1 (L1 hits ${hit.withL1Hits})`, 'µs/op', hit.withL1, hit.base, '(info)', () => true, hit.withL1Ratio, true)
    }

    log('3/8 tag purge, 100k vs 1k tagged entries…')
    const purgeRedis = await benchTagPurge((suffix) => redisCache(suffix), 'redis', 1)
    row('tagPurge100kVs1k (redis)', 'µs/purge', purgeRedis.ours, purgeRedis.base, '<= 1.2', le(1.2), purgeRedis.ratio)
    // A memory purge takes ~1 µs, so each sample times 100 purges to stay above timer noise.
    const purgeMemory = await benchTagPurge(() => open({ maxMemoryBytes: 256 * 1024 * 1024 }), 'memory', 100)
    row('tagPurge100kVs1k (memory)', 'µs/purge', purgeMemory.ours, purgeMemory.base, '<= 1.2', le(1.2), purgeMemory.ratio)

    log('4/8 stampede: 1000 concurrent getOrSet on a stale key…')
    const stampedeRedis = await benchStampede((suffix, options) => redisCache(suffix, options), 'redis')
    row('stampedeRegenerations (redis)', 'regen', stampedeRedis.ours, stampedeRedis.base, '== 1', (r) => r === 1)
    const stampedeMemory = await benchStampede((_, options) => open(options), 'memory')
    row('stampedeRegenerations (memory)', 'regen', stampedeMemory.ours, stampedeMemory.base, '== 1', (r) => r === 1)
    log(`  statuses: redis ${JSON.stringify(stampedeRedis.statuses)}, memory ${JSON.stringify(stampedeMemory.statuses)}`)

    log('5/8 stored size of a page with a 50 KB binary part…')
    const size = await benchSize(raw, dir)
    row('encodedSizeVsRaw (redis STRLEN)', 'B', size.redisBytes, size.rawBytes, '<= 1.1', le(1.1))
    row('encodedSizeVsRaw (sqlite length(value))', 'B', size.sqliteBytes, size.rawBytes, '<= 1.1', le(1.1))

    log('6/8 purge propagation between two processes (1000 purges)…')
    const group = await Promise.all(Array.from({ length: 4 }, () => startWorker()))
    const prop = await benchPurgePropagation(group[0], group[1])
    log(`  clock skew observer − purger: ${prop.skew.skew.toFixed(3)} ms (± ${prop.skew.uncertainty.toFixed(3)} ms IPC round trip); ` +
        `polls ${prop.polls} (${prop.l1Polls} from L1); control without bus still 'hit' in ${prop.controlHits}/${prop.rounds}; timed out ${prop.timedOut}`)
    valueRow(`purgePropagationP99Ms (2 procs, ${prop.rounds} purges, revalidateTag → other sees miss)`, 'ms', prop.p99, '<= 10', (v) => v <= 10)
    infoRow('  info: purge propagation p50', 'ms', prop.p50)
    infoRow('  info: purge propagation max', 'ms', prop.max)
    infoRow(`  info: control (same settings, no bus) still 'hit' after the purge`, 'rounds', prop.controlHits)
    const propagationErrors = [...(await workerErrors('bus')), ...(await workerErrors('control'))]

    log('6b/8 acknowledged purges on 4 processes (1000 purges, a read on each other process right after each)…')
    const acks = await benchPurgeAcks(group)
    log(`  ${acks.stale} stale of ${acks.reads} reads; ${acks.incomplete} purges not acknowledged by every live instance`)
    valueRow(`purgeCallP99Ms (revalidateTag's own latency, ${acks.instances} live instances, ${acks.rounds} purges)`, 'ms', acks.p99, '<= 5', (v) => v <= 5)
    infoRow('  info: purge call p50', 'ms', acks.p50)
    infoRow('  info: purge call max', 'ms', acks.max)
    valueRow(`staleReadsAfterPurge (reads on the ${acks.instances - 1} others right after revalidateTag resolved)`, 'reads', acks.stale, '== 0', (v) => v === 0)
    propagationErrors.push(...(await workerErrors('acks')))

    log('7/8 cluster stampede: 4 processes × 250 concurrent getOrSet…')
    const cluster = await benchClusterStampede(group, text)
    log(`  stale: statuses ${JSON.stringify(cluster.stale.statuses)}, rejected ${cluster.stale.rejected}, each process reads afterwards: ${cluster.stale.after.join(',')}`)
    log(`  missing: statuses ${JSON.stringify(cluster.missing.statuses)}, rejected ${cluster.missing.rejected}, each process reads afterwards: ${cluster.missing.after.join(',')}`)
    valueRow(`clusterStampedeRegenerations (4 procs × 250, stale key; rejected ${cluster.stale.rejected})`, 'regen', cluster.stale.regenerations, '== 1', (v) => v === 1)
    infoRow(`  info: same, missing key (rejected ${cluster.missing.rejected})`, 'regen', cluster.missing.regenerations)
    const clusterErrors = await workerErrors('stampede')
    await stopWorkers()

    log('8/8 redis outage: private redis-server killed for 5 s under load…')
    let outage
    if (redisServerAvailable()) {
      outage = await benchOutage(dir)
      log(`  ${outage.total} calls in ${(outage.durationMs / 1000).toFixed(1)} s; down ${outage.downAt.toFixed(0)}–${outage.restartAt.toFixed(0)} ms: ` +
          `${outage.callsWhileDown} calls ${JSON.stringify(outage.downStatuses)}, p99 ${outage.downP99.toFixed(1)} ms; slowest call ${outage.slowest.toFixed(1)} ms`)
      const after = (at) => (at === undefined ? 'never' : `+${(at - outage.upAt).toFixed(0)} ms`)
      log(`  circuit: ${outage.circuit.map((c) => `${c.state}@${c.at.toFixed(0)}ms`).join(' ') || 'never opened'}; after the restart: first key stored again ` +
          `${after(outage.firstWriteAfterUp)}, all ${outage.keys} ${after(outage.allRestoredAt)} (${outage.restoredKeys} re-stored, ${outage.writesAfterUp} writes); ` +
          `entries on the restarted server ${outage.storedAfter}; read back by a new instance ${outage.readBack}/${outage.keys}`)
      log(`  slowest calls: ${outage.slowestCalls.map((c) => `${c.key} ${c.status ?? c.error} at ${c.start.toFixed(0)} ms took ${(c.end - c.start).toFixed(0)} ms`).join('; ')}`)
      log(`  reported through onError: ${JSON.stringify(outage.errorsByCode)}`)
      for (const [kind, n] of Object.entries(outage.errorKinds).sort((a, b) => b[1] - a[1])) log(`    ${n}× ${kind}`)
      if (outage.rejected > 0) log(`  rejected codes: ${outage.rejectedCodes.join(', ')}`)
      valueRow(`redisOutageErrors (getOrSet rejected; redis killed ${(outage.downFor / 1000).toFixed(2).replace(/\.?0+$/, '')} s of ${(outage.durationMs / 1000).toFixed(1)} s)`, 'calls', outage.rejected, '== 0', (v) => v === 0)
      infoRow('  info: getOrSet calls in total', 'calls', outage.total)
      infoRow('  info: calls served while redis was down', 'calls', outage.servedWhileDown)
      infoRow('  info: p99 latency while redis was down', 'ms', outage.downP99)
      infoRow('  info: slowest getOrSet call of the whole run', 'ms', outage.slowest)
      const closedAt = outage.circuit.filter((c) => c.state === 'closed' && c.at >= outage.restartAt)[0]?.at
      infoRow(`  info: all keys stored again, ms after the restart (circuit closed ${after(closedAt)})`, 'ms', outage.allRestoredAt === undefined ? undefined : outage.allRestoredAt - outage.upAt)
      valueRow(`  check: keys stored again after the restart (first ${after(outage.firstWriteAfterUp)})`, 'keys', outage.restoredKeys, `== ${outage.keys}`, (v) => v === outage.keys)
      valueRow('  check: entries read back from the restarted redis by a new instance', 'keys', outage.readBack, `== ${outage.keys}`, (v) => v === outage.keys)
    } else {
      log('  !!! no redis-server binary on PATH: the outage metric is not measured (apt-get install redis-server)')
      valueRow('redisOutageErrors (no redis-server binary: not measured)', '', undefined, '== 0', () => false)
    }

    const workerReported = [...propagationErrors, ...clusterErrors]
    for (const line of workerReported) log(`[isr-cache error] ${line}`)
    if (handledErrors.length > 0 || workerReported.length > 0) {
      throw new Error(`the cache reported ${handledErrors.length + workerReported.length} handled error(s) during the run; figures are not trustworthy`)
    }

    json = {
      l1HitVsLru: Number(l1.ratio.toFixed(3)),
      redisHitVsRawGet: Number(hit.ratio.toFixed(3)),
      tagPurge100kVs1k: Number(purgeRedis.ratio.toFixed(3)),
      stampedeRegenerations: stampedeRedis.ours,
      encodedSizeVsRaw: Number((size.redisBytes / size.rawBytes).toFixed(4)),
      memoryHitVsLru: Number(mem.ratio.toFixed(3)),
      purgePropagationP99Ms: Number(prop.p99.toFixed(2)),
      purgeCallP99Ms: Number(acks.p99.toFixed(2)),
      staleReadsAfterPurge: acks.stale,
      clusterStampedeRegenerations: cluster.stale.regenerations,
      redisOutageErrors: outage === undefined ? null : outage.rejected,
    }
  } finally {
    await stopWorkers()
    await Promise.allSettled(caches.map((cache) => cache.close()))
    try {
      const removed = await cleanupRedis(text)
      log(`cleanup: unlinked ${removed} Redis keys under ${PREFIX}*`)
    } catch (error) {
      log(`cleanup failed: ${error.message}`)
    }
    await text.close()
    rmSync(dir, { recursive: true, force: true })
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  printTable(rows)
  console.log(JSON.stringify(json))
  if (process.env.BENCH_STRICT === '1' && rows.some((r) => !r.pass)) process.exitCode = 1
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})

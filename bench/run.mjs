// isr-cache benchmark: each metric is a ratio against a baseline measured in the same run.
// Run with `npm run bench` (builds dist/ first). Redis: REDIS_URL (default redis://127.0.0.1:6379).
// Prints a table, then (as the last line of stdout) one JSON line with the headline ratios.
// Set BENCH_STRICT=1 to exit with code 1 when a target is missed.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { deserialize } from 'node:v8'
import { createClient, RESP_TYPES } from '@redis/client'
import { LRUCache } from 'lru-cache'
import sqlite3 from 'sqlite3'
import { createIsrCache } from '../dist/index.js'

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
// 1. In-memory hit vs lru-cache get
// ---------------------------------------------------------------------------------------------------------
async function benchL1() {
  const KEYS = 1000
  const PASSES = 150 // iterations per round = KEYS * PASSES
  const ROUNDS = 9
  const keys = Array.from({ length: KEYS }, (_, i) => `/l1/page-${i}`)
  const value = { html: '<html><body><h1>hello</h1></body></html>', props: { id: 1, title: 'hello' } }
  const cache = open() // default memory store
  const lru = new LRUCache({ max: 10_000 })
  for (const key of keys) {
    await cache.set(key, value) // revalidate defaults to false: the entry stays fresh
    lru.set(key, value)
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
    if (found !== KEYS * PASSES) throw new Error(`isr-cache missed ${KEYS * PASSES - found} lookups`)
    return ((t1 - t0) * 1e6) / (KEYS * PASSES)
  }
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
  if (status !== 'hit') throw new Error(`expected fresh hits, got ${status}`)
  return { ours: median(ours), base: median(base), ratio: pairedRatio(ours, base) }
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
async function cleanupRedis(raw) {
  let removed = 0
  for await (const batch of raw.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
    const keys = Array.isArray(batch) ? batch : [batch]
    if (keys.length > 0) removed += await raw.unlink(keys)
  }
  return removed
}

const fmt = (n, digits = 2) => (Number.isInteger(n) ? String(n) : n.toFixed(digits))

function printTable(rows) {
  const header = ['metric', 'ours', 'baseline', 'ratio', 'target', 'result']
  const body = rows.map((r) => [r.name, `${fmt(r.ours)} ${r.unit}`, `${fmt(r.base)} ${r.unit}`, r.ratio.toFixed(3), r.targetText, r.info ? 'info' : r.pass ? 'PASS' : 'FAIL'])
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
  const le = (limit) => (ratio) => ratio <= limit
  let json
  try {
    log(`isr-cache bench (node ${process.version}, redis ${REDIS_URL}, prefix ${PREFIX})`)

    log('1/5 in-memory hit vs lru-cache…')
    const l1 = await benchL1()
    row('l1HitVsLru (memory get vs lru get)', 'ns/op', l1.ours, l1.base, '<= 2', le(2), l1.ratio)

    log('2/5 redis hit (50 KB) vs raw GET + decode…')
    const hit = await benchRedisHit(raw)
    row(`redisHitVsRawGet (${(hit.storedBytes / 1024).toFixed(1)} KB, ${L1_OPTION ? 'l1: false' : 'no L1 in build'})`, 'µs/op', hit.ours, hit.base, '<= 1.2', le(1.2), hit.ratio)
    if (hit.withL1 !== undefined) {
      row(`  info: same, default l1 (L1 hits ${hit.withL1Hits})`, 'µs/op', hit.withL1, hit.base, '(info)', () => true, hit.withL1Ratio, true)
    }

    log('3/5 tag purge, 100k vs 1k tagged entries…')
    const purgeRedis = await benchTagPurge((suffix) => redisCache(suffix), 'redis', 1)
    row('tagPurge100kVs1k (redis)', 'µs/purge', purgeRedis.ours, purgeRedis.base, '<= 1.2', le(1.2), purgeRedis.ratio)
    // A memory purge takes ~1 µs, so each sample times 100 purges to stay above timer noise.
    const purgeMemory = await benchTagPurge(() => open({ maxMemoryBytes: 256 * 1024 * 1024 }), 'memory', 100)
    row('tagPurge100kVs1k (memory)', 'µs/purge', purgeMemory.ours, purgeMemory.base, '<= 1.2', le(1.2), purgeMemory.ratio)

    log('4/5 stampede: 1000 concurrent getOrSet on a stale key…')
    const stampedeRedis = await benchStampede((suffix, options) => redisCache(suffix, options), 'redis')
    row('stampedeRegenerations (redis)', 'regen', stampedeRedis.ours, stampedeRedis.base, '== 1', (r) => r === 1)
    const stampedeMemory = await benchStampede((_, options) => open(options), 'memory')
    row('stampedeRegenerations (memory)', 'regen', stampedeMemory.ours, stampedeMemory.base, '== 1', (r) => r === 1)
    log(`  statuses: redis ${JSON.stringify(stampedeRedis.statuses)}, memory ${JSON.stringify(stampedeMemory.statuses)}`)

    log('5/5 stored size of a page with a 50 KB binary part…')
    const size = await benchSize(raw, dir)
    row('encodedSizeVsRaw (redis STRLEN)', 'B', size.redisBytes, size.rawBytes, '<= 1.1', le(1.1))
    row('encodedSizeVsRaw (sqlite length(value))', 'B', size.sqliteBytes, size.rawBytes, '<= 1.1', le(1.1))

    if (handledErrors.length > 0) throw new Error(`the cache reported ${handledErrors.length} handled error(s) during the run; figures are not trustworthy`)

    json = {
      l1HitVsLru: Number(l1.ratio.toFixed(3)),
      redisHitVsRawGet: Number(hit.ratio.toFixed(3)),
      tagPurge100kVs1k: Number(purgeRedis.ratio.toFixed(3)),
      stampedeRegenerations: stampedeRedis.ours,
      encodedSizeVsRaw: Number((size.redisBytes / size.rawBytes).toFixed(4)),
    }
  } finally {
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

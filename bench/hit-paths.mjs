// The hit paths of two builds, side by side in one process: `get` and `getOrSet` hits on the memory store
// and from the L1 tier of a Redis-backed cache, in alternating rounds, reported as paired ratios.
//
//   npx tsup && node bench/hit-paths.mjs /path/to/other/dist   # this checkout's dist/ vs another build
//   npx tsup && node bench/hit-paths.mjs                       # this checkout's dist/ alone (ns/op only)
//
// For a refactor that must not slow the hit paths: build the base commit into a directory (for example
// `git worktree add /tmp/base main && (cd /tmp/base && npm install && npx tsup)`), then pass its dist/.
// Redis: REDIS_URL (default redis://127.0.0.1:6379), keys under a prefix unique to the run, removed at the end.
// The last line of stdout is one JSON object: per path, ns/op of each build and the ratio (this / other).
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { createClient } from '@redis/client'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const PREFIX = `isr-hitbench-${process.pid}-${randomBytes(4).toString('hex')}`
const KEYS = 1000
const PASSES = 100 // lookups per round = KEYS * PASSES
const ROUNDS = Number(process.env.ROUNDS ?? 11)

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const builds = [{ name: 'this', dir: resolve('dist') }]
if (process.argv[2]) builds.push({ name: 'other', dir: resolve(process.argv[2]) })
for (const build of builds) build.lib = await import(pathToFileURL(resolve(build.dir, 'index.js')).href)

const keys = Array.from({ length: KEYS }, (_, i) => `/page-${i}`)
const value = { html: '<html><body><h1>hello</h1></body></html>', props: { id: 1 } }
const produce = () => value

/** One cache per build and path, filled and read once (so that on Redis every key is in L1). */
async function prepare(lib, store) {
  const cache = store === 'memory' ? lib.createIsrCache() : lib.createIsrCache({ store: REDIS_URL, prefix: `${PREFIX}-${Math.random().toString(36).slice(2)}`, l1MaxAge: 3600 })
  for (const key of keys) if (!(await cache.set(key, value))) throw new Error('set was not stored')
  for (const key of keys) if ((await cache.get(key))?.status !== 'hit') throw new Error('expected a hit')
  return cache
}

const loops = {
  get: async (cache) => {
    let found = 0
    const t0 = performance.now()
    for (let p = 0; p < PASSES; p++) for (let i = 0; i < KEYS; i++) if ((await cache.get(keys[i])) !== undefined) found++
    const t1 = performance.now()
    if (found !== KEYS * PASSES) throw new Error('get missed')
    return ((t1 - t0) * 1e6) / (KEYS * PASSES)
  },
  getOrSet: async (cache) => {
    let hits = 0
    const t0 = performance.now()
    for (let p = 0; p < PASSES; p++) for (let i = 0; i < KEYS; i++) if ((await cache.getOrSet(keys[i], produce)).status === 'hit') hits++
    const t1 = performance.now()
    if (hits !== KEYS * PASSES) throw new Error('getOrSet missed')
    return ((t1 - t0) * 1e6) / (KEYS * PASSES)
  },
}

const results = {}
const caches = []
try {
  for (const store of ['memory', 'redis']) {
    for (const [loopName, loop] of Object.entries(loops)) {
      const label = `${loopName} hit, ${store === 'memory' ? 'memory store' : 'L1 of a Redis store'}`
      const contenders = []
      for (const build of builds) {
        const cache = await prepare(build.lib, store)
        caches.push(cache)
        contenders.push({ build, cache, times: [], l1Before: cache.stats().l1Hits })
      }
      for (let w = 0; w < 3; w++) for (const c of contenders) await loop(c.cache) // warm up (JIT)
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate which build goes first, so that neither always runs on a warmer or quieter machine.
        const order = r % 2 ? [...contenders].reverse() : contenders
        for (const c of order) c.times.push(await loop(c.cache))
      }
      if (store === 'redis') {
        for (const c of contenders) {
          const l1Hits = c.cache.stats().l1Hits - c.l1Before
          if (l1Hits < (ROUNDS + 3) * KEYS * PASSES) throw new Error(`${label}: ${c.build.name} answered only ${l1Hits} lookups from L1`)
        }
      }
      const entry = { [contenders[0].build.name]: Number(median(contenders[0].times).toFixed(1)) }
      if (contenders[1]) {
        entry.other = Number(median(contenders[1].times).toFixed(1))
        entry.ratio = Number(median(contenders[0].times.map((t, i) => t / contenders[1].times[i])).toFixed(3))
      }
      results[label] = entry
      console.log(`${label.padEnd(36)} ${Object.entries(entry).map(([k, v]) => `${k} ${v}${k === 'ratio' ? '' : ' ns/op'}`).join('   ')}`)
    }
  }
} finally {
  await Promise.allSettled(caches.map((cache) => cache.close()))
  const client = createClient({ url: REDIS_URL })
  await client.connect()
  let removed = 0
  for await (const batch of client.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 1000 })) {
    const list = Array.isArray(batch) ? batch : [batch]
    if (list.length > 0) removed += await client.unlink(list)
  }
  await client.close()
  console.error(`cleanup: unlinked ${removed} Redis keys under ${PREFIX}*; load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')}`)
}
console.log(JSON.stringify(results))

#!/usr/bin/env node
/**
 * `npm run bench:next` (from the repository root; not part of CI): the same build of this app, the same
 * page, served by one `next start` at a time, in three set-ups:
 *
 *   builtin   Next's own cache (ISR_CACHE_DISABLED=1: next.config.mjs leaves out cacheHandler/cacheHandlers)
 *   map       a do-nothing Map as the cacheHandler (tooling/map-handler.mjs): what Next itself spends on
 *             any custom handler, so the ceiling for isr-cache
 *   isrCache  isr-cache on Redis (REDIS_URL, default redis://127.0.0.1:6379) with its L1 tier
 *
 * Each server first renders one page that is not measured (a new /blog/bench-warm-… slug): a Next server
 * that has rendered anything runs with Node's promise hooks on from then on (Next's AsyncLocalStorage turns
 * them on), which costs every later request some 30 µs. Every production server has rendered something;
 * without this step a server that happened not to render during warm-up would be measured in a cheaper
 * state than one that did. Then the measured page is requested until it is a HIT, loaded for 2 s, and
 * measured with autocannon. The set-ups take turns, BENCH_ROUNDS times; each figure is the median over the
 * rounds, and each ratio the median of the per-round ratios (these machines are noisy).
 *
 * The last line printed is JSON:
 *   {"nextHitRpsVsBuiltin": <isrCache rps / builtin rps>, "p99MsIsrCache": …, "p99MsBuiltin": …,
 *    "mapHandlerRpsVsBuiltin": …, "nextHitRpsVsMapHandler": …, …}
 *
 * Environment: BENCH_PATH (/blog/a, a prerendered page with revalidate 3600, so every request is a HIT),
 * BENCH_DURATION (seconds per measurement, 10), BENCH_CONNECTIONS (50), BENCH_ROUNDS (3), BENCH_PORT (3100),
 * REDIS_URL.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { figures, rpsRatio } from './tooling/bench-stats.mjs'
import { exampleDirs, prepareApp, startNext } from './tooling/prepare.mjs'
import { startUpstream } from './tooling/upstream.mjs'

const dir = exampleDirs.next
const path = process.env.BENCH_PATH ?? '/blog/a'
const duration = Number(process.env.BENCH_DURATION ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const port = Number(process.env.BENCH_PORT ?? 3100)
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

await prepareApp(dir, { buildLibrary: true })
// autocannon is a devDependency of the example: importable only once prepareApp has installed it.
const { default: autocannon } = await import('autocannon')
const upstream = await startUpstream()

const redisEnv = { ISR_CACHE_STORE: redisUrl, ISR_CACHE_PREFIX: 'isr-cache-bench-next' }
const setups = {
  builtin: { ISR_CACHE_DISABLED: '1' },
  // The 'use cache' handler stays isr-cache on Redis, as in the isrCache set-up (the page does not use it).
  map: { ISR_CACHE_BENCH_HANDLER: 'map', ...redisEnv },
  isrCache: redisEnv,
}

function load(url, seconds) {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds }, (error, result) => (error ? reject(error) : resolve(result)))
  })
}

async function fetchOnce(url) {
  const response = await fetch(url)
  await response.arrayBuffer()
  return response
}

let warmPages = 0
async function measure(name, env) {
  const server = await startNext(dir, { port, name, env: { UPSTREAM_URL: upstream.url, ...env } })
  try {
    const warm = await fetchOnce(`${server.url}/blog/bench-warm-${process.pid}-${++warmPages}`)
    if (warm.status !== 200) throw new Error(`${name}: the warm-up render answered ${warm.status}\n${server.output()}`)
    const url = server.url + path
    // Until the page is cached (the first request may render it), then a short warm-up run.
    let cache = null
    for (let i = 0; i < 50 && cache !== 'HIT'; i++) cache = (await fetchOnce(url)).headers.get('x-nextjs-cache')
    if (cache !== 'HIT') throw new Error(`${name}: ${path} is not a HIT after 50 requests (x-nextjs-cache: ${cache})\n${server.output()}`)
    await load(url, 2)
    const result = await load(url, duration)
    const summary = {
      rps: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
      cacheAfter: (await fetchOnce(url)).headers.get('x-nextjs-cache'),
    }
    console.log(`[bench] ${name}: ${JSON.stringify(summary)}`)
    if (summary.errors > 0 || summary.cacheAfter !== 'HIT') throw new Error(`${name}: errors or not a HIT: ${JSON.stringify(summary)}`)
    return summary
  } finally {
    await server.stop()
  }
}

try {
  const runs = Object.fromEntries(Object.keys(setups).map((name) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    // A different order each round, so that no set-up always runs first (or right after another).
    const names = Object.keys(setups)
    const order = names.map((_, i) => names[(i + round) % names.length])
    for (const name of order) runs[name].push(await measure(name, setups[name]))
  }
  const ratio = (a, b) => rpsRatio(runs[a], runs[b])
  const builtin = figures(runs.builtin)
  const map = figures(runs.map)
  const isrCache = figures(runs.isrCache)
  console.log(
    JSON.stringify({
      page: path,
      durationS: duration,
      connections,
      rounds,
      builtin,
      map,
      isrCache,
      nextHitRpsVsBuiltin: ratio('isrCache', 'builtin'),
      p99MsIsrCache: isrCache.p99Ms,
      p99MsBuiltin: builtin.p99Ms,
      mapHandlerRpsVsBuiltin: ratio('map', 'builtin'),
      nextHitRpsVsMapHandler: ratio('isrCache', 'map'),
    }),
  )
} finally {
  await upstream.close()
  // The built-in cache writes the warm-up pages into the build output (.next/server/route-cache/…): leave
  // the build as it was.
  const output = join(dir, '.next', 'server')
  for (const file of existsSync(output) ? readdirSync(output, { recursive: true }) : []) {
    if (basename(file).startsWith('bench-warm-')) rmSync(join(output, file), { recursive: true, force: true })
  }
}
